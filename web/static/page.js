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

export function show(...names) {
  for (const [name, button] of Object.entries(buttons)) {
    if (name === "copy" || name === "share") continue;
    button.hidden = !names.includes(name);
  }
}

export function mode() {
  return root.querySelector('input[name="mode"]:checked')?.value || "audio";
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
}

// A file chosen with the file input or dropped on the drop zone.
export function onFileChosen(sendFile) {
  if (!el.file) return;
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
}

// -- share link -------------------------------------------------------------------------------

export function showShare(message) {
  if (!el.share) return; // inline, the reply shows up in the thread itself
  el.shareInput.value = message.share_url || "";
  el.openLink.href = `/t/${message.thread_id}#m-${message.id}`;
  el.share.hidden = !message.share_url;
  el.copyStatus.textContent = "";
  const mobile = window.matchMedia("(pointer: coarse)").matches;
  el.shareButton.hidden = !(navigator.share && mobile);
}

export function hideShare() {
  if (el.share) el.share.hidden = true;
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
