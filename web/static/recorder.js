// The recorder (its page, or inline in a thread): record voice, camera or screen with MediaRecorder and stream each
// chunk to the message's tus upload while recording, so the share link works at once.
// Every word shown to people comes from the page (the data-strings attribute).

import { acquire, listDevices, pickType } from "./capture.js";
import { api, follow, newMessage } from "./messages.js";
import { startMeter } from "./meter.js";
import {
  $, T, buttons, clearError, clock, copyLink, countdown, csrf, el, errorText, hideShare, maxSeconds,
  mode, onFileChosen, progress, root, say, setStatus, setupChoices, shareLink, show, showError,
  showShare, urls,
} from "./page.js";
import { forget, keptStream, offerPending } from "./pending.js";
import { uploadFile } from "./tus.js";

const TIMESLICE_MS = 1000;
// Upload retries: 1, 2, 4 and 8 s apart, so a lost connection shows Retry within ~15 s.
const UPLOAD_RETRY = { retries: 4, delayMs: 1000 };

let state = "idle"; // idle | preparing | recording | paused | stopped
let session = null; // {message, stream, recorder, tus, total, discarded}
let timer = null;
let meter = null;

function setState(next) {
  state = next;
  root.dataset.state = next;
  const busy = next === "preparing" || next === "recording" || next === "paused";
  for (const input of root.querySelectorAll("[data-setup] input, [data-setup] select")) {
    input.disabled = busy;
  }
  if (el.file) el.file.disabled = busy;
  if (next === "idle") show("start");
  if (next === "preparing") show();
  if (next === "recording") show("pause", "stop", "discard");
  if (next === "paused") show("resume", "stop", "discard");
  if (next === "stopped") show("rerecord", "discard");
}

function stopMeter() {
  meter?.stop();
  meter = null;
}

// -- timer ------------------------------------------------------------------------------------

function startTimer() {
  const limit = maxSeconds();
  el.max.textContent = clock(limit);
  let elapsed = 0;
  let since = performance.now();
  const update = () => {
    const now = performance.now();
    if (state === "recording") elapsed += (now - since) / 1000;
    since = now;
    el.elapsed.textContent = clock(elapsed);
    if (elapsed >= limit && state === "recording") {
      setStatus(T.max_reached);
      stop(T.max_reached);
    }
  };
  el.elapsed.textContent = clock(0);
  timer = setInterval(update, 250);
}

function stopTimer() {
  clearInterval(timer);
  timer = null;
}

// -- recording --------------------------------------------------------------------------------

async function start() {
  clearError();
  hideShare();
  el.progress.hidden = true;
  setState("preparing");
  setStatus(T.preparing);
  const which = mode();
  let capture;
  try {
    capture = await acquire(which, el);
  } catch (error) {
    showError(errorText(error));
    setState("idle");
    setStatus(T.idle);
    return;
  }
  const { stream } = capture;
  listDevices(el).catch(() => {});
  const kind = which === "audio" ? "audio" : "video";
  let message;
  try {
    message = await api(urls.create, { method: "POST", json: newMessage(kind) });
  } catch (error) {
    capture.stop();
    showError(say(T.err_create, { error: error.message }));
    setState("idle");
    setStatus(T.idle);
    return;
  }
  if (kind === "video") {
    el.preview.srcObject = stream;
    el.preview.hidden = false;
    el.preview.classList.toggle("rec-mirror", which === "camera");
    el.preview.play().catch(() => {});
  }
  meter = startMeter(stream, el.meter);
  showShare(message);
  if (el.countdown.checked) await countdown();
  if (capture.screen?.readyState === "ended") {
    // Sharing stopped during the countdown: nothing to record.
    capture.stop();
    stopMeter();
    el.preview.srcObject = null;
    el.preview.hidden = true;
    await api(urls.message(message.id), { method: "DELETE" }).catch(() => {});
    hideShare();
    setState("idle");
    setStatus(T.idle);
    return;
  }
  const mimeType = pickType(kind);
  const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : {});
  const tus = keptStream(message, recorder.mimeType || mimeType, {
    csrf,
    ...UPLOAD_RETRY,
    onProgress: ({ sent, total }) => {
      if (state === "stopped" && session?.tus === tus) {
        setStatus(say(T.uploading, { percent: progress(sent, total) }));
      }
    },
  });
  const current = { message, stream, capture, recorder, tus, total: 0, discarded: false, which };
  session = current;
  recorder.addEventListener("dataavailable", (event) => {
    if (current.discarded || !event.data.size) return;
    current.total += event.data.size;
    tus.append(event.data);
  });
  current.stopped = new Promise((resolve) => recorder.addEventListener("stop", resolve, { once: true }));
  // The person stopped sharing from the browser's own bar: that is Stop.
  capture.screen?.addEventListener("ended", () => session === current && stop());
  root.dataset.mimeType = recorder.mimeType || mimeType;
  recorder.start(TIMESLICE_MS);
  setState("recording");
  setStatus(T.recording);
  startTimer();
}

