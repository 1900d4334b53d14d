// The inbox, enhanced: its moments in the reader's time zone, and its search with results as
// you type, from /api/search, in the markup the server renders for "/?q=" (which keeps
// working without this script).

import { avatar, liveTimes } from "./format.js";
import { clock, fill } from "./thread-format.js";

const DELAY_MS = 250;
const $ = (id) => document.getElementById(id);

// The API escapes the snippet and marks hits with <mark>: keep exactly that, as text and
// <mark> elements, so nothing else in it could ever become markup here.
export function snippetNodes(html) {
  const template = document.createElement("template");
  template.innerHTML = html;
  return [...template.content.childNodes].map((node) => {
    if (node.nodeName !== "MARK") return document.createTextNode(node.textContent);
    const mark = document.createElement("mark");
    mark.textContent = node.textContent;
    return mark;
  });
}

function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  node.append(...children);
  return node;
}

function boot(form) {
  const input = $("search-q");
  const results = $("search-results");
  const threads = $("inbox-threads");
  let t = {};
  try {
    t = JSON.parse($("inbox-strings").textContent);
  } catch {
    return; // without its words the page keeps the plain form
  }
  let timer = null;
  let pending = null;
  let shown = input.value.trim();

  // The same row as the server's: the title is the row's one link, the snippet its description.
  function hit(h, index) {
    const title = h.thread_title || h.title || t[`untitled_${h.kind}`] || t.untitled_audio;
    const id = `hit-${index + 1}-text`;
    const link = el("a", "row-link row-title hit-link", title);
    link.href = h.thread_url;
    link.setAttribute("aria-describedby", id);
    const top = el("div", "row-top", link);
    if (h.kind !== "text") {
      top.append(" ", el("span", "row-when hit-time", fill(t.hit_at, { time: clock(h.start) })));
    }
    const speaker = h.speaker || "";
    const firstName = speaker.split(/\s+/)[0] || speaker;
    const snippet = el(
      "span",
      "row-preview hit-snippet",
      el("span", "row-author hit-speaker", firstName),
      ": ",
      ...snippetNodes(h.snippet_html),
    );
    const text = el("div", "row-text", snippet);
    text.id = id;
    return el("li", "row hit", avatar(speaker), el("div", "row-main", top, text));
  }

  function show(query, hits, error = null) {
    results.hidden = !query;
    threads.hidden = Boolean(query);
    results.querySelector(".alert")?.remove();
    $("search-heading").textContent = fill(t.search_results, { query });
    let count = "";
    if (error) count = fill(t.search_failed, { error });
    else if (!hits.length) count = fill(t.search_none, { query });
    else count = hits.length === 1 ? t.search_count_one : fill(t.search_count_many, { count: hits.length });
    $("search-count").textContent = query ? count : "";
    $("search-hits").replaceChildren(...hits.map(hit));
    const url = query ? `/?q=${encodeURIComponent(query)}` : "/";
    history.replaceState(null, "", url);
  }

  async function run() {
    clearTimeout(timer);
    const query = input.value.trim();
    if (query === shown) return;
    shown = query;
    pending?.abort();
    if (!query) return show("", []);
    if (query.length > Number(input.maxLength || 200)) {
      return show(query, [], fill(t.search_too_long, { max: input.maxLength }));
    }
    pending = new AbortController();
    try {
      const response = await fetch(`/api/search?q=${encodeURIComponent(query)}`, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: pending.signal,
      });
      const data = await response.json();
      if (!response.ok) throw new Error(data.detail || data.error || response.statusText);
      if (query === input.value.trim()) show(query, data.hits || []);
    } catch (error) {
      if (error.name !== "AbortError") show(query, [], error.message);
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(run, DELAY_MS);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    shown = null; // pressing Search always asks again
    run();
  });
  $("search-clear").addEventListener("click", (event) => {
    event.preventDefault();
    input.value = "";
    run();
    input.focus();
  });
}

const threadList = $("inbox-threads");
if (threadList) liveTimes(threadList, document.documentElement.lang || "en");
const form = document.querySelector("[data-search]");
if (form) boot(form);
