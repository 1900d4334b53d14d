// Listening back to a recording before it is sent: the recorded chunks as one local Blob in
// a small player (play/pause, the recording's bars filling as it plays, the time), or in a
// video element for camera and screen recordings. Nothing is fetched: the upload goes on.

import { barsFitting, drawBars, overview } from "./meter.js";
import { T, clock, el, root } from "./page.js";

let url = "";
let levels = [];
let known = 0; // the recorded length, for a WebM that does not say its own
let media = null;

// A MediaRecorder WebM has no duration in its header: seeking far past the end makes the
// browser read to the end and learn it. Resolves when the duration is known (or not).
function learnDuration(element) {
  return new Promise((resolve) => {
    const done = () => {
      element.removeEventListener("durationchange", changed);
      clearTimeout(timer);
      resolve();
    };
    const changed = () => {
      if (!Number.isFinite(element.duration)) return;
      element.currentTime = 0;
      done();
    };
    const timer = setTimeout(done, 3000);
    const begin = () => {
      if (Number.isFinite(element.duration) && element.duration > 0) return done();
      element.addEventListener("durationchange", changed);
      element.currentTime = 1e101;
    };
    if (element.readyState >= 1) begin();
    else element.addEventListener("loadedmetadata", begin, { once: true });
  });
}

// The length as the recorder timed it: Safari's fragmented MP4 may report only its first
// fragment's length as the duration.
function length() {
  const d = media?.duration;
  return known > 0 || !(Number.isFinite(d) && d > 0) ? known : d;
}

function paint() {
  if (!el.wave || el.wave.hidden) return;
  const colour = getComputedStyle(el.wave).color;
  const rest = getComputedStyle(el.review).getPropertyValue("--rest").trim() || colour;
  const played = media && length() ? Math.min(1, media.currentTime / length()) : 0;
  drawBars(el.wave, overview(levels, barsFitting(el.wave)), { colour, rest, played });
  const at = media && !media.paused ? Math.min(media.currentTime, length()) : length();
  el.playTime.textContent = clock(at);
}

let frame = 0;

function playing(on) {
  cancelAnimationFrame(frame);
  if (on) {
    const loop = () => {
      paint();
      frame = requestAnimationFrame(loop);
    };
    frame = requestAnimationFrame(loop);
  }
  buttons().play.setAttribute("aria-pressed", String(on));
  el.playLabel.textContent = on ? T.listen_pause : T.listen;
  root.classList.toggle("rec-listening", on);
}

const buttons = () => ({ play: root.querySelector('[data-action="play"]') });

// Shows the player for `blob`; `video` recordings get a video element.
export async function showRecording(blob, { video, seconds, history }) {
  hideRecording();
  url = URL.createObjectURL(blob);
  levels = history || [];
  known = seconds;
  media = video ? el.playbackVideo : el.playback;
  media.src = url;
  if (video) {
    el.playbackVideo.hidden = false;
  } else {
    el.review.hidden = false;
    paint();
  }
  const shown = media;
  await learnDuration(shown);
  if (media !== shown) return; // sent or deleted meanwhile
  paint();
  root.dataset.listen = "ready";
}

export function hideRecording() {
  if (media) {
    media.pause();
    media.removeAttribute("src");
    media.load();
  }
  media = null;
  if (url) URL.revokeObjectURL(url);
  url = "";
  el.review.hidden = true;
  el.playbackVideo.hidden = true;
  delete root.dataset.listen;
  playing(false);
}

export function pausePlayback() {
  media?.pause();
}

export function initListen() {
  const audio = el.playback;
  buttons().play.addEventListener("click", () => {
    if (!media) return;
    if (media.paused) {
      if (media.ended || media.currentTime >= length() - 0.05) media.currentTime = 0;
      media.play().catch(() => playing(false));
    } else {
      media.pause();
    }
  });
  audio.addEventListener("play", () => playing(true));
  audio.addEventListener("pause", () => (playing(false), paint()));
  audio.addEventListener("ended", () => (playing(false), paint()));
  // Seek by tapping or clicking on the bars.
  el.wave.addEventListener("click", (event) => {
    if (!media || !length()) return;
    const box = el.wave.getBoundingClientRect();
    media.currentTime = Math.max(0, Math.min(1, (event.clientX - box.left) / box.width)) * length();
    paint();
  });
  window.addEventListener("resize", paint);
}
