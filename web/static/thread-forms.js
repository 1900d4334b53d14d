// The thread page's two forms: a text reply, and the name a guest gives before replying.

import { fill } from "./thread-format.js";

const $ = (id) => document.getElementById(id);

export function forms(api, t, currentThread, refresh) {
  const reply = $("reply-form");
  if (reply) {
    reply.hidden = false;
    $("reply").hidden = false;
    const error = $("reply-error");
    const send = $("reply-send");
    const body = $("reply-body");
    // The field grows with what is typed, up to a few lines; Enter sends, Shift+Enter breaks.
    const grow = () => {
      body.style.height = "auto"; // CSSOM: allowed by the CSP
      body.style.height = `${Math.min(body.scrollHeight, 160)}px`;
    };
    body.addEventListener("input", grow);
    body.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && matchMedia("(pointer: fine)").matches) {
        event.preventDefault();
        reply.requestSubmit();
      }
    });
    reply.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = $("reply-body").value.trim();
      if (!text) return;
      send.disabled = true;
      send.setAttribute("aria-label", t.reply_sending);
      error.hidden = true;
      try {
        const last = currentThread().messages.at(-1);
        await api.post(reply.dataset.url, { kind: "text", body: text, parent_id: last?.id ?? null });
        $("reply-body").value = "";
        grow();
        await refresh();
      } catch (err) {
        error.textContent = fill(t.reply_failed, { error: err.message });
        error.hidden = false;
      } finally {
        send.disabled = false;
        send.setAttribute("aria-label", t.reply_send);
      }
    });
  }
  const guest = $("guest-form");
  if (guest) {
    guest.hidden = false;
    $("guest-name").hidden = false;
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
