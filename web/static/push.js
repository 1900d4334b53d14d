// Web Push for this browser: register Relay's service worker (/sw.js, scope "/"), ask for
// permission, subscribe with the server's VAPID key and tell the server (or stop all that).
//
//   pushState()             -> "unsupported" | "denied" | "enabled" | "disabled"
//   enablePush({ csrf })    -> "enabled"; call it from a click: browsers ask for permission
//                              only during a user gesture
//   disablePush({ csrf })   -> "disabled"
//
// `csrf` defaults to the session's token in the page (the sign-out form's hidden field).
// Failures throw a PushError whose `reason` is "unsupported", "denied" or "failed".

import { ApiError, makeApi } from "./thread-api.js";

const WORKER = "/sw.js";

export class PushError extends Error {
  constructor(reason, detail, status = 0) {
    super(detail || reason);
    this.reason = reason;
    this.status = status;
  }
}

export function pushSupported() {
  return (
    "serviceWorker" in navigator &&
    "PushManager" in window &&
    "Notification" in window &&
    window.isSecureContext
  );
}

function pageCsrf() {
  const field = document.querySelector('input[name="csrf"]');
  return field ? field.value : "";
}

// One request through the pages' API client, its failures as a PushError.
async function send(method, url, body, csrf) {
  const api = makeApi(csrf || pageCsrf());
  try {
    if (method === "GET") return await api.get(url);
    return await (method === "POST" ? api.post(url, body) : api.del(url, body));
  } catch (error) {
    throw new PushError("failed", error.message, error instanceof ApiError ? error.status : 0);
  }
}

function keyBytes(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function sameKey(buffer, bytes) {
  if (!buffer) return false;
  const given = new Uint8Array(buffer);
  return given.length === bytes.length && given.every((b, i) => b === bytes[i]);
}

// The worker, registered once; resolves when it is active (subscribing needs an active one).
export async function registerWorker() {
  if (!("serviceWorker" in navigator)) throw new PushError("unsupported");
  await navigator.serviceWorker.register(WORKER, { scope: "/" });
  return navigator.serviceWorker.ready;
}

async function currentSubscription() {
  const registration = await navigator.serviceWorker.getRegistration("/");
  return registration ? registration.pushManager.getSubscription() : null;
}

export async function pushState() {
  if (!pushSupported()) return "unsupported";
  if (Notification.permission === "denied") return "denied";
  if (Notification.permission !== "granted") return "disabled";
  return (await currentSubscription()) ? "enabled" : "disabled";
}

export async function enablePush({ csrf } = {}) {
  if (!pushSupported()) throw new PushError("unsupported");
  const permission = await Notification.requestPermission();
  if (permission !== "granted") throw new PushError("denied");
  const registration = await registerWorker();
  const { key } = await send("GET", "/api/push/key", undefined, csrf);
  const applicationServerKey = keyBytes(key);
  let subscription = await registration.pushManager.getSubscription();
  // Made with another server key (the server's key was replaced): it would never get a push.
  if (subscription && !sameKey(subscription.options.applicationServerKey, applicationServerKey)) {
    await subscription.unsubscribe();
    subscription = null;
  }
  if (!subscription) {
    try {
      subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey,
      });
    } catch (error) {
      const denied = error && error.name === "NotAllowedError";
      throw new PushError(denied ? "denied" : "failed", error && error.message);
    }
  }
  await send("POST", "/api/push/subscriptions", subscription.toJSON(), csrf);
  return "enabled";
}

export async function disablePush({ csrf } = {}) {
  if (!pushSupported()) return "disabled";
  const subscription = await currentSubscription();
  if (!subscription) return "disabled";
  const { endpoint } = subscription;
  await subscription.unsubscribe();
  await send("DELETE", "/api/push/subscriptions", { endpoint }, csrf);
  return "disabled";
}
