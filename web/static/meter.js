// The input level meter: the audio's loudness drawn as a bar on a canvas.

// Returns a handle with stop(), or null when the stream has no audio to measure.
export function startMeter(stream, canvas) {
  if (!stream.getAudioTracks().length || !window.AudioContext) return null;
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
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
  return { stop: () => (cancelAnimationFrame(frame), context.close().catch(() => {})) };
}
