// The message list: rendered from the thread document and updated in place, so new replies
// and status changes never disturb the player or the element that has focus.

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

const LONG_TRANSCRIPT = 100; // characters past which a card offers "Show more"

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

export function makeList({ root, t, lang, listen, actions, canReact }) {
  const nodes = new Map(); // id -> {node, sig}
  let messages = [];
  let state = { current: null, playing: false };
  const expanded = new Set(); // ids of cards whose whole transcript is shown
  const dateFormat = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });

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

  function when(value) {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? "" : dateFormat.format(date);
  }

  function meta(m) {
    const parent = m.parent_id ? messages.find((p) => p.id === m.parent_id) : null;
    return h(
      "p",
      { class: "tm-meta" },
      h("span", { class: "tm-author" }, authorOf(m, t)),
      m.author?.guest && !m.mine ? h("span", { class: "tm-guest" }, `(${t.guest})`) : null,
      m.created_at ? h("time", { datetime: m.created_at }, when(m.created_at)) : null,
      m.duration ? h("span", { class: "tm-duration" }, clock(m.duration)) : null,
      m.status !== "ready"
        ? h("span", { class: `badge badge-${m.status}` }, t[`status_${m.status}`] || m.status)
        : null,
      m.new && !m.mine && !heard(m) ? h("span", { class: "badge tm-new" }, t.new) : null,
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
    );
  }

  function body(m) {
    if (m.status === "failed") {
      return h("p", { class: "player-error" }, fill(t.failed_detail, { error: m.error || t.unknown_error }));
    }
    if (m.body) return h("div", { class: "tm-body" }, m.body);
    return null;
  }

  // The first lines of what was said, as chat apps show it; the whole text on request.
  function transcript(m) {
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
      text.length > LONG_TRANSCRIPT
        ? h(
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
          )
        : null,
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

  function reactions(m) {
    const plain = new Map(EMOJIS.map((e) => [e, { count: 0, mine: null }]));
    const moments = [];
    for (const r of m.reactions || []) {
      if (r.at != null) moments.push(r);
      else if (plain.has(r.emoji)) {
        const entry = plain.get(r.emoji);
        entry.count += 1;
        if (r.mine) entry.mine = r;
      }
    }
    if (!canReact) {
      // Read-only: only the reactions that exist, as text.
      const shown = [...plain].filter(([, e]) => e.count);
      const summary = shown.map(([emoji, e]) => `${emoji} ${e.count}`).join("  ");
      const times = moments.map((r) => fill(t.reaction_at, { emoji: r.emoji, name: r.user?.name || "", time: clock(r.at) }));
      const text = [summary, ...times].filter(Boolean).join(" · ");
      return text ? h("p", { class: "tm-reaction-summary" }, text) : null;
    }
    const row = h(
      "div",
      { class: "tm-reactions", role: "group", "aria-label": t.reactions },
      ...[...plain].map(([emoji, { count, mine }]) =>
        h(
          "button",
          {
            type: "button",
            class: "tm-react",
            "aria-pressed": mine ? "true" : "false",
            "aria-label": fill(t.react_with, { emoji }) + (count ? ` (${count})` : ""),
            "data-focus": `react-${emoji}`,
            onclick: () => (mine ? actions.unreact(m, mine) : actions.react(m, emoji, null)),
          },
          h("span", { "aria-hidden": "true" }, emoji),
          count ? h("span", { class: "tm-count", "aria-hidden": "true" }, String(count)) : null,
        ),
      ),
    );
    const chips = moments
      .sort((a, b) => a.at - b.at)
      .map((r) =>
        h(
          "button",
          {
            type: "button",
            class: `tm-moment${r.mine ? " tm-moment-mine" : ""}`,
            "data-focus": `moment-${r.id}`,
            "aria-label": r.mine
              ? fill(t.remove_reaction, { emoji: r.emoji, time: clock(r.at) })
              : fill(t.reaction_at, { emoji: r.emoji, name: r.user?.name || "", time: clock(r.at) }),
            onclick: () => (r.mine ? actions.unreact(m, r) : actions.playAt(m, r.at)),
          },
          `${r.emoji} ${clock(r.at)}`,
        ),
      );
    return [row, chips.length ? h("div", { class: "tm-moments" }, ...chips) : null];
  }

  // Named listeners with how far they got, then those who played it through a link
  // without giving a name, counted: "Seen by Ann (100%), 2 people with the link".
  function seenBy(m) {
    if (!m.mine || m.kind === "text") return null;
    const names = (m.seen_by || []).map((p) =>
      fill(t.seen_entry, { name: p.name, percent: percent(p.position, m.duration, p.heard) }),
    );
    const count = m.anonymous_listeners?.count || 0;
    if (count) names.push(count === 1 ? t.seen_link_one : fill(t.seen_link_many, { count }));
    if (!names.length) return h("p", { class: "tm-seen" }, t.not_seen);
    return h("p", { class: "tm-seen" }, fill(t.seen_by, { names: names.join(", ") }));
  }

  function item(m) {
    const title = titleOf(m, t);
    const isCurrent = state.current === m.id;
    const playing = isCurrent && state.playing;
    const titleId = `mt-${m.id}`;
    const playButton = isPlayable(m)
      ? h(
          "button",
          {
            type: "button",
            class: "button tm-play",
            "aria-describedby": titleId,
            "data-focus": "play",
            onclick: () => actions.toggle(m),
          },
          playing ? t.pause : t.play,
        )
      : null;
    const remove = m.urls?.delete
      ? h(
          "button",
          {
            type: "button",
            class: "button button-quiet tm-delete",
            "aria-label": fill(t.delete_label, { title }),
            "data-focus": "delete",
            onclick: () => actions.remove(m),
          },
          t.delete,
        )
      : null;
    const node = h(
      "li",
      { class: `tm tm-${m.kind}${isCurrent ? " tm-current" : ""}`, id: `m-${m.id}`, "data-id": m.id },
      h(
        "article",
        { class: "tm-card", "aria-current": isCurrent ? "true" : null },
        h("div", { class: "tm-head" }, h("h2", { class: "tm-title", id: titleId }, title), playButton),
        meta(m),
        body(m),
        transcript(m),
        reactions(m),
        seenBy(m),
        remove,
      ),
    );
    if (m.kind === "text" && !m.mine && !heard(m)) seen.observe(node);
    return node;
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
      const extra = `${state.current === m.id}:${state.playing}:${heard(m)}:${messages.length}:${expanded.has(m.id)}`;
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
    if (focusedIn && !root.contains(active)) {
      const again = nodes.get(focusedIn)?.node.querySelector(`[data-focus="${focusKey}"]`);
      again?.focus();
    }
    trimToggles();
  }

  return {
    render,
    refresh: () => render(messages, state),
    setState: (next) => render(messages, { ...state, ...next }),
    node: (id) => nodes.get(id)?.node || null,
    byName,
  };
}
