// The one media element of the thread page and the queue around it. iOS only lets a page
// play sound after a gesture, and keeps that permission per element: so every message
// plays in this same element by swapping its source, and select() never awaits before play().

import {
  authorOf,
  byName,
  clock,
  fill,
  neighbour,
  silenceSkip,
  sourceFor,
  SPEEDS,
  titleOf,
} from "./thread-format.js";
import { cachedJson } from "./thread-api.js";

const FLUSH_MS = 5000;
const RESTART_WITHIN = 3; // "previous" past this many seconds restarts the message instead

export function makePlayer({ els, api, t, prefs, listen, threadTitle, hooks }) {
  const media = els.media;
  let messages = [];
  let current = null;
  let loadedKey = null; // message id + rendition name: presigned URLs may change per fetch
  let silences = null;
  let flushTimer = null;
  let announced = null;
  let speed = SPEEDS.includes(prefs.get("speed", 1)) ? prefs.get("speed", 1) : 1;
  const options = {
    skip: prefs.get("skip", false),
    captions: prefs.get("captions", false),
    saver: prefs.get("saver", navigator.connection?.saveData === true),
  };

  const duration = () =>
    Number.isFinite(media.duration) && media.duration > 0 ? media.duration : current?.duration || 0;

  // Some browsers reset playbackRate when a new source loads: apply it again every time.
  function applySpeed() {
    media.defaultPlaybackRate = speed;
    media.playbackRate = speed;
  }

  function applyCaptions() {
    const element = media.querySelector("track");
    const onScreen = !els.screen.hidden;
    if (element) element.track.mode = options.captions ? (onScreen ? "showing" : "hidden") : "disabled";
    els.caption.hidden = !(element && options.captions && !onScreen);
    if (els.caption.hidden) els.caption.textContent = "";
  }

  // Audio has no picture to draw captions on: show the active cue as a line of text instead.
  function addTrack(url, language) {
    const element = document.createElement("track");
    element.kind = "captions";
    element.srclang = language || document.documentElement.lang || "en";
    element.label = t.captions;
    element.src = url;
    media.append(element);
    element.track.addEventListener("cuechange", () => {
      if (els.caption.hidden) return;
      const cues = [...(element.track.activeCues || [])];
      els.caption.textContent = cues.map((c) => c.text).join(" ");
    });
  }

  async function loadSilences(message) {
    silences = null;
    const url = byName(message.renditions).silences?.url;
    const data = await cachedJson(api, url);
    if (current === message || current?.id === message.id) silences = data?.silences || null;
  }

  function session(message) {
    if (!("mediaSession" in navigator) || typeof MediaMetadata === "undefined") return;
    const poster = byName(message.renditions).poster;
    navigator.mediaSession.metadata = new MediaMetadata({
      title: titleOf(message, t),
      artist: message.author?.name || "",
      album: threadTitle,
      // A voice message shows Relay's icon on the lock screen.
      artwork: poster
        ? [{ src: new URL(poster.url, location.href).href, type: "image/jpeg" }]
        : [{ src: new URL("/static/icon-512.png", location.href).href, sizes: "512x512", type: "image/png" }],
    });
  }

  function positionState() {
    const d = duration();
    if (!navigator.mediaSession?.setPositionState || !d) return;
    try {
      navigator.mediaSession.setPositionState({
        duration: d,
        playbackRate: speed,
        position: Math.min(media.currentTime, d),
      });
    } catch {
      /* an inconsistent moment while the source changes */
    }
  }

  function updateNow() {
    els.title.textContent = current ? titleOf(current, t) : t.nothing_playing;
    els.title.classList.toggle("tp-idle", !current);
    els.author.textContent = current ? authorOf(current, t) : "";
    els.prev.disabled = !current;
    els.next.disabled = !neighbour(messages, current?.id ?? null, 1);
    els.play.disabled = !current && !messages.some((m) => sourceFor(m, false));
  }

  function updateTime() {
    els.pos.textContent = clock(media.currentTime);
    els.dur.textContent = clock(duration());
  }

  function select(message, { at = null, autoplay = true } = {}) {
    const source = sourceFor(message, options.saver);
    if (!source) return;
    if (current && current.id !== message.id) listen.flush(current.id);
    current = message;
    loadedKey = `${message.id}:${source.name}`;
    const r = byName(message.renditions);
    for (const old of media.querySelectorAll("track")) old.remove();
    const isVideo = source.name.startsWith("video");
    if (isVideo && r.poster) media.poster = r.poster.url;
    else media.removeAttribute("poster");
    els.screen.hidden = !isVideo;
    media.src = source.url;
    if (r.captions) addTrack(r.captions.url, message.language || message.transcript?.language);
    applyCaptions();
    media.load();
    applySpeed();
    const own = listen.get(message.id);
    const resume = own && !own.heard && own.position > 1 ? own.position : 0;
    const start = at ?? resume;
    media.addEventListener(
      "loadedmetadata",
      () => {
        if (start > 0 && start < media.duration - 1) media.currentTime = start;
        applySpeed();
        hooks.onDuration(duration());
      },
      { once: true },
    );
    if (autoplay) media.play().catch(() => {}); // still inside the click on iOS
    silences = null;
    if (options.skip) loadSilences(message);
    updateNow();
    updateTime();
    session(message);
    hooks.onChange(message);
  }

  function play() {
    if (!current) {
      const first = messages.find((m) => m.id === hooks.firstUnheard()) || null;
      const target = first && sourceFor(first, false) ? first : neighbour(messages, null, 1);
      if (target) select(target);
      return;
    }
    media.play().catch(() => {});
  }

  function toggle() {
    if (!current || media.paused || media.ended) play();
    else media.pause();
  }

  function seek(time) {
    if (!current) return;
    media.currentTime = Math.max(0, Math.min(time, duration() || time));
    hooks.onTime(media.currentTime);
    updateTime();
  }

  function step(direction) {
    if (direction < 0 && current && media.currentTime > RESTART_WITHIN) return seek(0);
    const target = neighbour(messages, current?.id ?? null, direction);
    if (target) select(target, { autoplay: true });
  }

  function playAt(message, at) {
    if (current?.id === message.id) {
      seek(at);
      play();
    } else {
      select(message, { at });
    }
  }

  function announce(text) {
    els.live.textContent = text;
  }

  // Fresh thread data: keep the element and what is playing; load what just became ready.
  function setMessages(list) {
    messages = list;
    if (current) {
      const fresh = list.find((m) => m.id === current.id);
      if (!fresh) {
        media.pause();
        media.removeAttribute("src");
        media.load();
        current = null;
        loadedKey = null;
        hooks.onChange(null);
      } else {
        current = fresh;
        const source = sourceFor(fresh, options.saver);
        if (source && `${fresh.id}:${source.name}` !== loadedKey && media.paused) {
          select(fresh, { at: media.currentTime || null, autoplay: false });
        }
      }
    }
    updateNow();
  }

  function setOption(name, value) {
    options[name] = value;
    prefs.set(name, value);
    if (name === "captions") applyCaptions();
    if (name === "skip" && value && current) loadSilences(current);
    if (name === "saver" && current) {
      const source = sourceFor(current, value);
      if (source && `${current.id}:${source.name}` !== loadedKey) {
        select(current, { at: media.currentTime, autoplay: !media.paused });
      }
    }
  }

  function setSpeed(value) {
    speed = SPEEDS.includes(value) ? value : 1;
    prefs.set("speed", speed);
    applySpeed();
    positionState();
  }

  function stop() {
    media.pause();
    clearInterval(flushTimer);
    if (current) listen.flush(current.id);
  }

  media.addEventListener("timeupdate", () => {
    if (!current) return;
    const time = media.currentTime;
    if (options.skip && silences && !media.paused) {
      const target = silenceSkip(silences, time);
      if (target !== null) media.currentTime = target;
    }
    listen.progress(current.id, time, duration());
    updateTime();
    hooks.onTime(time);
  });
  media.addEventListener("durationchange", () => {
    updateTime();
    hooks.onDuration(duration());
  });
  media.addEventListener("play", () => {
    applySpeed();
    hooks.onPlayState(true);
    clearInterval(flushTimer);
    flushTimer = setInterval(() => current && listen.flush(current.id), FLUSH_MS);
    if (current && announced !== current.id) {
      announced = current.id;
      announce(fill(t.playing, { title: titleOf(current, t) }));
    }
    const tick = () => {
      if (media.paused || !current) return;
      hooks.onTime(media.currentTime);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  media.addEventListener("pause", () => {
    hooks.onPlayState(false);
    clearInterval(flushTimer);
    if (current) listen.flush(current.id);
    positionState();
  });
  media.addEventListener("ended", () => {
    if (!current) return;
    listen.heard(current.id);
    listen.flush(current.id);
    const next = neighbour(messages, current.id, 1);
    if (next) select(next, { autoplay: true });
    else {
      announced = null;
      announce(t.thread_end);
    }
  });
  media.addEventListener("error", () => {
    if (current && media.getAttribute("src")) {
      announce(fill(t.action_failed, { error: titleOf(current, t) }));
    }
  });
  media.addEventListener("seeked", positionState);

  if ("mediaSession" in navigator) {
    const handlers = {
      play: () => play(),
      pause: () => media.pause(),
      previoustrack: () => step(-1),
      nexttrack: () => step(1),
      seekto: (details) => seek(details.seekTime),
      seekbackward: (details) => seek(media.currentTime - (details.seekOffset || 10)),
      seekforward: (details) => seek(media.currentTime + (details.seekOffset || 10)),
    };
    for (const [action, handler] of Object.entries(handlers)) {
      try {
        navigator.mediaSession.setActionHandler(action, handler);
      } catch {
        /* this browser does not know the action */
      }
    }
  }

  applySpeed();
  return {
    options,
    speed: () => speed,
    current: () => current,
    media,
    select,
    play,
    toggle,
    seek,
    step,
    playAt,
    announce,
    setMessages,
    setOption,
    setSpeed,
    stop,
  };
}
