// The conversation: one bubble per message, the viewer's own on the right, drawn from the
// thread document and updated in place, so new replies and status changes never disturb the
// player or the element that has focus. The bubble being played receives the shared media
// element, the waveform that seeks and the transcript that follows along (`slots`).

import { avatar, fullDate, relative } from "./format.js";
import {
  authorOf,
  byName,
  clock,
  EMOJIS,
  fill,
  isPlayable,
  percent,
  signature,
  titleOf,
  TRANSCRIPT_NOTES,
  transcriptState,
} from "./thread-format.js";
import { paint } from "./thread-waveform.js";
import { cachedJson } from "./thread-api.js";

const SVG = "http://www.w3.org/2000/svg";

// h("p", {class: "x", onclick: f}, "text", child): a small element builder.
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

// An icon from the page's sprite (thread.html): <svg><use href="#i-play"></svg>.
export function icon(name, size = 24) {
  const svg = document.createElementNS(SVG, "svg");
  for (const [k, v] of Object.entries({ class: `icon icon-${name}`, viewBox: "0 0 24 24", width: size, height: size })) {
    svg.setAttribute(k, String(v));
  }
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const use = document.createElementNS(SVG, "use");
  use.setAttribute("href", `#i-${name}`);
  svg.append(use);
  return svg;
}

