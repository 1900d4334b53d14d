// Page behaviour for Relay: swap in the player when processing ends, copy share links.
// Every word shown to people comes from the page (data attributes and <template>s).

const FIRST_DELAY_MS = 2000;
const MAX_DELAY_MS = 10000;
const BACKOFF = 1.5;
const WAITING = new Set(["uploading", "processing"]);

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function whenVisible() {
  if (!document.hidden) return Promise.resolve();
  return new Promise((resolve) => {
    const onChange = () => {
      if (!document.hidden) {
        document.removeEventListener("visibilitychange", onChange);
        resolve();
      }
    };
    document.addEventListener("visibilitychange", onChange);
  });
}

function fromTemplate(player, name) {
  const template = player.querySelector(`template[data-template="${name}"]`);
  return template ? template.content.cloneNode(true) : document.createDocumentFragment();
}

function templateText(player, name) {
  const template = player.querySelector(`template[data-template="${name}"]`);
  return template ? template.content.textContent.trim() : "";
}

function replaceContent(player, node) {
  for (const child of [...player.children]) {
    if (child.tagName !== "TEMPLATE") child.remove();
  }
  player.prepend(node);
}

function byName(renditions) {
  const found = {};
  for (const r of renditions || []) found[r.name] = r;
  return found;
}

function mediaElement(message) {
  const media = byName(message.renditions);
  if (media.video) {
    const video = document.createElement("video");
    video.className = "media";
    video.controls = true;
    video.playsInline = true; // keeps iOS from going full screen
    video.setAttribute("playsinline", "");
    video.preload = "metadata";
    if (media.poster) video.poster = media.poster.url;
    video.src = media.video.url;
    return video;
  }
  if (media.audio) {
    const audio = document.createElement("audio");
    audio.className = "media";
    audio.controls = true;
    audio.preload = "metadata";
    audio.src = media.audio.url;
    return audio;
  }
  return null;
}

function showError(player, name, text) {
  const fragment = fromTemplate(player, name);
  const slot = fragment.querySelector('[data-slot="error"]');
  if (slot && text) slot.textContent = text;
  else if (slot && !slot.textContent.trim()) slot.textContent = templateText(player, "unknown-error");
  replaceContent(player, fragment);
}

function updateBadges(scope, status) {
  for (const badge of scope.querySelectorAll("[data-status-badge]")) {
    const key = "label" + status.charAt(0).toUpperCase() + status.slice(1);
    const label = badge.dataset[key];
    if (!label) continue;
    badge.textContent = label;
    badge.className = `badge badge-${status}`;
  }
}

function render(player, message) {
  player.dataset.status = message.status;
  updateBadges(player.closest("article") || document, message.status);
  if (message.status === "ready") {
    const element = mediaElement(message);
    replaceContent(player, element || fromTemplate(player, "empty"));
  } else if (message.status === "failed") {
    showError(player, "failed", message.error);
  }
}

async function poll(player) {
  const url = player.dataset.statusUrl;
  let delay = FIRST_DELAY_MS;
  for (;;) {
    await sleep(delay);
    await whenVisible();
    delay = Math.min(delay * BACKOFF, MAX_DELAY_MS);
    let response;
    try {
      response = await fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch {
      continue; // offline for a moment: try again later
    }
    if (response.status === 404 || response.status === 410) {
      const body = await response.json().catch(() => ({}));
      showError(player, "gone", body.detail);
      return;
    }
    if (response.status === 401 || response.status === 403) return; // signed out meanwhile
    if (!response.ok) continue;
    const message = await response.json().catch(() => null);
    if (!message || WAITING.has(message.status)) continue;
    render(player, message);
    return;
  }
}

async function copy(button) {
  const input = document.getElementById(button.dataset.copy);
  const status = button.closest(".share")?.querySelector("[data-copy-status]");
  if (!input) return;
  let ok = false;
  try {
    await navigator.clipboard.writeText(input.value);
    ok = true;
  } catch {
    input.select(); // let people copy by hand
  }
  if (status) status.textContent = ok ? status.dataset.copied : status.dataset.failed;
}

// A search hit links to "/m/<id>#t=<seconds>": start the recording at that moment.
function seekFromHash(player) {
  const match = /^#t=(\d+(?:\.\d+)?)$/.exec(window.location.hash);
  const media = player.querySelector("video, audio");
  if (!match || !media) return;
  const seek = () => {
    media.currentTime = Number(match[1]);
  };
  if (media.readyState >= 1) seek();
  else media.addEventListener("loadedmetadata", seek, { once: true });
}

for (const player of document.querySelectorAll("[data-player]")) {
  if (WAITING.has(player.dataset.status) && player.dataset.statusUrl) poll(player);
  else seekFromHash(player);
}

for (const button of document.querySelectorAll("[data-copy]")) {
  button.addEventListener("click", () => copy(button));
}

for (const input of document.querySelectorAll("[data-share-input]")) {
  input.addEventListener("focus", () => input.select());
}
