// The profile page's "Notifications on this device": push turned on and off per browser.

import { disablePush, enablePush, pushState, PushError } from "./push.js";

// Digest and focus hours are kept in the zone of the browser that saved them.
const zone = document.querySelector("[data-time-zone]");
if (zone) zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || zone.value;

const box = document.querySelector("[data-push]");
if (box) {
  const state = box.querySelector("[data-push-state]");
  const toggle = box.querySelector("[data-push-toggle]");
  const words = box.dataset;
  let current = "disabled";

  function show(value, note = "") {
    current = value;
    state.textContent = note || words[value] || "";
    toggle.hidden = value === "unsupported" || value === "denied";
    toggle.textContent = value === "enabled" ? words.disable : words.enable;
  }

  toggle.addEventListener("click", async () => {
    toggle.disabled = true;
    try {
      show(current === "enabled" ? await disablePush() : await enablePush());
    } catch (error) {
      const reason = error instanceof PushError ? error.reason : "failed";
      show(reason === "denied" || reason === "unsupported" ? reason : current, words[reason] || words.failed);
    } finally {
      toggle.disabled = false;
    }
  });

  box.hidden = false;
  show(await pushState());
}
