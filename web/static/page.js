// The recorder's elements and what they show, on /record and inline in a thread page. Every
// word shown to people, and every URL it sends to, comes from the page (data attributes).

import { STORE, canComposite } from "./capture.js";

export const root = document.querySelector("[data-recorder]");
export const T = JSON.parse(root.dataset.strings);
export const csrf = root.dataset.csrf;
export const inline = root.dataset.follow === "thread";
export const urls = {
  create: root.dataset.createUrl || "/api/messages",
  message: (id) => `${root.dataset.messageUrl || "/api/messages/"}${encodeURIComponent(id)}`,
  uploads: root.dataset.uploadBase || "/api/uploads/",
};
// A reply goes into that message's thread; inline, it answers the thread's latest message,
// as the thread page's latest document ("relay:thread" events) says.
let parent = root.dataset.parentId || null;
let thread = null;
export const parentId = () => parent;
export const latestThread = () => thread;
if (inline) {
  document.addEventListener("relay:thread", (event) => {
    thread = event.detail;
    parent = thread?.messages?.at(-1)?.id || parent;
  });
}
export const $ = (name) => root.querySelector(`[data-${name}]`);
export const el = {
  error: $("error"),
  status: $("status"),
  title: $("title"),
  mic: $("mic"),
  cam: $("cam"),
  camField: $("camera-field"),
  countdown: $("countdown"),
  withCamera: $("with-camera"),
  withCameraField: $("with-camera-field"),
  options: $("options"),
  optionsToggle: $("options-toggle"),
  count: $("countdown-number"),
  preview: $("preview"),
  meter: $("meter"),
  elapsed: $("elapsed"),
  max: $("max"),
  progress: $("progress"),
  review: $("review"),
  wave: $("wave"),
  playback: $("playback"),
  playbackVideo: $("playback-video"),
  playLabel: $("play-label"),
  playTime: $("play-time"),
  sent: $("sent"),
  sentTitle: $("sent-title"),
  deleteConfirm: $("delete-confirm"),
  share: $("share"),
  shareInput: $("share-input"),
  shareButton: root.querySelector('[data-action="share"]'),
  copyStatus: $("copy-status"),
  openLink: $("open-link"),
  file: $("file"),
  drop: $("drop"),
  fileStatus: $("file-status"),
};
export const buttons = {};
for (const button of root.querySelectorAll("button[data-action]")) {
  buttons[button.dataset.action] = button;
}

