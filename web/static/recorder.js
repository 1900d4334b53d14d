// The recorder (its page, or inline in a thread): record voice, camera or screen with
// MediaRecorder and stream each chunk to the message's tus upload while recording. Stop
// leaves the upload open and plays the recording back from this browser; Send finishes the
// upload (the message then leaves "uploading" for everyone) and shows the share link.
// Every word shown to people comes from the page (the data-strings attribute).

import { acquire, listDevices, pickType } from "./capture.js";
import { hideRecording, initListen, pausePlayback, showRecording } from "./listen.js";
import { api, follow, newMessage } from "./messages.js";
import { startMeter } from "./meter.js";
import {
  T, buttons, clearError, clock, closeDelete, copyLink, countdown, csrf, el, errorText,
  hideShare, maxSeconds, mode, onFileChosen, progress, root, say, setStatus, setupChoices,
  shareLink, show, showError, showShare, urls,
} from "./page.js";
import { forget, keptStream, offerPending } from "./pending.js";
import { uploadFile } from "./tus.js";

const TIMESLICE_MS = 1000;
// Upload retries: 1, 2, 4 and 8 s apart, so a lost connection shows Retry within ~15 s.
const UPLOAD_RETRY = { retries: 4, delayMs: 1000 };

// idle | preparing | recording | paused | stopped (listening back) | sent
let state = "idle";
let session = null; // {message, capture, recorder, tus, chunks, total, seconds, discarded}
let timer = null;
let meter = null;

const BUSY = new Set(["preparing", "recording", "paused"]);
const SHOWN = {
  idle: ["start"],
  preparing: [],
  recording: ["pause", "stop", "send", "discard"],
  paused: ["resume", "stop", "send", "discard"],
  stopped: ["send", "discard"],
  sent: [],
};

// Where the keyboard goes when the focused button disappears with a change of state.
const FOCUS = { idle: "start", recording: "stop", paused: "resume", stopped: "send", sent: "copy" };

function setState(next) {
  const focused = document.activeElement;
  const hadFocus = root.contains(focused);
  state = next;
  root.dataset.state = next;
  for (const input of root.querySelectorAll("[data-setup] input, [data-setup] select")) {
    input.disabled = BUSY.has(next);
  }
  if (el.file) el.file.disabled = BUSY.has(next);
  show(...SHOWN[next]);
  // The send button is the big one once there is nothing more to record.
  buttons.send.classList.toggle("rec-main", next === "stopped");
  if (hadFocus && (focused.hidden || focused.closest("[hidden]"))) {
    const target = buttons[FOCUS[next]] || buttons.another;
    if (target && !target.closest("[hidden]")) target.focus();
    else if (next === "sent") buttons.another?.focus();
  }
}

function setLevel(level) {
  root.style.setProperty("--level", level.toFixed(2));
}

function stopMeter() {
  meter?.stop();
  meter = null;
  root.style.removeProperty("--level");
}

// -- timer ------------------------------------------------------------------------------------

function startTimer(current) {
  const limit = maxSeconds();
  el.max.textContent = clock(limit);
  let since = performance.now();
  const update = () => {
    const now = performance.now();
    if (state === "recording") current.seconds += (now - since) / 1000;
    since = now;
    el.elapsed.textContent = clock(current.seconds);
    if (current.seconds >= limit && state === "recording") stop(T.max_reached);
  };
  el.elapsed.textContent = clock(0);
  timer = setInterval(update, 250);
}

function stopTimer() {
  clearInterval(timer);
  timer = null;
}

// -- recording --------------------------------------------------------------------------------

function backToIdle(status = T.idle) {
  setState("idle");
  setStatus(status);
  el.elapsed.textContent = clock(0);
}

async function start() {
  clearError();
  hideShare();
  hideRecording();
  el.progress.hidden = true;
  setState("preparing");
  setStatus(T.preparing);
  const which = mode();
  let capture;
  try {
    capture = await acquire(which, el);
  } catch (error) {
    showError(errorText(error));
    backToIdle();
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
    backToIdle();
    return;
  }
  if (kind === "video") {
    el.preview.srcObject = stream;
    el.preview.hidden = false;
    el.preview.classList.toggle("rec-mirror", which === "camera");
    el.preview.play().catch(() => {});
  }
  meter = startMeter(stream, el.meter, { counting: () => state === "recording", onLevel: setLevel });
  if (el.countdown.checked) await countdown();
  if (capture.screen?.readyState === "ended") {
    // Sharing stopped during the countdown: nothing to record.
    capture.stop();
    stopMeter();
    el.preview.srcObject = null;
    el.preview.hidden = true;
    await api(urls.message(message.id), { method: "DELETE" }).catch(() => {});
    backToIdle();
    return;
  }
  const mimeType = pickType(kind);
  const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : {});
  const type = recorder.mimeType || mimeType;
  const tus = keptStream(message, type, {
    csrf,
    ...UPLOAD_RETRY,
    onProgress: ({ sent, total }) => {
      if (state === "sent" && session?.tus === tus) {
        setStatus(say(T.status_uploading_percent, { percent: progress(sent, total) }));
      }
    },
  });
  const current = {
    message, capture, recorder, tus, type, kind, chunks: [], total: 0, seconds: 0,
    discarded: false, levels: meter?.levels || [],
  };
  session = current;
  recorder.addEventListener("dataavailable", (event) => {
    if (current.discarded || !event.data.size) return;
    current.total += event.data.size;
    current.chunks.push(event.data);
    tus.append(event.data);
  });
  current.stopped = new Promise((resolve) => recorder.addEventListener("stop", resolve, { once: true }));
  // The person stopped sharing from the browser's own bar: that is Stop.
  capture.screen?.addEventListener("ended", () => session === current && stop());
  root.dataset.mimeType = type;
  recorder.start(TIMESLICE_MS);
  setState("recording");
  setStatus(T.recording);
  startTimer(current);
}