function release(current) {
  current.capture?.stop();
  stopMeter();
  stopTimer();
  el.preview.srcObject = null;
  el.preview.hidden = true;
}

async function stop(reason) {
  const current = session;
  if (!current || (state !== "recording" && state !== "paused")) return;
  current.recorder.stop(); // the last dataavailable comes before "stop"
  setState("stopped");
  await current.stopped;
  release(current);
  if (current.discarded) return;
  setStatus(reason || say(T.uploading, { percent: progress(current.tus.offset, current.total) }));
  await finishUpload(current);
}

async function finishUpload(current) {
  buttons.retry.hidden = true;
  try {
    await current.tus.finish(current.total);
  } catch {
    if (current.discarded) return;
    showError(T.err_upload);
    buttons.retry.hidden = false;
    return;
  }
  if (current.discarded) return;
  clearError();
  if (!current.file) progress(1, 1);
  await followSession(current);
}

async function retryUpload() {
  const current = session;
  if (!current?.tus) return;
  clearError();
  buttons.retry.hidden = true;
  try {
    await current.tus.retry();
  } catch {
    showError(T.err_upload);
    buttons.retry.hidden = false;
    return;
  }
  await finishUpload(current);
}

// Processing → ready without a refresh, while this is still the page's session.
function followSession(current) {
  return follow(current.message, () => session === current && !current.discarded);
}

function pause() {
  if (state !== "recording") return;
  session.recorder.pause();
  setState("paused");
  setStatus(T.paused);
}

function resume() {
  if (state !== "paused") return;
  session.recorder.resume();
  setState("recording");
  setStatus(T.recording);
}

async function discard() {
  const current = session;
  if (!current) return;
  current.discarded = true;
  session = null;
  if (current.recorder && current.recorder.state !== "inactive") current.recorder.stop();
  release(current);
  hideShare();
  el.progress.hidden = true;
  buttons.retry.hidden = true;
  clearError();
  delete root.dataset.messageStatus;
  forget(current.message.upload_url);
  await api(urls.message(current.message.id), { method: "DELETE" }).catch((error) => {
    showError(error.message);
  });
  setState("idle");
  setStatus(T.discarded);
}

async function rerecord() {
  await discard();
  await start();
}

// -- an existing file -------------------------------------------------------------------------

async function sendFile(file) {
  if (!file || state === "recording" || state === "paused" || state === "preparing") return;
  clearError();
  const status = $("file-status");
  const bar = $("file-progress");
  const kind = file.type.startsWith("video/") ? "video" : "audio";
  let message;
  try {
    message = await api(urls.create, { method: "POST", json: newMessage(kind) });
    // The message comes with a streaming upload; a file has a known length, so use a new one.
    await fetch(message.upload_url, { method: "DELETE", headers: { "Tus-Resumable": "1.0.0", "X-CSRF-Token": csrf } });
  } catch (error) {
    showError(say(T.err_create, { error: error.message }));
    return;
  }
  showShare(message);
  const current = { message, discarded: false, file: true, total: file.size };
  session = current;
  setState("stopped");
  show("discard");
  bar.hidden = false;
  const onProgress = ({ sent, total }) => {
    const percent = total ? Math.floor((sent / total) * 100) : 0;
    bar.value = percent;
    status.textContent = say(T.file_progress, { name: file.name, percent });
  };
  try {
    const metadata = { message: message.id };
    const { stream } = await uploadFile(file, { csrf, metadata, onProgress, ...UPLOAD_RETRY });
    current.tus = stream;
  } catch (error) {
    if (current.discarded) return;
    showError(T.err_upload);
    if (error?.stream) {
      current.tus = error.stream; // the upload exists: Retry resumes it
      buttons.retry.hidden = false;
    }
    return;
  }
  await followSession(current);
}

// -- wiring -----------------------------------------------------------------------------------

function supported() {
  return Boolean(navigator.mediaDevices?.getUserMedia && window.MediaRecorder);
}

function init() {
  el.max.textContent = clock(maxSeconds());
  setupChoices();

  buttons.start.addEventListener("click", start);
  buttons.pause.addEventListener("click", pause);
  buttons.resume.addEventListener("click", resume);
  buttons.stop.addEventListener("click", () => stop());
  buttons.discard.addEventListener("click", discard);
  buttons.rerecord.addEventListener("click", rerecord);
  buttons.retry.addEventListener("click", retryUpload);
  buttons.copy?.addEventListener("click", copyLink);
  buttons.share?.addEventListener("click", shareLink);
  onFileChosen(sendFile);

  setState("idle");
  if (!supported()) {
    showError(T.err_unsupported);
    buttons.start.disabled = true;
    return;
  }
  listDevices(el).catch(() => {});
  offerPending(() => state !== "idle", UPLOAD_RETRY).finally(() => (root.dataset.ready = "1"));
}

init();
