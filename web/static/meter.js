// The voice meter: the microphone's loudness as bars that scroll from right to left while
// recording (newest on the right), and the recording's loudness kept as it goes, so that the
// listen-back player can draw the same bars for the whole recording.

const STEP_MS = 100; // one bar per 100 ms of recording
const BAR = 3; // bar width and gap, in CSS pixels
const GAP = 3;

function fit(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  return ratio;
}

// Bars centred on the middle line; `levels` 0..1, `played` (0..1) of them in `colour`, the
// rest in `rest`. A silent bar is still a dot, so the line reads as a recording.
export function drawBars(canvas, levels, { colour, rest = colour, played = 1 } = {}) {
  const ratio = fit(canvas);
  const draw = canvas.getContext("2d");
  const { width, height } = canvas;
  const bar = BAR * ratio;
  const step = (BAR + GAP) * ratio;
  draw.clearRect(0, 0, width, height);
  const count = Math.floor((width + GAP * ratio) / step);
  const shown = levels.slice(-count);
  const start = width - shown.length * step + GAP * ratio; // right-aligned while it grows
  shown.forEach((level, i) => {
    const h = Math.max(bar, Math.min(1, level) * height);
    draw.fillStyle = i / shown.length < played ? colour : rest;
    const x = start + i * step;
    const y = (height - h) / 2;
    draw.beginPath();
    if (draw.roundRect) draw.roundRect(x, y, bar, h, bar / 2);
    else draw.rect(x, y, bar, h);
    draw.fill();
  });
}

// `levels` resampled to `count` bars (the loudest in each stretch), for the whole recording.
export function overview(levels, count) {
  if (!levels.length) return new Array(count).fill(0);
  const out = [];
  for (let i = 0; i < count; i += 1) {
    const from = Math.floor((i * levels.length) / count);
    const to = Math.max(from + 1, Math.floor(((i + 1) * levels.length) / count));
    out.push(Math.max(...levels.slice(from, to)));
  }
  return out;
}

export function barsFitting(canvas) {
  return Math.max(8, Math.floor((canvas.clientWidth + GAP) / (BAR + GAP)));
}

// The meter for a stream. `counting()` says whether the recording runs (not paused): only
// then do bars move on and join the history. `onLevel(level)` hears each measurement (the
// ring around the button). Returns {levels, stop()}, or null when the stream has no audio.
export function startMeter(stream, canvas, { counting = () => true, onLevel = () => {} } = {}) {
  if (!stream.getAudioTracks().length || !window.AudioContext) return null;
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const calm = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  const colour = getComputedStyle(canvas).color;
  const levels = [];
  let peak = 0;
  let last = performance.now();
  let frame = 0;
  const tick = (now) => {
    frame = requestAnimationFrame(tick);
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    // Speech sits around 0.02-0.2 RMS: a square root spreads it over the bar's height.
    const level = Math.min(1, Math.sqrt(Math.sqrt(sum / samples.length) * 3));
    peak = Math.max(peak, level);
    if (now - last < (calm ? 500 : STEP_MS)) return;
    last = now;
    if (counting()) levels.push(peak);
    onLevel(counting() ? peak : 0);
    canvas.dataset.level = peak.toFixed(2);
    peak = 0;
    drawBars(canvas, levels, { colour });
  };
  frame = requestAnimationFrame(tick);
  return {
    levels,
    stop() {
      cancelAnimationFrame(frame);
      context.close().catch(() => {});
      onLevel(0);
      delete canvas.dataset.level;
      canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    },
  };
}