function release(current) {
  current.capture?.stop();
  stopMeter();
  stopTimer();
  el.preview.srcObject = null;
  el.preview.hidden = true;
}

// Stop recording and listen back; the upload of what was recorded goes on meanwhile.
async function stop(reason) {
  const current = session;
  if (!current || (state !== "recording" && state !== "paused")) return;
  current.recorder.stop(); // the last dataavailable comes before "stop"
  setState("stopped");
  setStatus(reason || T.review);
  await current.stopped;
  release(current);
  if (current.discarded || session !== current) return;
  el.elapsed.textContent = clock(current.seconds);
  if (current.sendNow) return;
  const blob = new Blob(current.chunks, { type: current.type });
  await showRecording(blob, {
    video: current.kind === "video",
    seconds: current.seconds,
    history: current.levels,
  });
}

// Send: finish the upload (stopping first if still recording), then share.
async function send() {
  const current = session;
  if (!current) return;
  if (state === "recording" || state === "paused") {
    current.sendNow = true;
    await stop();
  }
  if (current.discarded || session !== current || state !== "stopped") return;
  await current.stopped; // the last chunk is in before the upload is finished
  if (current.discarded || session !== current || state !== "stopped") return;
  pausePlayback();
  hideRecording();
  setState("sent");
  showShare(current.message);
  setStatus(say(T.status_uploading_percent, { percent: progress(current.tus.offset, current.total) }));
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
  el.progress.hidden = true;
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

// Forget the session on this page and delete its message (and so its upload) on the server.
async function remove(current, status) {
  current.discarded = true;
  session = null;
  if (current.recorder && current.recorder.state !== "inactive") current.recorder.stop();
  release(current);
  hideRecording();
  hideShare();
  el.progress.hidden = true;
  buttons.retry.hidden = true;
  clearError();
  delete root.dataset.messageStatus;
  forget(current.message.upload_url);
  setState("preparing");
  await api(urls.message(current.message.id), { method: "DELETE" }).catch((error) => {
    showError(error.message);
  });
  backToIdle(status);
}

// Before Send: one tap deletes the recording.
async function discard() {
  if (session && state !== "sent") await remove(session, T.discarded);
}

// After Send: deleting asks first.
function askDelete() {
  const open = el.deleteConfirm.hidden;
  el.deleteConfirm.hidden = !open;
  buttons.delete.setAttribute("aria-expanded", String(open));
  if (open) buttons["delete-cancel"].focus();
}

async function deleteSent() {
  if (session && state === "sent") await remove(session, T.deleted);
  buttons.start.focus();
}

function another() {
  session = null;
  hideShare();
  el.progress.hidden = true;
  buttons.retry.hidden = true;
  clearError();
  delete root.dataset.messageStatus;
  backToIdle();
  buttons.start.focus();
}

// -- an existing file -------------------------------------------------------------------------

async function sendFile(file) {
  if (!file || BUSY.has(state)) return;
  clearError();
  hideRecording();
  const status = el.fileStatus;
  const bar = root.querySelector("[data-file-progress]");
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
  const current = { message, discarded: false, file: true, total: file.size };
  session = current;
  setState("sent");
  showShare(message);
  setStatus(say(T.status_uploading_percent, { percent: 0 }));
  bar.hidden = false;
  const onProgress = ({ sent, total }) => {
    const percent = total ? Math.floor((sent / total) * 100) : 0;
    bar.value = percent;
    status.textContent = say(T.file_progress, { name: file.name, percent });
    setStatus(say(T.status_uploading_percent, { percent }));
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
  bar.hidden = true;
  status.textContent = "";
  await followSession(current);
}

// -- wiring -----------------------------------------------------------------------------------

function supported() {
  return Boolean(navigator.mediaDevices?.getUserMedia && window.MediaRecorder);
}

function init() {
  el.max.textContent = clock(maxSeconds());
  setupChoices();
  initListen();

  buttons.start.addEventListener("click", start);
  buttons.pause.addEventListener("click", pause);
  buttons.resume.addEventListener("click", resume);
  buttons.stop.addEventListener("click", () => stop());
  buttons.send.addEventListener("click", send);
  buttons.discard.addEventListener("click", discard);
  buttons.retry.addEventListener("click", retryUpload);
  buttons.another.addEventListener("click", another);
  buttons.copy?.addEventListener("click", copyLink);
  buttons.share?.addEventListener("click", shareLink);
  buttons.delete?.addEventListener("click", askDelete);
  buttons["delete-cancel"]?.addEventListener("click", () => (closeDelete(), buttons.delete.focus()));
  buttons["delete-confirm"]?.addEventListener("click", deleteSent);
  onFileChosen(sendFile);
  // A recording not sent yet is kept in this browser, but leaving should not be by accident.
  window.addEventListener("beforeunload", (event) => {
    if (BUSY.has(state) || state === "stopped") event.preventDefault();
  });

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
