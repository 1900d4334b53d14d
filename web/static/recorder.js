// The recorder page: record voice, camera or screen with MediaRecorder and stream each
// chunk to the message's tus upload while recording, so the share link works at once.
// Every word shown to people comes from the page (the data-strings attribute).

import { TusStream, uploadFile } from "./tus.js";

const TIMESLICE_MS = 1000;
const POLL_FIRST_MS = 1000;
const POLL_MAX_MS = 5000;
const TYPES = {
  audio: ["audio/webm;codecs=opus", "audio/mp4", "audio/ogg;codecs=opus"],
  video: ["video/webm;codecs=vp9,opus", "video/webm;codecs=vp8,opus", "video/webm", "video/mp4"],
};
const STORE = { mic: "relay.recorder.mic", cam: "relay.recorder.cam", mode: "relay.recorder.mode" };

const root = document.querySelector("[data-recorder]");
const T = JSON.parse(root.dataset.strings);
const csrf = root.dataset.csrf;
const parentId = root.dataset.parentId || null; // a reply goes into that message's thread
// Upload retries: 1, 2, 4 and 8 s apart, so a lost connection shows Retry within ~15 s.
const UPLOAD_RETRY = { retries: 4, delayMs: 1000 };
const $ = (name) => root.querySelector(`[data-${name}]`);
const el = {
  error: $("error"),
  status: $("status"),
  title: $("title"),
  mic: $("mic"),
  cam: $("cam"),
  camField: $("camera-field"),
  countdown: $("countdown"),
  count: $("countdown-number"),
  preview: $("preview"),
  meter: $("meter"),
  elapsed: $("elapsed"),
  max: $("max"),
  progress: $("progress"),
  share: $("share"),
  shareInput: $("share-input"),
  shareButton: root.querySelector('[data-action="share"]'),
  copyStatus: $("copy-status"),
  openLink: $("open-link"),
  file: $("file"),
  drop: $("drop"),
};
const buttons = {};
for (const button of root.querySelectorAll("button[data-action]")) {
  buttons[button.dataset.action] = button;
}

let state = "idle"; // idle | preparing | recording | paused | stopped
let session = null; // {message, stream, recorder, tus, total, discarded}
let timer = null;
let meter = null;

function say(template, values = {}) {
  return template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function showError(text) {
  el.error.textContent = text;
  el.error.hidden = false;
}

function clearError() {
  el.error.textContent = "";
  el.error.hidden = true;
}

function setStatus(text) {
  el.status.textContent = text;
}

function show(...names) {
  for (const [name, button] of Object.entries(buttons)) {
    if (name === "copy" || name === "share") continue;
    button.hidden = !names.includes(name);
  }
}

function setState(next) {
  state = next;
  root.dataset.state = next;
  const busy = next === "preparing" || next === "recording" || next === "paused";
  for (const input of root.querySelectorAll("[data-setup] input, [data-setup] select")) {
    input.disabled = busy;
  }
  el.file.disabled = busy;
  if (next === "idle") show("start");
  if (next === "preparing") show();
  if (next === "recording") show("pause", "stop", "discard");
  if (next === "paused") show("resume", "stop", "discard");
  if (next === "stopped") show("rerecord", "discard");
}

async function api(path, { method = "GET", json } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrf;
  if (json !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: json === undefined ? undefined : JSON.stringify(json),
    cache: "no-store",
  });
  if (!response.ok && response.status !== 404) {
    let detail = `HTTP ${response.status}`;
    try {
      detail = (await response.json()).detail || detail;
    } catch {}
    throw new Error(detail);
  }
  return response.status === 204 || response.status === 404 ? null : response.json();
}

function newMessage(kind) {
  const body = { kind, title: el.title.value.trim() };
  if (parentId) body.parent_id = parentId;
  return body;
}

function mode() {
  return root.querySelector('input[name="mode"]:checked')?.value || "audio";
}

function pickType(kind) {
  for (const type of TYPES[kind]) {
    if (MediaRecorder.isTypeSupported(type)) return type;
  }
  return "";
}

// -- devices ------------------------------------------------------------------------------

function constraint(select, key) {
  const id = select.value || localStorage.getItem(key) || "";
  return id ? { deviceId: { exact: id } } : true;
}

function stopTracks(tracks) {
  for (const track of tracks) track.stop();
}

