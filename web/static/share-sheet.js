// The share sheet of the thread page: copy the thread's link (the phone's own share menu
// where there is one), make links with rights, expiry and a passcode, see who used each live
// link, and revoke one. It enhances the <dialog> of _share_sheet.html through the links API.

import { locale } from "./format.js";
import { makeApi, readJson } from "./thread-api.js";
import { fill } from "./thread-format.js";
import { h } from "./thread-list.js";

const COPIED_MS = 2000;
const SOON_MS = 2 * 86400 * 1000;
const $ = (id) => document.getElementById(id);

// Phones hand a link to the app it goes to; a desktop copies it.
function nativeShare() {
  return typeof navigator.share === "function" && window.matchMedia("(pointer: coarse)").matches;
}

function boot(dialog) {
  const thread = readJson("thread-data");
  const t = readJson("thread-strings") || {};
  const opener = $("share-open");
  if (!thread || !opener || typeof dialog.showModal !== "function") return;
  const lang = document.querySelector("[data-thread]")?.dataset.lang || "en";
  const api = makeApi(thread.csrf);
  const dates = new Intl.DateTimeFormat(locale(lang), { dateStyle: "medium", timeStyle: "short" });
  const days = new Intl.DateTimeFormat(locale(lang), { dateStyle: "medium" });
  const names = new Intl.ListFormat(lang, { style: "long", type: "conjunction" });
  const els = {
    main: $("ss-main"),
    url: $("ss-url"),
    copy: $("ss-copy"),
    none: $("ss-none"),
    status: $("ss-status"),
    loading: $("ss-loading"),
    list: $("ss-links"),
    details: $("ss-new"),
    form: $("ss-form"),
    create: $("ss-create"),
    error: $("ss-error"),
  };
  let links = [];
  let shown = null; // the link in the big field at the top
  let confirming = null; // the id of the link whose revoking asks for confirmation
  let statusTimer = null;
  let suffix = ""; // "#m-<id>" while the sheet shares one message: the link page opens at it
  let returnTo = opener;
  const heading = $("ss-heading");
  const urlOf = (link) => (link?.url ? link.url + suffix : "");

  function say(text) {
    clearTimeout(statusTimer);
    els.status.textContent = text;
    statusTimer = setTimeout(() => {
      els.status.textContent = "";
    }, 6000);
  }

  function nameOf(link) {
    return link.label || fill(t.link_untitled, { date: days.format(new Date(link.created_at)) });
  }

  function usedBy(link) {
    const used = link.used_by || { names: [], anonymous: 0 };
    const parts = [...used.names];
    if (used.anonymous === 1) parts.push(t.link_nameless_one);
    else if (used.anonymous > 1) parts.push(fill(t.link_nameless_many, { count: used.anonymous }));
    return parts.length ? fill(t.link_used_by, { names: names.format(parts) }) : t.link_unused;
  }

  function facts(link) {
    const ends = link.expires_at ? new Date(link.expires_at) : null;
    // The hour matters only for a link that ends within two days.
    const soon = ends && ends - Date.now() < SOON_MS;
    const expiry = ends ? fill(t.link_expires, { date: (soon ? dates : days).format(ends) }) : t.link_never;
    return [
      h("span", { class: `ss-chip ss-chip-${link.rights}` }, link.rights === "reply" ? t.link_reply : t.link_view),
      h("span", { class: "ss-fact" }, expiry),
      link.passcode ? h("span", { class: "ss-chip ss-chip-passcode" }, t.link_passcode) : null,
    ];
  }

  // "Copied" on the button that did it, and once for screen readers.
  function copied(button) {
    button.dataset.label ||= button.textContent;
    button.textContent = t.share_copied;
    button.classList.add("is-done");
    say(t.share_copied_status);
    setTimeout(() => {
      button.textContent = button.dataset.label;
      button.classList.remove("is-done");
    }, COPIED_MS);
  }

  async function send(link, button) {
    if (nativeShare()) {
      try {
        await navigator.share({ url: urlOf(link), title: document.title });
        return;
      } catch (error) {
        if (error?.name === "AbortError") return; // they closed the share menu
      }
    }
    try {
      await navigator.clipboard.writeText(urlOf(link));
      copied(button);
      return;
    } catch {
      // No clipboard API (plain http, an old browser): select the text and copy that.
    }
    showLink(link);
    els.url.focus();
    els.url.select();
    let done = false;
    try {
      done = document.execCommand("copy");
    } catch {
      done = false;
    }
    if (done) copied(button);
    else say(t.share_copy_failed);
  }

  function showLink(link) {
    shown = link;
    els.main.hidden = !link;
    els.none.hidden = Boolean(link) || !els.loading.hidden;
    els.url.value = urlOf(link);
  }

  function row(link) {
    const name = nameOf(link);
    const asking = confirming === link.id;
    const actions = asking
      ? h(
          "div",
          { class: "ss-confirm", role: "group", "aria-label": fill(t.link_revoke_label, { name }) },
          h("p", { class: "ss-confirm-text" }, t.link_revoke_confirm),
          h(
            "div",
            { class: "ss-actions" },
            h(
              "button",
              { type: "button", class: "button ss-danger", "data-focus": "yes", onclick: () => revoke(link) },
              t.link_revoke_yes,
            ),
            h("button", { type: "button", class: "button", onclick: () => ask(null, link) }, t.link_revoke_no),
          ),
        )
      : h(
          "div",
          { class: "ss-actions" },
          link.url
            ? h(
                "button",
                {
                  type: "button",
                  class: "button",
                  "aria-label": fill(t.link_copy_label, { name }),
                  onclick: (event) => send(link, event.currentTarget),
                },
                t.link_copy,
              )
            : null,
          link.can_revoke
            ? h(
                "button",
                {
                  type: "button",
                  class: "button ss-revoke",
                  "data-focus": "revoke",
                  "aria-label": fill(t.link_revoke_label, { name }),
                  onclick: () => ask(link.id),
                },
                t.link_revoke,
              )
            : null,
        );
    return h(
      "li",
      { class: `ss-link${shown?.id === link.id ? " ss-link-shown" : ""}`, "data-id": link.id },
      h("p", { class: "ss-link-name" }, name),
      h("p", { class: "ss-facts" }, ...facts(link)),
      h("p", { class: "ss-used" }, usedBy(link)),
      actions,
    );
  }

  function render(focus = null) {
    if (!shown || !links.some((l) => l.id === shown.id)) {
      showLink(links.find((l) => l.url && !l.passcode) || links.find((l) => l.url) || null);
    } else showLink(shown);
    els.list.replaceChildren(...links.map(row));
    if (focus) els.list.querySelector(`[data-id="${CSS.escape(focus.id)}"] [data-focus="${focus.key}"]`)?.focus();
  }

  function ask(id, back = null) {
    confirming = id;
    render(id ? { id, key: "yes" } : back && { id: back.id, key: "revoke" });
  }

  async function load() {
    try {
      const body = await api.get(dialog.dataset.links);
      links = (body.links || []).filter((l) => l.live);
      els.loading.hidden = true;
      if (!links.length) els.details.open = true;
      render();
    } catch (error) {
      els.loading.textContent = fill(t.share_links_failed, { error: error.message });
    }
  }

  async function revoke(link) {
    try {
      await api.del(`/api/links/${encodeURIComponent(link.id)}`);
      links = links.filter((l) => l.id !== link.id);
      confirming = null;
      if (shown?.id === link.id) shown = null;
      render();
      if (!links.length) els.details.open = true;
      say(t.link_revoked);
      $("ss-links-heading").setAttribute("tabindex", "-1");
      $("ss-links-heading").focus();
    } catch (error) {
      say(fill(t.link_revoke_failed, { error: error.message }));
    }
  }

  async function create(event) {
    event.preventDefault();
    const data = new FormData(els.form);
    const passcode = String(data.get("passcode") || "");
    const field = $("ss-passcode");
    if (passcode && !field.checkValidity()) {
      return failed(fill(t.share_create_failed, { error: field.validationMessage }), field);
    }
    const body = { rights: data.get("rights") || "reply", label: String(data.get("label") || "").trim() };
    const expires = Number(data.get("expires_in"));
    if (expires > 0) body.expires_in = expires;
    if (passcode) body.passcode = passcode;
    const label = els.create.textContent;
    els.create.disabled = true;
    els.create.textContent = els.create.dataset.labelBusy;
    els.error.hidden = true;
    try {
      const link = await api.post(thread.urls.links, body);
      links.push(link);
      shown = link;
      render();
      els.form.reset();
      els.details.open = false;
      say(t.share_created);
      els.copy.focus();
    } catch (error) {
      failed(fill(t.share_create_failed, { error: error.message }), null);
    } finally {
      els.create.disabled = false;
      els.create.textContent = label;
    }
  }

  function failed(text, field) {
    els.error.textContent = text;
    els.error.hidden = false;
    field?.focus();
  }

  els.copy.textContent = nativeShare() ? els.copy.dataset.labelNative : els.copy.dataset.labelCopy;
  els.copy.addEventListener("click", () => shown && send(shown, els.copy));
  els.form.addEventListener("submit", create);
  $("ss-close").addEventListener("click", () => dialog.close());
  // A tap on the dimmed page around the sheet closes it, as on phones everywhere.
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close();
  });
  dialog.addEventListener("close", () => {
    confirming = null;
    returnTo?.focus();
  });
  function open(id) {
    suffix = id ? `#m-${id}` : "";
    heading.textContent = id ? t.share_message_title : t.share_title;
    returnTo = id ? document.activeElement : opener;
    if (shown) showLink(shown);
    dialog.showModal();
    load();
  }
  opener.addEventListener("click", () => open(null));
  // A bubble's "Share this message" (thread-list.js).
  document.addEventListener("relay:share", (event) => open(event.detail?.id || null));
  // Someone used or revoked a link elsewhere: the open sheet follows the thread's updates.
  document.addEventListener("relay:thread", () => {
    if (dialog.open && confirming === null) load();
  });
  opener.hidden = false;
}

const dialog = document.querySelector("[data-share-sheet]");
if (dialog) boot(dialog);