export function makeList({ root, t, lang, api, listen, actions, canReact, canShare, slots, threadTitle }) {
  const nodes = new Map(); // id -> {node, sig}
  const peaks = new Map(); // id -> peaks of its waveform rendition, once loaded
  let messages = [];
  let state = { current: null, playing: false, menu: null, picker: null, confirming: null, target: null };
  const expanded = new Set(); // ids of bubbles whose whole transcript is shown

  // Text messages are read, not played: they count as heard once they have been on screen.
  const seen = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        seen.unobserve(entry.target);
        const id = entry.target.dataset.id;
        listen.heard(id);
        listen.flush(id);
      }
    },
    { threshold: 0.6 },
  );

  function heard(m) {
    return Boolean(listen.get(m.id)?.heard || m.listen?.heard);
  }

  function set(next) {
    render(messages, { ...state, ...next });
  }

  // Who and what about it, at the top; the viewer's own bubbles only say "You" to screen readers.
  function meta(m) {
    const parent = m.parent_id ? messages.find((p) => p.id === m.parent_id) : null;
    const parts = [
      m.author?.guest && !m.mine ? h("span", { class: "tm-guest" }, t.guest) : null,
      parent && m.at != null
        ? h(
            "a",
            {
              class: "tm-at",
              href: `#m-${parent.id}`,
              "aria-label": fill(t.at_label, { title: titleOf(parent, t), time: clock(m.at) }),
              onclick: (event) => {
                event.preventDefault();
                actions.playAt(parent, m.at);
              },
            },
            fill(t.at_time, { time: clock(m.at) }),
          )
        : null,
      m.status !== "ready"
        ? h("span", { class: `badge badge-${m.status}` }, t[`status_${m.status}`] || m.status)
        : null,
      m.new && !m.mine && !heard(m) ? h("span", { class: "tm-new" }, t.new) : null,
    ].filter(Boolean);
    const author = h("span", { class: `tm-author${m.mine ? " visually-hidden" : ""}` }, authorOf(m, t));
    if (m.mine && !parts.length) return author;
    return h("p", { class: "tm-meta" }, author, ...parts);
  }

  function stamp(m) {
    if (!m.created_at) return null;
    return h(
      "p",
      { class: "tm-stamp" },
      h("time", { datetime: m.created_at, "data-relative": true, title: fullDate(m.created_at, lang) }, relative(m.created_at, lang)),
    );
  }

  function playButton(m, extraClass = "") {
    const playing = state.current === m.id && state.playing;
    const button = h(
      "button",
      {
        type: "button",
        class: `tm-play${extraClass}`,
        "data-focus": "play",
        onclick: () => actions.toggle(m),
      },
      icon(playing ? "pause" : "play"),
    );
    button.setAttribute("aria-label", playing ? t.pause : fill(t.play_this, { title: titleOf(m, t) }));
    return button;
  }

  // A waveform that is not playing: drawn from the peaks, a tap plays from that point.
  function staticWave(m) {
    const canvas = h("canvas", { class: "tm-wave-canvas", "data-wave": m.id });
    const wave = h(
      "div",
      {
        class: "tm-wave",
        "aria-hidden": "true",
        onclick: (event) => {
          const box = wave.getBoundingClientRect();
          const share = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
          actions.playAt(m, share * (m.duration || 0));
        },
      },
      canvas,
    );
    return wave;
  }

  function loadPeaks(m) {
    const url = byName(m.renditions).waveform?.url;
    if (!url || peaks.has(m.id)) return;
    peaks.set(m.id, null);
    cachedJson(api, url).then((data) => {
      if (!data?.peaks) return peaks.delete(m.id);
      peaks.set(m.id, data.peaks);
      paintWaves();
    });
  }

  function paintWaves() {
    for (const canvas of root.querySelectorAll("canvas[data-wave]")) {
      const m = messages.find((x) => x.id === canvas.dataset.wave);
      const own = m && listen.get(m.id);
      const share = own && !own.heard && m.duration ? own.position / m.duration : 0;
      paint(canvas, peaks.get(canvas.dataset.wave) || null, share);
    }
  }

  function media(m) {
    const current = state.current === m.id;
    if (m.status === "failed") {
      return h("p", { class: "player-error" }, fill(t.failed_detail, { error: m.error || t.unknown_error }));
    }
    if (!isPlayable(m)) return null;
    if (m.kind === "video") {
      const poster = byName(m.renditions).poster;
      const stage = current
        ? h("div", { class: "tm-stage", "data-slot": "screen" })
        : h(
            "div",
            { class: "tm-stage" },
            poster ? h("img", { class: "tm-poster", src: poster.url, alt: "", loading: "lazy" }) : null,
            playButton(m, " tm-play-over"),
            m.duration ? h("span", { class: "tm-duration tm-duration-over" }, clock(m.duration)) : null,
          );
      return [
        stage,
        current
          ? h("div", { class: "tm-voice tm-voice-video" }, playButton(m), h("div", { class: "tm-wave-slot", "data-slot": "wave" }))
          : null,
      ];
    }
    loadPeaks(m);
    return h(
      "div",
      { class: "tm-voice" },
      playButton(m),
      current ? h("div", { class: "tm-wave-slot", "data-slot": "wave" }) : staticWave(m),
      m.duration ? h("span", { class: "tm-duration" }, clock(m.duration)) : null,
    );
  }

  // The first lines of what was said, as chat apps show it; the whole text on request.
  // While the message is being played, the transcript that follows along takes its place.
  function transcript(m) {
    if (state.current === m.id && isPlayable(m)) return h("div", { class: "tm-transcript-slot", "data-slot": "transcript" });
    const kind = transcriptState(m);
    if (kind === "none" || kind === "no_sound") return null;
    if (kind !== "done") return h("p", { class: `tm-transcript-note tm-transcript-${kind}` }, t[TRANSCRIPT_NOTES[kind]]);
    const text = (m.transcript.text || "").trim();
    if (!text) return null;
    const open = expanded.has(m.id);
    const id = `mx-${m.id}`;
    const toggle = () => {
      if (expanded.has(m.id)) expanded.delete(m.id);
      else expanded.add(m.id);
      render(messages, state);
    };
    return h(
      "div",
      { class: "tm-transcript-box" },
      h(
        "p",
        { class: `tm-transcript${open ? " tm-transcript-open" : ""}`, id, lang: m.transcript.language || null },
        h("span", { class: "visually-hidden" }, `${t.transcript}: `),
        text,
      ),
      h(
        "button",
        {
          type: "button",
          class: "tm-more",
          "aria-expanded": open ? "true" : "false",
          "aria-controls": id,
          "data-focus": "more",
          onclick: toggle,
        },
        open ? t.show_less : t.show_more,
      ),
    );
  }

  // "Show more" only where the clamped text really is cut off at this width.
  function trimToggles() {
    for (const box of root.querySelectorAll(".tm-transcript-box")) {
      const text = box.querySelector(".tm-transcript:not(.tm-transcript-open)");
      const more = box.querySelector(".tm-more");
      if (text && more) more.hidden = text.scrollHeight <= text.clientHeight + 1;
    }
  }

  // Existing reactions as chips (emoji and count, pressed when one is mine), reactions at a
  // moment as "👍 0:42" chips that play from there.
  function chips(m) {
    const plain = new Map();
    const moments = [];
    for (const r of m.reactions || []) {
      if (r.at != null) moments.push(r);
      else {
        const entry = plain.get(r.emoji) || { count: 0, mine: null, names: [] };
        entry.count += 1;
        entry.names.push(r.mine ? t.you : r.user?.name || t.guest);
        if (r.mine) entry.mine = r;
        plain.set(r.emoji, entry);
      }
    }
    // The name starts with what the chip shows (🎉 2), then who: "🎉 2, Sanne, You".
    const out = [...plain].map(([emoji, { count, mine, names }]) => {
      const body = [
        h("span", { class: "tm-emoji-text" }, emoji),
        h("span", { class: "tm-count" }, String(count)),
        h("span", { class: "visually-hidden" }, `, ${names.join(", ")}`),
      ];
      if (!canReact) return h("span", { class: "tm-chip", title: names.join(", ") }, ...body);
      return h(
        "button",
        {
          type: "button",
          class: "tm-chip",
          "aria-pressed": mine ? "true" : "false",
          title: mine ? names.join(", ") : fill(t.react_with, { emoji }),
          "data-focus": `chip-${emoji}`,
          onclick: () => (mine ? actions.unreact(m, mine) : actions.react(m, emoji, null)),
        },
        ...body,
      );
    });
    for (const r of moments.sort((a, b) => a.at - b.at)) {
      const who = r.mine ? t.you : r.user?.name || t.guest;
      out.push(
        h(
          "button",
          {
            type: "button",
            class: `tm-chip tm-moment${r.mine ? " tm-moment-mine" : ""}`,
            "data-focus": `moment-${r.id}`,
            "aria-pressed": r.mine && canReact ? "true" : null,
            title:
              r.mine && canReact
                ? fill(t.remove_reaction, { emoji: r.emoji, time: clock(r.at) })
                : fill(t.reaction_at, { emoji: r.emoji, name: who, time: clock(r.at) }),
            onclick: () => (r.mine && canReact ? actions.unreact(m, r) : actions.playAt(m, r.at)),
          },
          `${r.emoji} ${clock(r.at)}`,
          h("span", { class: "visually-hidden" }, `, ${who}`),
        ),
      );
    }
    return out;
  }

  // The one "add a reaction" button and its small picker; while this message plays, the
  // picker can place the reaction at the moment being heard.
  function picker(m) {
    if (!canReact || m.status === "failed") return null;
    const open = state.picker === m.id;
    const id = `mp-${m.id}`;
    const toggle = h(
      "button",
      {
        type: "button",
        class: "tm-tool tm-add-react",
        "aria-label": t.add_reaction,
        title: t.add_reaction,
        "aria-expanded": open ? "true" : "false",
        "aria-controls": id,
        "data-focus": "picker",
        onclick: () => set({ picker: open ? null : m.id, menu: null, confirming: null }),
      },
      icon("smile", 20),
    );
    if (!open) return h("div", { class: "tm-pop" }, toggle);
    const at = state.current === m.id && isPlayable(m) ? actions.position() : null;
    const moment = at !== null && at > 0 ? h("input", { type: "checkbox", id: `${id}-at`, checked: true }) : null;
    return h(
      "div",
      { class: "tm-pop" },
      toggle,
      h(
        "div",
        { class: "tm-picker", id, role: "group", "aria-label": t.reactions },
        h(
          "div",
          { class: "tm-picker-row" },
          ...EMOJIS.map((emoji) =>
            h(
              "button",
              {
                type: "button",
                class: "tm-emoji",
                "aria-label": fill(t.react_with, { emoji }),
                "data-focus": "picker-emoji",
                onclick: () => {
                  set({ picker: null });
                  actions.react(m, emoji, moment?.checked ? Math.round(at * 10) / 10 : null);
                },
              },
              emoji,
            ),
          ),
        ),
        moment ? h("label", { class: "tm-picker-at", for: moment.id, "data-focus": "picker-at" }, moment, " ", fill(t.react_at_time, { time: clock(at) })) : null,
      ),
    );
  }

  // "…": share this message (for those who may share) and delete my own, after a question.
  function menu(m) {
    const share = canShare && m.status !== "failed";
    const remove = Boolean(m.urls?.delete);
    if (!share && !remove) return null;
    const open = state.menu === m.id;
    const id = `mm-${m.id}`;
    const toggle = h(
      "button",
      {
        type: "button",
        class: "tm-tool tm-menu-button",
        "aria-label": t.message_menu,
        title: t.message_menu,
        "aria-expanded": open ? "true" : "false",
        "aria-controls": id,
        "data-focus": "menu",
        onclick: () => set({ menu: open ? null : m.id, picker: null, confirming: null }),
      },
      icon("more", 20),
    );
    if (!open) return h("div", { class: "tm-pop" }, toggle);
    const confirming = state.confirming === m.id;
    const items = confirming
      ? [
          h("p", { class: "tm-confirm", id: `${id}-q` }, t.delete_confirm),
          h(
            "div",
            { class: "tm-confirm-row" },
            h(
              "button",
              {
                type: "button",
                class: "button button-quiet",
                "data-focus": "cancel",
                onclick: () => set({ confirming: null, menu: null }),
              },
              t.delete_no,
            ),
            h(
              "button",
              {
                type: "button",
                class: "button button-quiet button-danger tm-delete-yes",
                "aria-describedby": `${id}-q`,
                "data-focus": "delete-yes",
                onclick: () => {
                  set({ confirming: null, menu: null });
                  actions.remove(m);
                },
              },
              t.delete,
            ),
          ),
        ]
      : [
          share
            ? h(
                "button",
                {
                  type: "button",
                  class: "tm-menu-item tm-share",
                  "data-focus": "share",
                  onclick: () => {
                    set({ menu: null });
                    actions.share(m);
                  },
                },
                icon("share", 20),
                t.share_message,
              )
            : null,
          remove
            ? h(
                "button",
                {
                  type: "button",
                  class: "tm-menu-item tm-delete",
                  "data-focus": "delete",
                  onclick: () => set({ confirming: m.id }),
                },
                icon("trash", 20),
                t.delete_message,
              )
            : null,
        ];
    return h("div", { class: "tm-pop" }, toggle, h("div", { class: "tm-menu", id }, ...items));
  }

  // For the author: who heard it and how far, and how many listened through a link unnamed.
  function seenBy(m) {
    if (!m.mine || m.kind === "text" || m.status !== "ready") return null;
    const names = (m.seen_by || []).map((p) =>
      p.heard ? p.name : fill(t.seen_entry, { name: p.name, percent: percent(p.position, m.duration, p.heard) }),
    );
    const count = m.anonymous_listeners?.count || 0;
    if (count) names.push(count === 1 ? t.seen_link_one : fill(t.seen_link_many, { count }));
    if (!names.length) return h("p", { class: "tm-seen" }, t.not_seen);
    const words = m.kind === "video" ? t.seen_by : t.heard_by;
    return h("p", { class: "tm-seen tm-seen-some" }, icon("heard", 16), fill(words, { names: names.join(", ") }));
  }

  function item(m) {
    const isCurrent = state.current === m.id;
    const title = titleOf(m, t);
    // A title is shown once: not when it is the thread's (the page's heading says it), nor
    // the "Untitled voice message" stand-in, which only screen readers need as a heading.
    const quiet = !m.title || m.title === threadTitle();
    const tools = [picker(m), menu(m)].filter(Boolean);
    const foot = [...chips(m), tools.length ? h("div", { class: "tm-tools" }, ...tools) : null].filter(Boolean);
    const node = h(
      "li",
      {
        class: `tm tm-${m.kind} ${m.mine ? "tm-mine" : "tm-theirs"}${isCurrent ? " tm-current" : ""}${state.target === m.id ? " tm-target" : ""}`,
        id: `m-${m.id}`,
        "data-id": m.id,
      },
      m.mine ? null : avatar(m.author?.name || t.guest, "tm-avatar avatar-small"),
      h(
        "div",
        { class: "tm-col" },
        h(
          "article",
          { class: "tm-bubble", "aria-current": isCurrent ? "true" : null },
          meta(m),
          m.kind === "text" ? null : h("h2", { class: `tm-title${quiet ? " visually-hidden" : ""}` }, title),
          media(m),
          m.body ? h("div", { class: "tm-body" }, m.body) : null,
          transcript(m),
          stamp(m),
        ),
        foot.length ? h("div", { class: "tm-foot" }, ...foot) : null,
        seenBy(m),
      ),
    );
    if (m.kind === "text" && !m.mine && !heard(m)) seen.observe(node);
    return node;
  }

  // The shared pieces go into the bubble being played, or back to where they wait.
  function placeSlots() {
    const host = state.current ? nodes.get(state.current)?.node : null;
    for (const [name, element] of Object.entries(slots.pieces)) {
      const slot = host?.querySelector(`[data-slot="${name}"]`);
      const target = slot || slots.park;
      if (element.parentElement !== target) target.append(element);
    }
  }

  // Play and pause change only the buttons, never the bubble (the media element lives there).
  function syncPlaying() {
    for (const [id, { node }] of nodes) {
      const m = messages.find((x) => x.id === id);
      for (const button of node.querySelectorAll(".tm-play")) {
        const playing = state.current === id && state.playing;
        button.setAttribute("aria-label", playing ? t.pause : fill(t.play_this, { title: titleOf(m, t) }));
        button.querySelector("use")?.setAttribute("href", playing ? "#i-pause" : "#i-play");
        button.classList.toggle("is-playing", playing);
      }
    }
  }

  function render(list, next = state) {
    messages = list;
    state = next;
    const active = document.activeElement;
    const focusedIn = active && root.contains(active) ? active.closest(".tm")?.dataset.id : null;
    const focusKey = focusedIn ? active.dataset.focus : null;
    const keep = new Set(list.map((m) => m.id));
    for (const [id, entry] of nodes) {
      if (!keep.has(id)) {
        entry.node.remove();
        nodes.delete(id);
      }
    }
    // The server-rendered (no-JS) items are replaced on first render.
    for (const child of [...root.children]) if (!child.dataset.id) child.remove();
    let cursor = root.firstElementChild;
    for (const m of list) {
      const parent = m.parent_id ? list.find((p) => p.id === m.parent_id) : null;
      const extra = [
        state.current === m.id,
        heard(m),
        expanded.has(m.id),
        state.menu === m.id,
        state.picker === m.id,
        state.confirming === m.id,
        state.target === m.id,
        threadTitle(),
        parent ? titleOf(parent, t) : "",
      ].join(":");
      const sig = signature(m, extra);
      let entry = nodes.get(m.id);
      if (!entry || entry.sig !== sig) {
        const fresh = item(m);
        if (entry) {
          if (cursor === entry.node) cursor = fresh;
          seen.unobserve(entry.node);
          entry.node.replaceWith(fresh);
        }
        entry = { node: fresh, sig };
        nodes.set(m.id, entry);
      }
      if (entry.node !== cursor) root.insertBefore(entry.node, cursor);
      else cursor = cursor.nextElementSibling;
    }
    placeSlots();
    syncPlaying();
    if (focusedIn && !root.contains(active)) {
      // A closed picker or menu gives the focus back to its button.
      const node = nodes.get(focusedIn)?.node;
      const again = node?.querySelector(`[data-focus="${focusKey}"]`);
      const opener = node?.querySelector(`[data-focus="${focusKey?.startsWith("picker") ? "picker" : "menu"}"]`);
      (again || opener || node?.querySelector("[data-focus]"))?.focus();
    }
    trimToggles();
    paintWaves();
  }

  // A tap outside an open picker or menu closes it, and so does Escape (focus goes back).
  document.addEventListener("click", (event) => {
    if (!state.menu && !state.picker) return;
    if (event.target.closest?.(".tm-pop")) return;
    set({ menu: null, picker: null, confirming: null });
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || (!state.menu && !state.picker)) return;
    const id = state.menu || state.picker;
    const key = state.menu ? "menu" : "picker";
    set({ menu: null, picker: null, confirming: null });
    nodes.get(id)?.node.querySelector(`[data-focus="${key}"]`)?.focus();
  });
  new ResizeObserver(() => paintWaves()).observe(root);

  return {
    render,
    refresh: () => render(messages, state),
    setState: (next) => {
      const only = Object.keys(next).every((k) => k === "playing");
      state = { ...state, ...next };
      if (only) syncPlaying();
      else render(messages, state);
    },
    node: (id) => nodes.get(id)?.node || null,
    byName,
  };
}