// What a recording takes in: `stream` goes to MediaRecorder, `screen` is the shared screen's
// track (its "ended" means the person stopped sharing), stop() ends every track and the
// compositor.
async function acquire(which) {
  const audio = constraint(el.mic, STORE.mic);
  if (which === "screen" || which === "screen-camera") {
    const screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const [screenTrack] = screen.getVideoTracks();
    let media;
    try {
      const video = which === "screen-camera" ? constraint(el.cam, STORE.cam) : false;
      media = await navigator.mediaDevices.getUserMedia({ audio, video });
    } catch (error) {
      stopTracks(screen.getTracks());
      throw error;
    }
    const sources = [...screen.getTracks(), ...media.getTracks()];
    if (which === "screen") {
      const stream = new MediaStream([screenTrack, ...media.getAudioTracks()]);
      return { stream, screen: screenTrack, stop: () => stopTracks(sources) };
    }
    const mixer = composite(screenTrack, media.getVideoTracks()[0]);
    const stream = new MediaStream([mixer.track, ...media.getAudioTracks()]);
    return { stream, screen: screenTrack, stop: () => (mixer.stop(), stopTracks(sources)) };
  }
  const video = which === "camera" ? constraint(el.cam, STORE.cam) : false;
  const stream = await navigator.mediaDevices.getUserMedia({ audio, video });
  return { stream, screen: null, stop: () => stopTracks(stream.getTracks()) };
}

function canComposite() {
  return Boolean(
    navigator.mediaDevices?.getDisplayMedia &&
      window.MediaRecorder &&
      window.HTMLCanvasElement &&
      HTMLCanvasElement.prototype.captureStream,
  );
}

function videoOf(track) {
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  video.srcObject = new MediaStream([track]);
  video.play().catch(() => {});
  return video;
}

// The screen on a canvas with the camera as a round, mirrored bubble in the bottom right
// corner (a fifth of the width). Drawn every animation frame; a hidden tab gets no animation
// frames, so while document.hidden a 30 fps timer draws instead.
function composite(screenTrack, cameraTrack) {
  const screen = videoOf(screenTrack);
  const camera = cameraTrack ? videoOf(cameraTrack) : null;
  const settings = screenTrack.getSettings?.() || {};
  const canvas = document.createElement("canvas");
  // The size is fixed when recording starts: the recorded video keeps one resolution.
  canvas.width = 2 * Math.round((settings.width || 1280) / 2);
  canvas.height = 2 * Math.round((settings.height || 720) / 2);
  const draw = canvas.getContext("2d");
  const paint = () => {
    const { width, height } = canvas;
    draw.fillStyle = "#000";
    draw.fillRect(0, 0, width, height);
    if (screen.videoWidth) {
      const scale = Math.min(width / screen.videoWidth, height / screen.videoHeight);
      const w = screen.videoWidth * scale;
      const h = screen.videoHeight * scale;
      draw.drawImage(screen, (width - w) / 2, (height - h) / 2, w, h);
    }
    if (camera?.videoWidth) {
      const size = Math.round(width * 0.2);
      const margin = Math.round(size * 0.12);
      const x = width - size - margin;
      const y = height - size - margin;
      const side = Math.min(camera.videoWidth, camera.videoHeight);
      const sx = (camera.videoWidth - side) / 2;
      const sy = (camera.videoHeight - side) / 2;
      draw.save();
      draw.beginPath();
      draw.arc(x + size / 2, y + size / 2, size / 2, 0, 2 * Math.PI);
      draw.clip();
      draw.translate(x + size, y);
      draw.scale(-1, 1); // mirrored, like the camera preview
      draw.drawImage(camera, sx, sy, side, side, 0, 0, size, size);
      draw.restore();
      draw.lineWidth = Math.max(2, size / 40);
      draw.strokeStyle = "#fff";
      draw.beginPath();
      draw.arc(x + size / 2, y + size / 2, size / 2, 0, 2 * Math.PI);
      draw.stroke();
    }
  };
  let frame = 0;
  let interval = 0;
  // Paint at most 30 times a second, so captureStream(30) gets evenly spaced frames (a
  // 60 Hz display would otherwise give a mix of 17 and 33 ms steps).
  let painted = -Infinity;
  const onFrame = (now) => {
    frame = 0;
    if (now - painted >= 1000 / 30 - 4) {
      painted = now;
      paint();
    }
    if (!document.hidden) frame = requestAnimationFrame(onFrame);
  };
  const schedule = () => {
    if (document.hidden) {
      cancelAnimationFrame(frame);
      frame = 0;
      if (!interval) interval = setInterval(paint, 1000 / 30);
    } else {
      clearInterval(interval);
      interval = 0;
      if (!frame) frame = requestAnimationFrame(onFrame);
    }
  };
  document.addEventListener("visibilitychange", schedule);
  paint();
  schedule();
  const [track] = canvas.captureStream(30).getVideoTracks();
  return {
    track,
    stop() {
      document.removeEventListener("visibilitychange", schedule);
      cancelAnimationFrame(frame);
      clearInterval(interval);
      track.stop();
      for (const video of [screen, camera]) {
        if (video) video.srcObject = null;
      }
    },
  };
}

