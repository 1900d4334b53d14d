// What a recording takes in: microphone, camera and screen streams, the device lists and the
// remembered choices, the recording's mime type, and the screen + camera compositor.

export const STORE = { mic: "relay.recorder.mic", cam: "relay.recorder.cam", mode: "relay.recorder.mode" };
const TYPES = {
  audio: ["audio/webm;codecs=opus", "audio/mp4", "audio/ogg;codecs=opus"],
  video: ["video/webm;codecs=vp9,opus", "video/webm;codecs=vp8,opus", "video/webm", "video/mp4"],
};

export function pickType(kind) {
  for (const type of TYPES[kind]) {
    if (MediaRecorder.isTypeSupported(type)) return type;
  }
  return "";
}

function constraint(select, key) {
  const id = select.value || localStorage.getItem(key) || "";
  return id ? { deviceId: { exact: id } } : true;
}

function stopTracks(tracks) {
  for (const track of tracks) track.stop();
}

// `stream` goes to MediaRecorder, `screen` is the shared screen's
// track (its "ended" means the person stopped sharing), stop() ends every track and the
// compositor.
export async function acquire(which, { mic, cam }) {
  const audio = constraint(mic, STORE.mic);
  if (which === "screen" || which === "screen-camera") {
    const screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const [screenTrack] = screen.getVideoTracks();
    let media;
    try {
      const video = which === "screen-camera" ? constraint(cam, STORE.cam) : false;
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
  const video = which === "camera" ? constraint(cam, STORE.cam) : false;
  const stream = await navigator.mediaDevices.getUserMedia({ audio, video });
  return { stream, screen: null, stop: () => stopTracks(stream.getTracks()) };
}

export function canComposite() {
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

export async function listDevices({ mic, cam }) {
  const devices = await navigator.mediaDevices.enumerateDevices();
  fill(mic, devices.filter((d) => d.kind === "audioinput"), STORE.mic);
  fill(cam, devices.filter((d) => d.kind === "videoinput"), STORE.cam);
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
