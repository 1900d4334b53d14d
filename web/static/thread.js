// The thread page: reads the thread document and the words embedded in the page, then wires
// the shared player, the waveform, the transcript, the list, live updates and the forms.

import { avatar, liveTimes } from "./format.js";
import { ApiError, cachedJson, makeApi, readJson } from "./thread-api.js";
import { authorOf, byName, clock, fill, isPlayable, SPEEDS, transcriptState } from "./thread-format.js";
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
const motion = () => (matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth");

function boot(root) {
  let thread = readJson("thread-data");
  const t = readJson("thread-strings") || {};
  if (!thread) return;
  const api = makeApi(thread.csrf);
  const canReact = Boolean(thread.me?.can_reply);
  const canShare = Boolean(document.getElementById("share-sheet"));
  const lang = root.dataset.lang || "en";
  let list = null;
  let player = null;
  let events = null;
  let refreshTimer = null;
  let pollTimer = null;
  let pollDelay = POLL_FIRST_MS;
  let waitingKey = "";
  let ended = false;
  let unheard = 0; // messages from others not yet heard: counted in the tab's title
  const prefs = makePrefs(thread.me?.id);

  const listen = makeListen(api, () => {
    list?.refresh();
    showNew();
  });
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
    // The bubble's own menu asked first ("Delete this message for everyone?").
    remove(m) {
      api.del(m.urls.delete).then(refreshSoon, (error) =>
        player.announce(fill(t.delete_failed, { error: error.message })),
      );
    },
    // The share sheet (share-sheet.js) opens with the link pointing at this message.
    share: (m) => document.dispatchEvent(new CustomEvent("relay:share", { detail: { id: m.id } })),
    position: () => player.media.currentTime || 0,
  };

  list = makeList({
    root: $("thread-list"),
    t,
    lang,
    api,
    listen,
    actions,
    canReact,
    canShare,
    slots: {
      park: $("tp-park"),
      pieces: { screen: $("tp-screen"), wave: $("tp-wave"), transcript: $("tp-transcript") },
    },
    threadTitle: () => thread.title || "",
  });
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
        list.setState({ current: message?.id ?? null, picker: null });
        loadWave(message);
        transcript.load(message);
        nowPlaying(message);
        // Playing on to the next message: the conversation follows along.
        list.node(message?.id)?.scrollIntoView({ block: "nearest", behavior: motion() });
      },
      onTime(time) {
        waveform.draw();
        transcript.tick(time);
        const d = player.media.duration || player.current()?.duration || 0;
        $("tp-bar").style.transform = `scaleX(${d ? Math.min(1, time / d) : 0})`; // CSSOM: allowed by the CSP
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

  // The mini-player shows once something has been chosen, and says what it is.
  function nowPlaying(message) {
    $("tp").hidden = !message; // nothing left to play (it was deleted): no player either
    if (!message) return;
    $("tp-title").href = `#m-${message.id}`;
    $("tp-who").replaceChildren(avatar(message.author?.name || t.guest, "avatar-small"));
    $("tp-author").textContent = authorOf(message, t);
  }

  // "Play 3 new": only while something from someone else is unheard.
  function showNew() {
    const count = thread.messages.filter((m) => m.new && !m.mine && !listen.get(m.id)?.heard).length;
    $("thread-new").hidden = !count;
    unheard = count;
    tabTitle();
    $("tp-first-unheard-label").textContent = count === 1 ? t.play_new_one : fill(t.play_new, { count });
  }

  // Whoever started the thread, posted, or is waited on: a small stack of faces.
  function setPeople(next) {
    const names = [];
    for (const p of [next.owner, ...next.messages.map((m) => m.author), ...(next.waiting_on || [])]) {
      if (p?.name && !names.includes(p.name)) names.push(p.name);
    }
    const stack = document.querySelector("#thread-people .avatar-stack");
    const faces = names.slice(0, 4).map((name) => avatar(name, "avatar-small"));
    if (names.length > 4) {
      const more = document.createElement("span");
      more.className = "avatar avatar-small avatar-more";
      more.textContent = `+${names.length - 4}`;
      faces.push(more);
    }
    stack.replaceChildren(...faces);
    const line = document.querySelector("#thread-people .thread-names");
    line.lastChild.textContent = names.join(", ");
  }

  // Only the thread's own members read who it waits on; a link's visitors do not.
  function setWaiting(people) {
    const line = $("thread-waiting");
    if (!["owner", "member"].includes(thread.me?.role)) people = [];
    line.hidden = !people?.length;
    line.textContent = people?.length ? fill(t.waiting_on, { names: people.map((p) => p.name).join(", ") }) : "";
  }

  // Titles made from a transcript arrive later: the thread's is its first titled message's.
  function setTitle(title) {
    const text = title || t.untitled_thread;
    const heading = $("thread-title");
    if (heading.textContent === text) return;
    heading.textContent = text;
    tabTitle();
  }

  // The tab says how much is new, as messengers do: "(3) Budget for Q1 · Relay".
  function tabTitle() {
    const text = $("thread-title").textContent || t.untitled_thread;
    document.title = `${unheard ? `(${unheard}) ` : ""}${text} · Relay`;
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
    setPeople(next);
    showNew();
    const current = player.current();
    if (current) {
      waveform.setMarkers(current.reactions);
      transcript.load(current);
    }
    pollWhileMaking();
    // The inline recorder follows its reply's status and the latest message from here.
    document.dispatchEvent(new CustomEvent("relay:thread", { detail: next }));
  }

  // A shared message's link ends in #m-<message>: open the page at it, marked. A search hit
  // links to /t/<thread>?t=<seconds>#m-<message>: play it from that moment.
  function openLinkedMoment() {
    const match = /^#m-([\w-]+)$/.exec(window.location.hash);
    const message = match && thread.messages.find((m) => m.id === match[1]);
    if (!message) return;
    list.setState({ target: message.id });
    list.node(message.id)?.scrollIntoView({ block: "center" });
    const at = Number.parseFloat(new URLSearchParams(window.location.search).get("t"));
    if (!isPlayable(message) || !Number.isFinite(at)) return;
    const start = at > 0 ? at : null;
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
    for (const id of ["dock", "thread-new", "thread-list", "thread-waiting"]) {
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
  // 1× → 1.5× → 2× → 1×, one tap each.
  const speed = $("tp-speed");
  const showSpeed = () => {
    const text = `${player.speed()}×`;
    speed.textContent = text;
    speed.setAttribute("aria-label", fill(speed.dataset.label, { speed: text }));
    speed.classList.toggle("is-fast", player.speed() !== 1);
  };
  showSpeed();
  speed.addEventListener("click", () => {
    player.setSpeed(SPEEDS[(SPEEDS.indexOf(player.speed()) + 1) % SPEEDS.length]);
    showSpeed();
  });
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
    const first = thread.messages.find((m) => m.new && !m.mine && !listen.get(m.id)?.heard);
    if (!first) return player.announce(t.all_heard);
    list.node(first.id)?.scrollIntoView({ block: "center", behavior: motion() });
    if (first.kind === "text" || first.status !== "ready") {
      const index = thread.messages.indexOf(first);
      const next = thread.messages.slice(index).find((m) => m.kind !== "text" && m.status === "ready");
      if (next) player.select(next);
    } else player.select(first);
  });

  // The options menu closes like the bubbles' menus: a tap elsewhere, or Escape.
  const menu = $("tp-menu");
  document.addEventListener("click", (event) => {
    if (menu.open && !menu.contains(event.target)) menu.open = false;
  });
  menu.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !menu.open) return;
    menu.open = false;
    menu.querySelector("summary").focus();
  });

  forms(api, t, () => thread, refresh);

  apply(thread);
  liveTimes(root, lang);
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