async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  fill(el.mic, devices.filter((d) => d.kind === "audioinput"), STORE.mic);
  fill(el.cam, devices.filter((d) => d.kind === "videoinput"), STORE.cam);
}

function fill(select, devices, key) {
  const chosen = select.value || localStorage.getItem(key) || "";
  select.replaceChildren(select.options[0]);
  devices.forEach((device, i) => {
    if (!device.deviceId) return; // labels and ids come only after permission
    const option = new Option(device.label || `${select.dataset.fallback} ${i + 1}`, device.deviceId);
    select.add(option);
  });
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
}

function errorText(error) {
  if (error?.name === "NotAllowedError" || error?.name === "SecurityError") return T.err_permission;
  if (error?.name === "NotFoundError" || error?.name === "OverconstrainedError") return T.err_no_device;
  return say(T.err_start, { error: error?.message || String(error) });
}

// -- level meter ------------------------------------------------------------------------------

function startMeter(stream) {
  if (!stream.getAudioTracks().length || !window.AudioContext) return;
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const canvas = el.meter;
  const draw = canvas.getContext("2d");
  const calm = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  const colour = getComputedStyle(canvas).color;
  let last = 0;
  let frame = 0;
  const tick = (now) => {
    frame = requestAnimationFrame(tick);
    if (calm && now - last < 500) return; // a few steady updates, not an animation
    last = now;
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    const level = Math.min(1, Math.sqrt(sum / samples.length) * 4);
    draw.clearRect(0, 0, canvas.width, canvas.height);
    draw.fillStyle = colour;
    draw.fillRect(0, 0, canvas.width * level, canvas.height);
    canvas.dataset.level = level.toFixed(2);
  };
  frame = requestAnimationFrame(tick);
  meter = { stop: () => (cancelAnimationFrame(frame), context.close().catch(() => {})) };
}

function stopMeter() {
  meter?.stop();
  meter = null;
}

// -- timer ------------------------------------------------------------------------------------

function maxSeconds() {
  const value = Number.parseInt(root.dataset.maxSeconds || "", 10);
  return Number.isFinite(value) && value > 0 ? value : 1800;
}

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

// -- share link -------------------------------------------------------------------------------

function showShare(message) {
  el.shareInput.value = message.share_url || "";
  el.openLink.href = `/m/${message.id}`;
  el.share.hidden = !message.share_url;
  el.copyStatus.textContent = "";
  const mobile = window.matchMedia("(pointer: coarse)").matches;
  el.shareButton.hidden = !(navigator.share && mobile);
}

async function copyLink() {
  const url = el.shareInput.value;
  try {
    await navigator.clipboard.writeText(url);
    el.copyStatus.textContent = T.copied;
  } catch {
    el.shareInput.select();
    el.copyStatus.textContent = document.execCommand?.("copy") ? T.copied : T.copy_failed;
  }
}

async function shareLink() {
  try {
    await navigator.share({ title: el.title.value || T.page_title, url: el.shareInput.value });
  } catch {
    // The person closed the share sheet: nothing to say.
  }
}

function progress(sent, total) {
  const percent = total ? Math.floor((sent / total) * 100) : 0;
  el.progress.hidden = false;
  el.progress.value = percent;
  return percent;
}

// -- recording --------------------------------------------------------------------------------

async function countdown() {
  el.count.hidden = false;
  for (const n of [3, 2, 1]) {
    el.count.textContent = String(n);
    await sleep(1000);
  }
  el.count.hidden = true;
}

