// The listener's own progress per message: the furthest position reached and whether it
// counts as heard. Only changes are sent, so pauses and page exits cost one small PUT.

import { isHeard } from "./thread-format.js";

export function makeListen(api, onHeard) {
  const state = new Map(); // id -> {url, position, heard, sentPosition, sentHeard}

  function entry(message) {
    let e = state.get(message.id);
    const server = message.listen || { position: 0, heard: false };
    if (!e) {
      e = {
        url: null,
        position: server.position,
        heard: server.heard,
        sentPosition: server.position,
        sentHeard: server.heard,
      };
      state.set(message.id, e);
    }
    e.url = message.urls?.listen || null;
    // Another device of the same listener may have gone further.
    e.position = Math.max(e.position, server.position || 0);
    e.heard = e.heard || server.heard;
    return e;
  }

  function sync(messages) {
    for (const m of messages) if (!m.mine) entry(m);
  }

  function progress(id, position, duration) {
    const e = state.get(id);
    if (!e) return;
    e.position = Math.max(e.position, position);
    if (!e.heard && isHeard(e.position, duration)) {
      e.heard = true;
      onHeard(id);
    }
  }

  function heard(id) {
    const e = state.get(id);
    if (!e || e.heard) return;
    e.heard = true;
    onHeard(id);
  }

  async function flush(id, keepalive = false) {
    const e = state.get(id);
    if (!e?.url) return;
    if (e.position <= e.sentPosition + 0.5 && e.heard === e.sentHeard) return;
    const body = { position: Math.round(e.position * 10) / 10, heard: e.heard };
    e.sentPosition = e.position;
    e.sentHeard = e.heard;
    try {
      await api.put(e.url, body, { keepalive });
    } catch {
      e.sentHeard = false; // try again with the next flush
      e.sentPosition = 0;
    }
  }

  function flushAll(keepalive = false) {
    for (const id of state.keys()) flush(id, keepalive);
  }

  return {
    sync,
    progress,
    heard,
    flush,
    flushAll,
    get: (id) => state.get(id) || null,
  };
}
