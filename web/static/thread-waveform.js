// The waveform: a canvas drawn from the "waveform" rendition's peaks inside a role="slider"
// element, so the same control seeks by pointer, touch and keyboard; and paint(), which draws
// the still waveform of a bubble that is not playing.

import { bars, clock, fill } from "./thread-format.js";

const BAR_PX = 3;
const GAP_PX = 2;
const KEY_STEP = 5;

function colors(element) {
  const style = getComputedStyle(element);
  return {
    played: style.getPropertyValue("--wave-played").trim() || "#0b5cad",
    rest: style.getPropertyValue("--wave-rest").trim() || "#8a939c",
  };
}

// Rounded bars, the share already played in the accent colour.
export function paint(canvas, peaks, share) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (!width || !height) return;
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const count = Math.max(1, Math.floor((width + GAP_PX) / (BAR_PX + GAP_PX)));
  const heights = bars(peaks, count);
  const playedUpTo = share * width;
  const { played, rest } = colors(canvas);
  heights.forEach((value, i) => {
    const x = i * (BAR_PX + GAP_PX);
    const barHeight = Math.max(3, value * height);
    ctx.fillStyle = x < playedUpTo ? played : rest;
    const y = (height - barHeight) / 2;
    if (ctx.roundRect) {
      ctx.beginPath();
      ctx.roundRect(x, y, BAR_PX, barHeight, 1.5);
      ctx.fill();
    } else ctx.fillRect(x, y, BAR_PX, barHeight);
  });
}

export function makeWaveform({ root, canvas, markers, media, t, onSeek }) {
  let peaks = null;
  let duration = 0;
  let dragging = false;

  function now() {
    return media.currentTime || 0;
  }

  function draw() {
    paint(canvas, peaks, duration ? Math.min(1, now() / duration) : 0);
    root.setAttribute("aria-valuemax", String(Math.round(duration)));
    root.setAttribute("aria-valuenow", String(Math.round(now())));
    root.setAttribute(
      "aria-valuetext",
      fill(t.position_text, { position: clock(now()), duration: clock(duration) }),
    );
  }

  // Reaction markers: where people reacted in this message.
  function setMarkers(reactions) {
    markers.replaceChildren();
    if (!duration) return;
    for (const r of reactions || []) {
      if (r.at == null) continue;
      const mark = document.createElement("span");
      mark.className = "tp-marker";
      mark.textContent = r.emoji;
      mark.style.left = `${Math.min(100, (100 * r.at) / duration)}%`; // CSSOM: allowed by the CSP
      markers.append(mark);
    }
  }

  function load(message, data) {
    peaks = data?.peaks || null;
    duration = message?.duration || data?.duration || 0;
    setMarkers(message?.reactions);
    draw();
  }

  function setDuration(value) {
    if (Number.isFinite(value) && value > 0) duration = value;
    draw();
  }

  function timeAt(clientX) {
    const box = root.getBoundingClientRect();
    const share = Math.min(1, Math.max(0, (clientX - box.left) / box.width));
    return share * duration;
  }

  root.addEventListener("pointerdown", (event) => {
    if (!duration) return;
    dragging = true;
    root.setPointerCapture?.(event.pointerId);
    onSeek(timeAt(event.clientX));
  });
  root.addEventListener("pointermove", (event) => {
    if (dragging) onSeek(timeAt(event.clientX));
  });
  for (const name of ["pointerup", "pointercancel"]) {
    root.addEventListener(name, () => {
      dragging = false;
    });
  }

  root.addEventListener("keydown", (event) => {
    if (!duration) return;
    const moves = {
      ArrowLeft: -KEY_STEP,
      ArrowDown: -KEY_STEP,
      ArrowRight: KEY_STEP,
      ArrowUp: KEY_STEP,
      PageDown: -KEY_STEP * 6,
      PageUp: KEY_STEP * 6,
    };
    let target = null;
    if (event.key in moves) target = now() + moves[event.key];
    else if (event.key === "Home") target = 0;
    else if (event.key === "End") target = Math.max(0, duration - 0.1);
    if (target === null) return;
    event.preventDefault();
    onSeek(Math.min(Math.max(0, target), duration));
  });

  new ResizeObserver(draw).observe(canvas);
  matchMedia("(prefers-color-scheme: dark)").addEventListener?.("change", draw);

  return { load, draw, setDuration, setMarkers };
}