async function start() {
  clearError();
  el.share.hidden = true;
  el.progress.hidden = true;
  setState("preparing");
  setStatus(T.preparing);
  const which = mode();
  let capture;
  try {
    capture = await acquire(which);
  } catch (error) {
    showError(errorText(error));
    setState("idle");
    setStatus(T.idle);
    return;
  }
  const { stream } = capture;
  listDevices().catch(() => {});
  const kind = which === "audio" ? "audio" : "video";
  let message;
  try {
    message = await api("/api/messages", { method: "POST", json: newMessage(kind) });
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
  startMeter(stream);
  showShare(message);
  if (el.countdown.checked) await countdown();
  if (capture.screen?.readyState === "ended") {
    // Sharing stopped during the countdown: nothing to record.
    capture.stop();
    stopMeter();
    el.preview.srcObject = null;
    el.preview.hidden = true;
    await api(`/api/messages/${message.id}`, { method: "DELETE" }).catch(() => {});
    el.share.hidden = true;
    setState("idle");
    setStatus(T.idle);
    return;
  }
  const mimeType = pickType(kind);
  const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : {});
  const tus = new TusStream(message.upload_url, {
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
  await follow(current);
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

// Processing → ready without a refresh.
async function follow(current) {
  setStatus(T.processing);
  let delay = POLL_FIRST_MS;
  while (session === current && !current.discarded) {
    const message = await api(`/api/messages/${current.message.id}`).catch(() => null);
    if (session !== current || current.discarded) return;
    if (message?.status === "ready") {
      setStatus(T.ready);
      root.dataset.messageStatus = "ready";
      el.openLink.hidden = false;
      return;
    }
    if (message?.status === "failed") {
      root.dataset.messageStatus = "failed";
      showError(say(T.failed, { error: message.error || "" }));
      setStatus("");
      return;
    }
    if (message) setStatus(message.status === "uploading" ? T.processing : T.processing);
    await sleep(delay);
    delay = Math.min(POLL_MAX_MS, delay * 1.5);
  }
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
  el.share.hidden = true;
  el.progress.hidden = true;
  buttons.retry.hidden = true;
  clearError();
  delete root.dataset.messageStatus;
  await api(`/api/messages/${current.message.id}`, { method: "DELETE" }).catch((error) => {
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
    message = await api("/api/messages", { method: "POST", json: newMessage(kind) });
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
  await follow(current);
}

// -- wiring -----------------------------------------------------------------------------------

function supported() {
  return Boolean(navigator.mediaDevices?.getUserMedia && window.MediaRecorder);
}

function init() {
  el.max.textContent = clock(maxSeconds());
  const screen = root.querySelector('input[name="mode"][value="screen"]');
  if (!navigator.mediaDevices?.getDisplayMedia) screen.closest("label").hidden = true;
  const screenCamera = root.querySelector('input[name="mode"][value="screen-camera"]');
  if (!canComposite()) screenCamera.closest("label").hidden = true;
  const saved = localStorage.getItem(STORE.mode);
  const radio = saved && root.querySelector(`input[name="mode"][value="${saved}"]`);
  if (radio && !radio.closest("label").hidden) radio.checked = true;
  const syncMode = () => {
    el.camField.hidden = mode() !== "camera" && mode() !== "screen-camera";
    localStorage.setItem(STORE.mode, mode());
  };
  for (const input of root.querySelectorAll('input[name="mode"]')) input.addEventListener("change", syncMode);
  syncMode();
  el.mic.addEventListener("change", () => localStorage.setItem(STORE.mic, el.mic.value));
  el.cam.addEventListener("change", () => localStorage.setItem(STORE.cam, el.cam.value));

  buttons.start.addEventListener("click", start);
  buttons.pause.addEventListener("click", pause);
  buttons.resume.addEventListener("click", resume);
  buttons.stop.addEventListener("click", () => stop());
  buttons.discard.addEventListener("click", discard);
  buttons.rerecord.addEventListener("click", rerecord);
  buttons.retry.addEventListener("click", retryUpload);
  buttons.copy.addEventListener("click", copyLink);
  buttons.share.addEventListener("click", shareLink);

  el.file.addEventListener("change", () => sendFile(el.file.files[0]));
  el.drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    el.drop.classList.add("rec-drop-over");
  });
  el.drop.addEventListener("dragleave", () => el.drop.classList.remove("rec-drop-over"));
  el.drop.addEventListener("drop", (event) => {
    event.preventDefault();
    el.drop.classList.remove("rec-drop-over");
    sendFile(event.dataTransfer.files[0]);
  });

  setState("idle");
  if (!supported()) {
    showError(T.err_unsupported);
    buttons.start.disabled = true;
    return;
  }
  listDevices().catch(() => {});
  root.dataset.ready = "1";
}

init();
