// The transcript panel of the message that is playing: segments as buttons that seek, with
// the one being spoken marked aria-current so both eyes and screen readers can follow; what
// state the transcript is in when there is none yet; and, for the author, the language it is
// made in and a way to make it again.

import { clock, fill, segmentAt, TRANSCRIPT_HINTS, TRANSCRIPT_NOTES, transcriptState } from "./thread-format.js";

export function makeTranscript({ els, api, t, onSeek, onLanguage }) {
  const { panel, note, hint, retry, tools, language, list } = els;
  let segments = [];
  let current = -1;
  let message = null;
  let loadedFor = null; // what was shown last, so a refetch only happens when something changed

  function show(text, state = "") {
    note.textContent = text;
    note.hidden = !text;
    note.dataset.state = state;
  }

  function render() {
    current = -1;
    list.replaceChildren(
      ...segments.map((s, i) => {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "tp-segment";
        button.dataset.index = String(i);
        const time = document.createElement("span");
        time.className = "tp-segment-time";
        time.textContent = clock(s.start);
        const words = document.createElement("span");
        words.textContent = s.text;
        button.append(time, " ", words);
        button.setAttribute("aria-label", fill(t.jump_to, { time: clock(s.start), text: s.text }));
        button.addEventListener("click", () => onSeek(s.start));
        item.append(button);
        return item;
      }),
    );
  }

  // The author's controls: the spoken language (Auto / English / Nederlands), and "again".
  function authorTools(state) {
    const mine = Boolean(message?.urls?.language);
    tools.hidden = !mine || state === "none" || state === "no_sound";
    const hintKey = TRANSCRIPT_HINTS[state];
    hint.hidden = !mine || !hintKey;
    // The author also reads why it failed (the server's reason names the fix, e.g. a model
    // that only knows English), unless it is the plain sentence the note already says.
    const reason = state === "failed" ? message?.transcript?.error : null;
    const why = reason && reason !== t.transcript_failed ? `${reason} ` : "";
    hint.textContent = mine && hintKey ? why + t[hintKey] : "";
    retry.hidden = hint.hidden;
    if (!mine) return;
    const value = message.language || "";
    if (![...language.options].some((o) => o.value === value)) language.add(new Option(value, value));
    language.value = value;
    language.disabled = false;
  }

  async function load(next) {
    message = next || null;
    const state = message ? transcriptState(message) : "idle";
    const key = JSON.stringify([message?.id, state, message?.language, message?.transcript?.text]);
    authorTools(state);
    if (key === loadedFor) return;
    loadedFor = key;
    segments = [];
    render();
    if (!message) return show(t.transcript_idle);
    if (state !== "done" || !message.urls?.transcript) return show(t[TRANSCRIPT_NOTES[state]], state);
    const data = await api.get(message.urls.transcript).catch(() => null);
    if (loadedFor !== key) return; // another message started meanwhile
    if (!data) {
      loadedFor = null;
      return show(t.transcript_failed, "failed");
    }
    segments = (data.segments || []).filter((s) => s.text?.trim());
    show(segments.length ? "" : t.transcript_empty);
    render();
  }

  // Keep the spoken segment in view inside the panel without scrolling the whole page.
  function reveal(button) {
    if (!panel.open) return;
    const top = button.offsetTop - list.offsetTop;
    if (top < list.scrollTop || top + button.offsetHeight > list.scrollTop + list.clientHeight) {
      list.scrollTop = Math.max(0, top - list.clientHeight / 3);
    }
  }

  function tick(time) {
    const index = segmentAt(segments, time);
    if (index === current) return;
    const buttons = list.querySelectorAll(".tp-segment");
    buttons[current]?.removeAttribute("aria-current");
    current = index;
    if (index >= 0 && buttons[index]) {
      buttons[index].setAttribute("aria-current", "true");
      reveal(buttons[index]);
    }
  }

  language.addEventListener("change", () => {
    if (!message) return;
    language.disabled = true; // until the thread comes back with the new state
    onLanguage(message, language.value || null);
  });
  retry.addEventListener("click", () => message && onLanguage(message, message.language || null));

  return { load, tick, reset: () => (loadedFor = null) };
}