export function say(template, values = {}) {
  return template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function showError(text) {
  el.error.textContent = text;
  el.error.hidden = false;
}

export function clearError() {
  el.error.textContent = "";
  el.error.hidden = true;
}

export function setStatus(text) {
  el.status.textContent = text;
}

// The buttons that change with the recorder's state; the others are shown where they belong.
const STATE_BUTTONS = ["start", "pause", "resume", "stop", "send", "retry", "discard"];

export function show(...names) {
  for (const name of STATE_BUTTONS) {
    if (buttons[name]) buttons[name].hidden = !names.includes(name);
  }
}

// voice, camera, screen, or screen with the camera in a corner ("screen-camera").
export function mode() {
  const chosen = root.querySelector('input[name="mode"]:checked')?.value || "audio";
  if (chosen === "screen" && el.withCamera.checked && canComposite()) return "screen-camera";
  return chosen;
}

export function maxSeconds() {
  const value = Number.parseInt(root.dataset.maxSeconds || "", 10);
  return Number.isFinite(value) && value > 0 ? value : 1800;
}

export function errorText(error) {
  if (error?.name === "NotAllowedError" || error?.name === "SecurityError") return T.err_permission;
  if (error?.name === "NotFoundError" || error?.name === "OverconstrainedError") return T.err_no_device;
  return say(T.err_start, { error: error?.message || String(error) });
}

export async function countdown() {
  el.count.hidden = false;
  for (const n of [3, 2, 1]) {
    el.count.textContent = String(n);
    await sleep(1000);
  }
  el.count.hidden = true;
}

// The capture mode, microphone and camera chosen last time, and the modes this browser has.
export function setupChoices() {
  if (!navigator.mediaDevices?.getDisplayMedia) $("mode-screen").hidden = true;
  const saved = localStorage.getItem(STORE.mode);
  const base = saved === "screen-camera" ? "screen" : saved;
  const radio = base && root.querySelector(`input[name="mode"][value="${base}"]`);
  if (radio && !radio.closest("label").hidden) radio.checked = true;
  if (saved === "screen-camera") el.withCamera.checked = true;
  const syncMode = () => {
    const which = mode();
    el.camField.hidden = which !== "camera" && which !== "screen-camera";
    el.withCameraField.hidden = which !== "screen" && which !== "screen-camera";
    if (!canComposite()) el.withCameraField.hidden = true;
    root.dataset.mode = which;
    localStorage.setItem(STORE.mode, which);
  };
  for (const input of root.querySelectorAll('input[name="mode"]')) input.addEventListener("change", syncMode);
  el.withCamera.addEventListener("change", syncMode);
  syncMode();
  el.mic.addEventListener("change", () => localStorage.setItem(STORE.mic, el.mic.value));
  el.cam.addEventListener("change", () => localStorage.setItem(STORE.cam, el.cam.value));
  el.optionsToggle.addEventListener("click", () => {
    const open = el.optionsToggle.getAttribute("aria-expanded") !== "true";
    el.optionsToggle.setAttribute("aria-expanded", String(open));
    el.options.hidden = !open;
  });
}

// A file chosen with the file picker, or dropped anywhere on the recorder (desktop).
export function onFileChosen(sendFile) {
  if (!el.file) return;
  el.file.addEventListener("change", () => {
    const [file] = el.file.files;
    el.file.value = "";
    sendFile(file);
  });
  buttons["pick-file"]?.addEventListener("click", () => el.file.click());
  let depth = 0;
  const dragging = (on) => root.classList.toggle("rec-drop-over", on);
  const hasFile = (event) => [...(event.dataTransfer?.types || [])].includes("Files");
  root.addEventListener("dragenter", (event) => {
    if (!hasFile(event)) return;
    depth += 1;
    dragging(true);
  });
  root.addEventListener("dragover", (event) => {
    if (hasFile(event)) event.preventDefault();
  });
  root.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) dragging(false);
  });
  root.addEventListener("drop", (event) => {
    if (!hasFile(event)) return;
    event.preventDefault();
    depth = 0;
    dragging(false);
    sendFile(event.dataTransfer.files[0]);
  });
}

// -- share link -------------------------------------------------------------------------------

// After Send: the link to share (on /record) or a short "Sent" (inline, where the reply
// shows up in the thread itself).
// `deletable`: this page may delete it (a recording kept from an earlier visit is shown
// without the delete button).
export function showShare(message, { deletable = true } = {}) {
  el.sentTitle.hidden = false;
  if (el.sent) {
    el.sent.hidden = false;
    return;
  }
  el.shareInput.value = message.share_url || "";
  if (message.thread_id) el.openLink.href = `/t/${message.thread_id}#m-${message.id}`;
  el.openLink.hidden = !message.thread_id;
  el.share.hidden = !message.share_url;
  el.copyStatus.textContent = "";
  const mobile = window.matchMedia("(pointer: coarse)").matches;
  el.shareButton.hidden = !(navigator.share && mobile);
  buttons.delete.hidden = !deletable;
  closeDelete();
}

export function hideShare() {
  el.sentTitle.hidden = true;
  if (el.share) el.share.hidden = true;
  if (el.sent) el.sent.hidden = true;
  closeDelete();
}

export function closeDelete() {
  if (!el.deleteConfirm) return;
  el.deleteConfirm.hidden = true;
  buttons.delete.setAttribute("aria-expanded", "false");
}

export async function copyLink() {
  const url = el.shareInput.value;
  try {
    await navigator.clipboard.writeText(url);
    el.copyStatus.textContent = T.copied;
  } catch {
    el.shareInput.select();
    el.copyStatus.textContent = document.execCommand?.("copy") ? T.copied : T.copy_failed;
  }
}

export async function shareLink() {
  try {
    await navigator.share({ title: el.title.value || T.page_title, url: el.shareInput.value });
  } catch {
    // The person closed the share sheet: nothing to say.
  }
}

export function progress(sent, total) {
  const percent = total ? Math.floor((sent / total) * 100) : 0;
  el.progress.hidden = false;
  el.progress.value = percent;
  return percent;
}
