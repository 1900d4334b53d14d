// The thread page: reads the thread document and the words embedded in the page, then wires
// the shared player, the waveform, the transcript, the list, live updates and the forms.

import { ApiError, cachedJson, makeApi, readJson } from "./thread-api.js";
import { byName, clock, EMOJIS, fill, isPlayable, transcriptState } from "./thread-format.js";
import { forms } from "./thread-forms.js";
import { makeList } from "./thread-list.js";
import { makeListen } from "./thread-listen.js";
import { makePlayer } from "./thread-player.js";
import { makePrefs } from "./thread-prefs.js";
import { makeTranscript } from "./thread-transcript.js";
import { makeWaveform } from "./thread-waveform.js";

const REFRESH_DELAY_MS = 300;
const LIVE_EVENTS = ["message", "status", "transcript", "reaction", "listen", "deleted", "link", "resync"];
const GONE = new Set([401, 403, 404, 410]);
// Only a finished transcript is announced by the server: while one is being made, look again
// now and then (3 s, doubling up to a minute), so "being made" never outlives the making.
const POLL_FIRST_MS = 3000;
const POLL_MAX_MS = 60000;
const BLOCKED_CHECK_MS = 1500;

const $ = (id) => document.getElementById(id);

function boot(root) {
  let thread = readJson("thread-data");
  const t = readJson("thread-strings") || {};
  if (!thread) return;
  const api = makeApi(thread.csrf);
  const canReact = Boolean(thread.me?.can_reply);
  let list = null;
  let player = null;
  let events = null;
  let refreshTimer = null;
  let pollTimer = null;
  let pollDelay = POLL_FIRST_MS;
  let waitingKey = "";
  let ended = false;
  const prefs = makePrefs(thread.me?.id);

  const listen = makeListen(api, () => list?.refresh());
  listen.sync(thread.messages);

  function failed(error) {
    player?.announce(fill(t.action_failed, { error: error.message }));
    if (error instanceof ApiError && GONE.has(error.status)) revoked();
  }

  const actions = {
    toggle: (m) => (player.current()?.id === m.id ? player.toggle() : player.select(m)),
    playAt: (m, at) => player.playAt(m, at),
    react: (m, emoji, at) => api.post(m.urls.reactions, { emoji, at }).then(refreshSoon, failed),
    unreact: (m, r) => api.del(`${m.urls.reactions}/${encodeURIComponent(r.id)}`).then(refreshSoon, failed),
    remove(m) {
      if (!window.confirm(t.delete_confirm)) return;
      api.del(m.urls.delete).then(refreshSoon, (error) =>
        player.announce(fill(t.delete_failed, { error: error.message })),
      );
    },
  };

  list = makeList({ root: $("thread-list"), t, lang: root.dataset.lang || "en", listen, actions, canReact });
  const waveform = makeWaveform({
    root: $("tp-wave"),
    canvas: $("tp-canvas"),
    markers: $("tp-markers"),
    media: $("tp-media"),
    t,
    onSeek: (time) => player.seek(time),
  });
  const panel = $("tp-transcript");
  panel.open = Boolean(prefs.get("transcript", true));
  panel.addEventListener("toggle", () => prefs.set("transcript", panel.open));
  const transcript = makeTranscript({
    els: {
      panel,
      note: $("tp-transcript-note"),
      hint: $("tp-transcript-hint"),
      retry: $("tp-retry"),
      tools: $("tp-transcript-tools"),
      language: $("tp-language"),
      list: $("tp-segments"),
    },
    api,
    t,
    onSeek: (time) => {
      player.seek(time);
      player.play();
    },
    async onLanguage(message, language) {
      try {
        await api.patch(message.urls.language, { language });
        player.announce(t.transcript_redo);
        await refresh();
      } catch (error) {
        failed(error);
        transcript.reset();
        transcript.load(player.current());
      }
    },
  });

  async function loadWave(message) {
    waveform.load(message, null);
    if (!message) return;
    const data = await cachedJson(api, byName(message.renditions).waveform?.url);
    if (data && player.current()?.id === message.id) waveform.load(message, data);
  }

  const playButton = $("tp-play");
  player = makePlayer({
    els: {
      media: $("tp-media"),
      screen: $("tp-screen"),
      title: $("tp-title"),
      author: $("tp-author"),
      caption: $("tp-caption"),
      play: playButton,
      prev: $("tp-prev"),
      next: $("tp-next"),
      pos: $("tp-pos"),
      dur: $("tp-dur"),
      live: $("tp-live"),
    },
    api,
    t,
    prefs,
    listen,
    threadTitle: thread.title || t.untitled_thread,
    hooks: {
      onChange(message) {
        loadWave(message);
        transcript.load(message);
        list.setState({ current: message?.id ?? null });
        $("tp-react").hidden = !canReact || !message;
      },
      onTime(time) {
        waveform.draw();
        transcript.tick(time);
      },
      onDuration: (value) => waveform.setDuration(value),
      onPlayState(playing) {
        playButton.setAttribute("aria-label", playing ? playButton.dataset.labelPause : playButton.dataset.labelPlay);
        playButton.querySelector(".tp-icon-play").hidden = playing;
        playButton.querySelector(".tp-icon-pause").hidden = !playing;
        list.setState({ playing });
      },
      firstUnheard: () => thread.first_unheard,
    },
  });

  function setWaiting(people) {
    const line = $("thread-waiting");
    line.hidden = !people?.length;
    line.textContent = people?.length ? fill(t.waiting_on, { names: people.map((p) => p.name).join(", ") }) : "";
  }

  // Titles made from a transcript arrive later: the thread's is its first titled message's.
  function setTitle(title) {
    const text = title || t.untitled_thread;
    const heading = document.querySelector(".thread-head h1");
    if (heading.textContent === text) return;
    heading.textContent = text;
    document.title = `${text} · Relay`;
  }

  function pollWhileMaking() {
    clearTimeout(pollTimer);
    const waiting = thread.messages.filter((m) => transcriptState(m) === "waiting").map((m) => m.id);
    const key = waiting.join(",");
    if (key !== waitingKey) pollDelay = POLL_FIRST_MS;
    waitingKey = key;
    if (!waiting.length || ended) return;
    pollTimer = setTimeout(refresh, pollDelay);
    pollDelay = Math.min(pollDelay * 2, POLL_MAX_MS);
  }

  function apply(next) {
    thread = next;
    setTitle(next.title);
    api.setCsrf(next.csrf);
    listen.sync(next.messages);
    player.setMessages(next.messages);
    list.render(next.messages);
    setWaiting(next.waiting_on);
    $("tp-first-unheard").hidden = !next.first_unheard;
    const current = player.current();
    if (current) {
      waveform.setMarkers(current.reactions);
      transcript.load(current);
    }
    pollWhileMaking();
    // The inline recorder follows its reply's status and the latest message from here.
    document.dispatchEvent(new CustomEvent("relay:thread", { detail: next }));
  }

  // A search hit links to /t/<thread>?t=<seconds>#m-<message>: play it from that moment.
  function openLinkedMoment() {
    const match = /^#m-([\w-]+)$/.exec(window.location.hash);
    const message = match && thread.messages.find((m) => m.id === match[1]);
    if (!message) return;
    list.node(message.id)?.scrollIntoView({ block: "center" });
    if (!isPlayable(message)) return;
    const at = Number.parseFloat(new URLSearchParams(window.location.search).get("t"));
    const start = Number.isFinite(at) && at > 0 ? at : null;
    player.select(message, { at: start, autoplay: true });
    // Safari (and Chrome without an earlier click here) refuse to start sound on their own.
    setTimeout(() => {
      if (player.current()?.id === message.id && player.media.paused) {
        player.announce(fill(t.press_play, { time: clock(start || 0) }));
      }
    }, BLOCKED_CHECK_MS);
  }

  async function refresh() {
    if (ended) return;
    try {
      apply(await api.get(thread.urls.self));
    } catch (error) {
      if (error instanceof ApiError && GONE.has(error.status)) revoked();
    }
  }

  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, REFRESH_DELAY_MS);
  }

  function revoked() {
    if (ended) return;
    ended = true;
    events?.close();
    clearTimeout(refreshTimer);
    clearTimeout(pollTimer);
    player.stop();
    for (const id of ["tp", "tp-extra", "thread-list", "reply", "guest-name", "thread-waiting"]) {
      const node = $(id);
      if (node) node.hidden = true;
    }
    $("thread-revoked").hidden = false;
    $("thread-revoked").focus?.();
  }

  // Controls of the shared player.
  playButton.addEventListener("click", () => player.toggle());
  $("tp-prev").addEventListener("click", () => player.step(-1));
  $("tp-next").addEventListener("click", () => player.step(1));
  const speed = $("tp-speed");
  speed.value = String(player.speed());
  speed.addEventListener("change", () => player.setSpeed(Number(speed.value)));
  for (const [id, name] of [
    ["opt-skip", "skip"],
    ["opt-captions", "captions"],
    ["opt-saver", "saver"],
  ]) {
    const box = $(id);
    box.checked = Boolean(player.options[name]);
    box.addEventListener("change", () => player.setOption(name, box.checked));
  }
  $("tp-first-unheard").addEventListener("click", () => {
    const first = thread.messages.find((m) => m.id === thread.first_unheard);
    if (!first) return player.announce(t.all_heard);
    list.node(first.id)?.scrollIntoView({ block: "nearest" });
    if (first.kind === "text" || first.status !== "ready") {
      const index = thread.messages.indexOf(first);
      const next = thread.messages.slice(index).find((m) => m.kind !== "text" && m.status === "ready");
      if (next) player.select(next);
    } else player.select(first);
  });

  const reactRow = $("tp-react");
  if (canReact) {
    for (const emoji of EMOJIS) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "tm-react";
      button.textContent = emoji;
      button.setAttribute("aria-label", fill(t.react_at_with, { emoji }));
      button.addEventListener("click", () => {
        const current = player.current();
        if (current) actions.react(current, emoji, Math.round(player.media.currentTime * 10) / 10);
      });
      reactRow.append(button);
    }
  }

  forms(api, t, () => thread, refresh);

  apply(thread);
  $("tp").hidden = false;
  $("tp-extra").hidden = false;
  openLinkedMoment();

  if (thread.urls.events && "EventSource" in window) {
    events = new EventSource(thread.urls.events);
    for (const name of LIVE_EVENTS) events.addEventListener(name, refreshSoon);
    events.addEventListener("revoked", revoked);
    events.onmessage = refreshSoon;
  }

  // Phones rarely fire unload: save progress whenever the page is hidden.
  window.addEventListener("pagehide", () => listen.flushAll(true));
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) listen.flushAll(true);
  });
}

const root = document.querySelector("[data-thread]");
if (root) boot(root);
