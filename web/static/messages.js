// The message API as the recorder page uses it: JSON requests, a new message's body, and
// following a message from processing to ready.

import {
  T, csrf, el, inline, latestThread, parentId, root, setStatus, showError, sleep, urls,
} from "./page.js";

const POLL_FIRST_MS = 1000;
const POLL_MAX_MS = 5000;

export async function api(path, { method = "GET", json } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrf;
  if (json !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: json === undefined ? undefined : JSON.stringify(json),
    cache: "no-store",
  });
  if (!response.ok && response.status !== 404) {
    let detail = `HTTP ${response.status}`;
    try {
      detail = (await response.json()).detail || detail;
    } catch {}
    throw new Error(detail);
  }
  return response.status === 204 || response.status === 404 ? null : response.json();
}

export function newMessage(kind) {
  const body = { kind, title: el.title.value.trim() };
  if (parentId()) body.parent_id = parentId();
  return body;
}

// Shows a message's status; true once it is final (ready or failed).
function settled(current) {
  if (current?.status === "ready") {
    setStatus(T.status_ready);
    root.dataset.messageStatus = "ready";
    return true;
  }
  if (current?.status === "failed") {
    root.dataset.messageStatus = "failed";
    showError(T.err_processing);
    setStatus(T.status_failed);
    return true;
  }
  return false;
}

// Inline, the thread page already hears every status change live (it dispatches
// "relay:thread" with each fresh thread document): no polling of our own.
function followThread(message, alive) {
  const find = (thread) => thread?.messages?.find((m) => m.id === message.id);
  if (settled(find(latestThread()))) return Promise.resolve();
  return new Promise((resolve) => {
    const seen = (event) => {
      if (!alive() || settled(find(event.detail))) {
        document.removeEventListener("relay:thread", seen);
        resolve();
      }
    };
    document.addEventListener("relay:thread", seen);
  });
}

// Processing → ready without a refresh, for as long as alive() says the page still cares.
export async function follow(message, alive) {
  setStatus(T.status_processing);
  if (inline) return followThread(message, alive);
  let delay = POLL_FIRST_MS;
  while (alive()) {
    const current = await api(urls.message(message.id)).catch(() => null);
    if (!alive() || settled(current)) return;
    await sleep(delay);
    delay = Math.min(POLL_MAX_MS, delay * 1.5);
  }
}
