"""Transcripts and search as people use them, in Debian's chromium against `relay serve` with
its real worker and the offline tiny.en model: a spoken message's transcript and title appear
on the open thread page without a reload; the inbox's search box finds a spoken word and its
hit plays the message from that moment; the author changes the language from the transcript
panel and watches it being made again."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import run_apart
from tests.support.browser import axe_violations, launch, sign_in
from tests.support.server import add_user, serve, stack_env, upload
from tests.support.speech import make_passage
from tests.test_thread_browser import IPHONE

SENTENCES = ["Good morning everyone, this is the weekly update.", "Please review the budget."]
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
WAITING = "The transcript is being made…"


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`relay serve` with its embedded worker and tiny.en; a transcription that fails is not
    retried."""
    tmp = tmp_path_factory.mktemp("transcripts")
    env = stack_env(
        tmp / "var",
        f"sqlite+aiosqlite:///{tmp}/relay.db",
        None,
        RELAY_JOB_TRANSCRIBE_ATTEMPTS="1",
        # English-only and three times faster than the default base; asked for Dutch, it fails
        # plainly, which is the state this module checks.
        RELAY_WHISPER_MODEL="tiny.en",
    )
    token = add_user(env, "ann@example.org")
    process, base = serve(env, tmp / "serve.log")
    speech = make_passage(tmp / "speech.wav", SENTENCES, pause=1.5)
    try:
        yield {"base": base, "token": token, "speech": speech, "state": {}}
    finally:
        process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        yield launch(playwright, None)


def _api(relay: dict, method: str, path: str, **kw: object) -> dict:
    headers = {"Authorization": f"Bearer {relay['token']}"}
    response = httpx.request(method, relay["base"] + path, headers=headers, timeout=30, **kw)
    assert response.status_code < 300, response.text
    return response.json()


async def _upload(relay: dict, url: str, data: bytes) -> None:
    headers = {"Authorization": f"Bearer {relay['token']}"}
    async with httpx.AsyncClient(headers=headers, timeout=60) as client:
        await upload(client, url, data)


def _notes(page: Page) -> list[str]:
    return page.evaluate("window.__notes")


def _record_notes(page: Page) -> None:
    """Every text the transcript panel's note and the cards' notes show, in order."""
    page.evaluate(
        """() => {
        window.__notes = [];
        const notes = '#tp-transcript-note, .tm-transcript-note';
        const seen = () => {
          for (const n of document.querySelectorAll(notes)) {
            const text = n.textContent;
            if (!n.hidden && window.__notes.at(-1) !== text) window.__notes.push(text);
          }
        };
        const all = {subtree: true, childList: true, characterData: true};
        new MutationObserver(seen).observe(document.body, all);
        seen();
      }"""
    )


