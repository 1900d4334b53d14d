// Pure helpers for the thread page: no DOM, no network, so they are easy to reason about.

import { clock } from "./format.js";

export { clock };

export const EMOJIS = ["👍", "❤️", "😂", "🎉", "👀", "🙏"];
export const SPEEDS = [1, 1.5, 2];
const HEARD_SHARE = 0.9;

// "Seen by {names}" + {names: "…"}; unknown placeholders stay visible rather than vanish.
export function fill(template, values = {}) {
  return String(template ?? "").replace(/\{(\w+)\}/g, (whole, key) =>
    key in values ? String(values[key]) : whole,
  );
}

export function byName(renditions) {
  const found = {};
  for (const r of renditions || []) found[r.name] = r;
  return found;
}

// The rendition to play: the data-saver video only exists for long videos, so fall back.
export function sourceFor(message, saveData) {
  if (!message || message.kind === "text" || message.status !== "ready") return null;
  const r = byName(message.renditions);
  if (message.kind === "video") return (saveData && r.video_360) || r.video || r.audio || null;
  return r.audio || r.video || null;
}

export function isPlayable(message) {
  return sourceFor(message, false) !== null;
}

// The next (step 1) or previous (step -1) playable message; text messages are read, not played.
export function neighbour(messages, id, step) {
  const index = messages.findIndex((m) => m.id === id);
  if (index < 0) return step > 0 ? messages.find(isPlayable) || null : null;
  for (let i = index + step; i >= 0 && i < messages.length; i += step) {
    if (isPlayable(messages[i])) return messages[i];
  }
  return null;
}

// Where to jump when `t` is inside a silence longer than `minimum`; null to keep playing.
export function silenceSkip(silences, t, minimum = 1, lead = 0.25) {
  for (const s of silences || []) {
    if (s.end - s.start <= minimum) continue;
    if (t >= s.start && t < s.end - lead) return s.end - lead;
  }
  return null;
}

export function segmentAt(segments, t) {
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i];
    const end = s.end ?? segments[i + 1]?.start ?? Infinity;
    if (t >= s.start && t < end) return i;
  }
  return -1;
}

export function isHeard(position, duration) {
  return Number.isFinite(duration) && duration > 0 && position >= HEARD_SHARE * duration;
}

export function percent(position, duration, heard) {
  if (heard) return 100;
  if (!duration) return 0;
  return Math.max(0, Math.min(100, Math.round((100 * position) / duration)));
}

// `count` bars from many peaks, keeping each group's loudest so short words stay visible.
export function bars(peaks, count) {
  if (!peaks?.length || count <= 0) return new Array(Math.max(count, 0)).fill(0.08);
  const out = [];
  for (let i = 0; i < count; i++) {
    const from = Math.floor((i * peaks.length) / count);
    const to = Math.max(from + 1, Math.floor(((i + 1) * peaks.length) / count));
    let top = 0;
    for (let j = from; j < to && j < peaks.length; j++) top = Math.max(top, peaks[j] || 0);
    out.push(Math.max(0.08, Math.min(1, top)));
  }
  return out;
}

export function titleOf(message, t) {
  return message.title || t[`untitled_${message.kind}`] || t.untitled_audio;
}

export function authorOf(message, t) {
  return message.mine ? t.you : message.author?.name || t.guest;
}

// A fingerprint of what the list shows for a message, to re-render only what changed.
export function signature(message, extra = "") {
  return JSON.stringify([message, extra]);
}

// What a message's transcript shows: "done", "waiting" (pending or running: only while it
// is being made), "failed", "unavailable" (no model on the server), "no_sound" or "none".
export function transcriptState(message) {
  const status = message?.transcript?.status;
  if (!status || message.kind === "text") return "none";
  if (status === "pending" || status === "running") return "waiting";
  if (status === "unavailable") return byName(message.renditions).audio ? "unavailable" : "no_sound";
  return ["done", "failed"].includes(status) ? status : "none";
}

// The words of each state, and the author's way out of the two that can be fixed.
export const TRANSCRIPT_NOTES = {
  waiting: "transcript_waiting",
  failed: "transcript_failed",
  unavailable: "transcript_unavailable",
  no_sound: "transcript_no_sound",
  none: "transcript_none",
};
export const TRANSCRIPT_HINTS = { failed: "transcript_failed_hint", unavailable: "transcript_unavailable_hint" };
