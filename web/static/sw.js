// Relay's service worker: shows a Web Push as a notification and opens its thread when the
// notification is clicked. Served at /sw.js so that its scope is the whole site. It caches
// nothing: pages stay the server's.
//
// A push's data is JSON from relay/notify/push.py: { title, body, tag, url, lang }. The tag is
// the notification batch's id, so a push sent twice replaces the first notification.

"use strict";

const ICON = "/static/icon-192.png";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

// Only a path on this site: a link never leaves Relay, whatever the server's public URL is.
function threadUrl(value) {
  try {
    const url = new URL(value || "/", self.location.origin);
    return new URL(url.pathname + url.search + url.hash, self.location.origin).href;
  } catch {
    return new URL("/", self.location.origin).href;
  }
}

function readPush(data) {
  if (!data) return {};
  try {
    return data.json() || {};
  } catch {
    return { body: data.text() };
  }
}

self.addEventListener("push", (event) => {
  const push = readPush(event.data);
  const options = {
    body: push.body || "",
    icon: ICON,
    data: { url: threadUrl(push.url) },
  };
  if (push.tag) options.tag = push.tag;
  if (push.lang) options.lang = push.lang;
  event.waitUntil(self.registration.showNotification(push.title || "Relay", options));
});

// A window already on that thread is brought forward (and moved to the message); otherwise
// a new one opens. Other windows are left alone: one may be in the middle of a recording.
async function openThread(value) {
  const target = new URL(threadUrl(value));
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const open = windows.find((client) => new URL(client.url).pathname === target.pathname);
  if (!open) return self.clients.openWindow(target.href);
  let client = open;
  if (open.url !== target.href && "navigate" in open) {
    try {
      client = (await open.navigate(target.href)) || open;
    } catch {
      // An uncontrolled window cannot be navigated; focusing it is the next best thing.
    }
  }
  return client.focus();
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(openThread(event.notification.data && event.notification.data.url));
});