def test_the_transcript_appears_live_and_search_plays_the_moment(
    browser: Browser, relay: dict
) -> None:
    created = _api(relay, "POST", "/api/messages", json={"kind": "audio"})
    relay["state"] |= {"id": created["id"], "thread": created["thread_id"]}
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    sign_in(page, relay["base"], "ann@example.org", f"/t/{created['thread_id']}")
    page.wait_for_selector(f"#m-{created['id']}", timeout=10_000)
    assert page.locator(".thread-head h1").inner_text() == "Untitled thread"
    _record_notes(page)

    run_apart(_upload(relay, created["upload_url"], relay["speech"].read_bytes()))
    card = page.locator(f"#m-{created['id']}")
    card.locator(".tm-transcript:has-text('budget')").wait_for(timeout=120_000)
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert WAITING in _notes(page), "'being made' was shown while it was being made"
    assert not card.locator(".tm-transcript-note").count(), "and not once it was done"
    # The automatic title from the transcript reaches the heading and the card live.
    title = _api(relay, "GET", f"/api/messages/{created['id']}")["title"]
    assert title.startswith("Good morning")
    page.wait_for_function(
        "t => document.querySelector('.thread-head h1').textContent === t", arg=title
    )
    assert card.locator(".tm-title").inner_text() == title

    # Playing it fills the panel; a segment seeks, and the spoken one is marked.
    card.locator(".tm-play").click()
    segment = page.locator("#tp-segments .tp-segment", has_text="budget")
    segment.wait_for(timeout=10_000)
    segment.click()
    page.wait_for_function(
        "() => document.querySelector('.tp-segment[aria-current=true]')?.textContent"
        ".includes('budget')",
        timeout=5_000,
    )
    page.locator("#tp-play").click()  # pause

    # Captions asked for once (in the mini-player's options) are on for the next page too.
    page.locator("#tp-menu > summary").click()
    page.locator("#opt-captions").check()
    again = context.new_page()
    again.goto(f"{relay['base']}/t/{created['thread_id']}")
    assert again.locator("#opt-captions").is_checked()
    again.close()

    # Search from the inbox's own box; its hit opens the thread playing from the moment.
    page.goto(relay["base"] + "/")
    page.fill("#search-q", "budget")
    hit = page.locator(".hit-link").first
    hit.wait_for(timeout=10_000)
    assert page.locator(".hit-snippet mark").first.inner_text().lower() == "budget"
    href = hit.get_attribute("href") or ""
    assert href.endswith(f"#m-{created['id']}")
    moment = float(parse_qs(urlsplit(href).query)["t"][0])
    assert moment > 2, "the hit is the second sentence, not the start"
    hit.click()
    page.wait_for_url(f"**/t/{created['thread_id']}?t=*", timeout=10_000)
    page.wait_for_function(
        "() => { const m = document.getElementById('tp-media');"
        " return m && !m.paused && m.currentTime > 0; }",
        timeout=10_000,
    )
    now = page.evaluate("document.getElementById('tp-media').currentTime")
    assert abs(now - moment) <= 1.0, (now, moment)
    assert not page.evaluate("document.getElementById('tp-media').paused")
    context.close()


def test_the_author_changes_the_language_from_the_panel(browser: Browser, relay: dict) -> None:
    state = relay["state"]
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    sign_in(page, relay["base"], "ann@example.org", f"/t/{state['thread']}")
    card = page.locator(f"#m-{state['id']}")
    card.locator(".tm-play").click()
    page.locator("#tp-play").click()  # pause: the panel follows the selected message
    language = page.locator("#tp-language")
    language.wait_for(timeout=10_000)
    assert language.input_value() == ""  # detected
    _record_notes(page)

    # tiny.en cannot do Dutch: the page says so plainly, and tells the author what to do.
    language.select_option("nl")
    hint = page.locator("#tp-transcript-hint")
    hint.wait_for(timeout=60_000)
    assert "only understands English" in hint.inner_text()
    assert page.locator("#tp-retry").is_visible()
    assert page.locator("#tp-transcript-note").inner_text() == "The transcript could not be made."
    assert _api(relay, "GET", f"/api/messages/{state['id']}")["language"] == "nl"

    # Back to English: being made again, then done.
    language.select_option("en")
    # The bubble being played shows the transcript that follows along, in its place.
    card.locator("#tp-segments .tp-segment", has_text="budget").wait_for(timeout=90_000)
    assert WAITING in _notes(page)
    assert page.locator("#tp-transcript-hint").is_hidden()
    message = _api(relay, "GET", f"/api/messages/{state['id']}")
    assert (message["language"], message["transcript"]["status"]) == ("en", "done")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_transcripts_and_search_pass_an_accessibility_scan(
    browser: Browser, relay: dict, scheme: str
) -> None:
    """The thread page with its transcript shown, and the inbox with search hits, on a phone."""
    state = relay["state"]
    context = browser.new_context(**IPHONE, bypass_csp=True, color_scheme=scheme)
    page = context.new_page()
    sign_in(page, relay["base"], "ann@example.org", f"/t/{state['thread']}")
    page.locator(f"#m-{state['id']} .tm-play").click()
    page.locator("#tp-segments .tp-segment").first.wait_for(timeout=10_000)
    page.locator("#tp-play").click()
    found = {"thread": axe_violations(page)}
    page.goto(relay["base"] + "/?q=budget")
    found["search"] = axe_violations(page)
    context.close()
    assert not any(found.values()), found
