// How every page writes durations, moments and people: one set of rules, the same as the
// server's relay/humanize.py (the text a page has before its script runs).

const PARTICLES = new Set(["de", "der", "den", "van", "het", "ten", "ter", "te", "op", "in", "'t"]);
export const AVATAR_COLOURS = 8; // .avatar-0 … .avatar-7 in app.css
const MINUTE = 60;
const HOUR = 3600;
const DAY = 86400;

// Seconds as m:ss or h:mm:ss, whole seconds down: a position never passes its duration.
export function clock(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) seconds = 0;
  const total = Math.floor(seconds);
  const h = Math.floor(total / HOUR);
  const m = Math.floor((total % HOUR) / MINUTE);
  const s = String(total % MINUTE).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

// English dates the way the Dutch organisations that use Relay write them: 7 Dec, 09:31.
export function locale(lang) {
  return lang === "en" ? "en-GB" : lang;
}

function dayNumber(date) {
  return Math.floor((date.getTime() - date.getTimezoneOffset() * 60_000) / (DAY * 1000));
}

// "just now", "5 minutes ago", "yesterday", "3 days ago", then "7 Dec" or "7 Dec 2025".
export function relative(value, lang, now = new Date()) {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return "";
  const seconds = Math.max(0, (now - date) / 1000);
  const words = new Intl.RelativeTimeFormat(locale(lang), { numeric: "auto" });
  if (seconds < 45) return words.format(0, "second");
  if (seconds < HOUR) return words.format(-Math.max(1, Math.round(seconds / MINUTE)), "minute");
  const days = dayNumber(now) - dayNumber(date);
  if (days === 0) return words.format(-Math.floor(seconds / HOUR), "hour");
  if (days < 7) return words.format(-days, "day");
  const year = date.getFullYear() === now.getFullYear() ? undefined : "numeric";
  return new Intl.DateTimeFormat(locale(lang), { day: "numeric", month: "short", year }).format(date);
}

// For lists, as a messenger writes them: "09:31" today, then "yesterday", a weekday within
// the week ("Mon"), then "7 Dec" or "7 Dec 2025".
export function short(value, lang, now = new Date()) {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return "";
  const days = dayNumber(now) - dayNumber(date);
  const where = locale(lang);
  if (days <= 0) return new Intl.DateTimeFormat(where, { hour: "2-digit", minute: "2-digit" }).format(date);
  if (days === 1) return new Intl.RelativeTimeFormat(where, { numeric: "auto" }).format(-1, "day");
  if (days < 7) return new Intl.DateTimeFormat(where, { weekday: "short" }).format(date);
  const year = date.getFullYear() === now.getFullYear() ? undefined : "numeric";
  return new Intl.DateTimeFormat(where, { day: "numeric", month: "short", year }).format(date);
}

// The whole moment, for a tooltip: "7 Dec 2026, 09:31".
export function fullDate(value, lang) {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(locale(lang), { dateStyle: "medium", timeStyle: "short" }).format(date);
}

// Every <time data-relative> under `root` in the reader's language and time zone, kept fresh;
// data-relative="short" writes it the way lists do.
export function liveTimes(root, lang) {
  const update = () => {
    for (const node of root.querySelectorAll("time[data-relative]")) {
      const value = node.getAttribute("datetime");
      const write = node.dataset.relative === "short" ? short : relative;
      node.textContent = write(value, lang);
      node.title = fullDate(value, lang);
    }
  };
  update();
  return setInterval(update, 30_000);
}

function letters(word) {
  return [...word].filter((c) => /\p{L}|\p{N}/u.test(c)).join("");
}

// "Anna de Vries" → "AV", "sanne" → "S", "Joost (agency)" → "JA".
export function initials(name) {
  const words = String(name || "").split(/\s+/).map(letters).filter(Boolean);
  const main = words.filter((w, i) => i === 0 || !PARTICLES.has(w.toLowerCase()));
  if (!main.length) return "?";
  const first = [...main[0]][0];
  const last = main.length > 1 ? [...main[main.length - 1]][0] : "";
  return (first + last).toUpperCase();
}

// The same colour for the same name on every page and on the server.
export function avatarColour(name) {
  let hash = 0;
  for (const c of String(name || "")) hash = (hash * 31 + c.codePointAt(0)) >>> 0;
  return hash % AVATAR_COLOURS;
}

// <span class="avatar avatar-N" aria-hidden="true">AV</span>: the name is always written next to it.
export function avatar(name, extraClass = "") {
  const node = document.createElement("span");
  node.className = `avatar avatar-${avatarColour(name)} ${extraClass}`.trim();
  node.setAttribute("aria-hidden", "true");
  node.textContent = initials(name);
  return node;
}
