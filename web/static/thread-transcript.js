// The transcript of the message that is playing: segments as buttons that seek, with the one
// being spoken marked aria-current so both eyes and screen readers can follow.

import { clock, fill, segmentAt } from "./thread-format.js";

export function makeTranscript({ panel, note, list, api, t, onSeek }) {
  let segments = [];
  let current = -1;
  let loadedFor = null; // "id:status", so a refetch only happens when something changed

  function show(text) {
    note.textContent = text;
    note.hidden = !text;
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

  async function load(message) {
    const status = message?.transcript?.status || "none";
    const key = `${message?.id}:${status}`;
    if (key === loadedFor) return;
    loadedFor = key;
    segments = [];
    render();
    if (!message || !message.transcript || !message.urls?.transcript) {
      show(t.transcript_none);
      return;
    }
    if (status === "failed") return show(t.transcript_failed);
    if (status !== "ready") return show(t.transcript_waiting);
    const data = await api.get(message.urls.transcript).catch(() => null);
    if (loadedFor !== key) return; // another message started meanwhile
    if (!data) {
      loadedFor = null;
      return show(t.transcript_failed);
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

  return { load, tick, reset: () => (loadedFor = null) };
}
