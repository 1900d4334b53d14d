// The message API as the recorder page uses it: JSON requests, a new message's body, and
// following a message from processing to ready.

import { T, csrf, el, parentId, root, say, setStatus, showError, sleep } from "./page.js";

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
  if (parentId) body.parent_id = parentId;
  return body;
}

// Processing → ready without a refresh, for as long as alive() says the page still cares.
export async function follow(message, alive) {
  setStatus(T.processing);
  let delay = POLL_FIRST_MS;
  while (alive()) {
    const current = await api(`/api/messages/${message.id}`).catch(() => null);
    if (!alive()) return;
    if (current?.status === "ready") {
      setStatus(T.ready);
      root.dataset.messageStatus = "ready";
      el.openLink.hidden = false;
      return;
    }
    if (current?.status === "failed") {
      root.dataset.messageStatus = "failed";
      showError(say(T.failed, { error: current.error || "" }));
      setStatus("");
      return;
    }
    if (current) setStatus(current.status === "uploading" ? T.processing : T.processing);
    await sleep(delay);
    delay = Math.min(POLL_MAX_MS, delay * 1.5);
  }
}
