// The thread page: reads the thread document and the words embedded in the page, then wires
// the shared player, the waveform, the transcript, the list, live updates and the forms.

import { ApiError, cachedJson, makeApi } from "./thread-api.js";
import { byName, EMOJIS, fill } from "./thread-format.js";
import { makeList } from "./thread-list.js";
import { makeListen } from "./thread-listen.js";
import { makePlayer, makePrefs } from "./thread-player.js";
import { makeTranscript } from "./thread-transcript.js";
import { makeWaveform } from "./thread-waveform.js";

const REFRESH_DELAY_MS = 300;
const LIVE_EVENTS = ["message", "status", "transcript", "reaction", "listen", "deleted", "link", "resync"];
const GONE = new Set([401, 403, 404, 410]);

const $ = (id) => document.getElementById(id);

function readJson(id) {
  try {
    return JSON.parse($(id).textContent);
  } catch {
    return null;
  }
}

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
  let ended = false;

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
  const transcript = makeTranscript({
    panel: $("tp-transcript"),
    note: $("tp-transcript-note"),
    list: $("tp-segments"),
    api,
    t,
    onSeek: (time) => {
      player.seek(time);
      player.play();
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
    prefs: makePrefs(thread.me?.id),
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

  function apply(next) {
    thread = next;
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
    // The inline recorder follows its reply's status and the latest message from here.
    document.dispatchEvent(new CustomEvent("relay:thread", { detail: next }));
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

function forms(api, t, currentThread, refresh) {
  const reply = $("reply-form");
  if (reply) {
    reply.hidden = false;
    const error = $("reply-error");
    const send = $("reply-send");
    reply.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = $("reply-body").value.trim();
      if (!text) return;
      send.disabled = true;
      send.textContent = t.reply_sending;
      error.hidden = true;
      try {
        const last = currentThread().messages.at(-1);
        await api.post(reply.dataset.url, { kind: "text", body: text, parent_id: last?.id ?? null });
        $("reply-body").value = "";
        await refresh();
      } catch (err) {
        error.textContent = fill(t.reply_failed, { error: err.message });
        error.hidden = false;
      } finally {
        send.disabled = false;
        send.textContent = t.reply_send;
      }
    });
  }
  const guest = $("guest-form");
  if (guest) {
    guest.hidden = false;
    guest.addEventListener("submit", async (event) => {
      event.preventDefault();
      const name = $("guest-input").value.trim();
      if (!name) return;
      try {
        await api.post(guest.dataset.url, { name });
        window.location.reload();
      } catch (err) {
        $("guest-error").textContent = fill(t.name_failed, { error: err.message });
        $("guest-error").hidden = false;
      }
    });
  }
}

const root = document.querySelector("[data-thread]");
if (root) boot(root);
