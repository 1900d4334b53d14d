"""A thread on a phone, in Debian's chromium: a colleague without an account opens the share
link and reads the conversation before any player control, gives a name, presses "Play 4
new" and hears three voice messages and a video end to end at 2x with auto-advance in the
mini-player that appears then; reacts from the picker; the author sees "heard by", and the
guest's text reply (deleted again, after a question) and recorded voice reply arrive live,
without reload."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import run_apart
from tests.support.browser import axe_violations, launch, sign_in
from tests.support.media import make_audio, make_webm
from tests.support.recorder import ARTIFACTS, SENTENCES
from tests.support.server import add_user, serve, stack_env, upload, wait_status
from tests.support.speech import make_passage

IPHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"
    ),
}
SECONDS = 3


@pytest.fixture(scope="module")
def thread(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`relay serve` with a thread of three voice messages and one video, all ready."""
    tmp = tmp_path_factory.mktemp("thread")
    env = stack_env(tmp / "var", f"sqlite+aiosqlite:///{tmp}/relay.db", None)
    token = add_user(env, "ann@example.org")
    process, base = serve(env, tmp / "serve.log")
    files = [make_audio(tmp / f"voice{i}.ogg", SECONDS) for i in range(3)]
    files.append(make_webm(tmp / "video.webm", seconds=SECONDS, size="320x240"))
    try:
        yield run_apart(_make_thread(base, token, files)) | {"base": base, "token": token}
    finally:
        process.stop()


async def _make_thread(base: str, token: str, files: list[Path]) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        ids: list[str] = []
        for index, path in enumerate(files):
            body = {
                "kind": "video" if path.suffix == ".webm" else "audio",
                "title": f"Part {index + 1}",
            }
            if ids:
                body["parent_id"] = ids[-1]
            created = (await client.post("/api/messages", json=body)).json()
            await upload(client, created["upload_url"], path.read_bytes())
            ids.append(created["id"])
        for message_id in ids:
            assert (await wait_status(client, message_id))["status"] == "ready"
        first = (await client.get(f"/api/messages/{ids[0]}")).json()
    return {"ids": ids, "thread_id": first["thread_id"], "share_url": first["share_url"]}


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """Chromium whose microphone speaks (espeak-ng), for the guest's recorded reply."""
    wav = make_passage(tmp_path_factory.mktemp("speech") / "speech.wav", SENTENCES)
    with sync_playwright() as playwright:
        yield launch(playwright, wav, extra=("--autoplay-policy=no-user-gesture-required",))


def _thread_json(thread: dict) -> dict:
    headers = {"Authorization": f"Bearer {thread['token']}"}
    url = f"{thread['base']}/api/threads/{thread['thread_id']}"
    return httpx.get(url, headers=headers, timeout=10).json()


def test_guest_plays_the_thread_at_2x_and_replies_live(browser: Browser, thread: dict) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    author = browser.new_context(viewport={"width": 1280, "height": 800})
    author_page = author.new_page()
    sign_in(author_page, thread["base"], "ann@example.org", f"/t/{thread['thread_id']}")
    author_page.wait_for_selector("#thread-list .tm", timeout=10_000)

    phone = browser.new_context(**IPHONE)
    page = phone.new_page()
    page.goto(thread["share_url"])
    _give_name(page, "Gast Jansen")
    page.screenshot(path=str(ARTIFACTS / "thread-phone-390.png"), full_page=True)

    # The first screen is the conversation: a message, and no player until one plays.
    first = page.locator(f"#m-{thread['ids'][0]} .tm-bubble")
    assert first.locator(".tm-play").is_visible()
    assert first.bounding_box()["y"] + 120 < IPHONE["viewport"]["height"]
    assert page.locator("#tp").is_hidden() and page.locator("#tp-play").is_hidden()

    # "Play 4 new" starts the first unheard message and brings up the mini-player; the tab
    # counts what is new until it is heard.
    assert page.title().startswith("(4) ")
    page.get_by_role("button", name="Play 4 new").click()
    page.locator("#tp").wait_for(state="visible", timeout=5_000)
    page.wait_for_selector(f"#m-{thread['ids'][0]}.tm-current", timeout=5_000)
    # The lock screen names what plays, with next and previous (the Media Session API).
    lock_screen = page.evaluate(
        "() => { const m = navigator.mediaSession.metadata; return [m.artist, m.album]; }"
    )
    assert lock_screen[0] and lock_screen[1], lock_screen
    speed = page.locator("#tp-speed")
    speed.click()
    speed.click()
    assert speed.get_attribute("aria-label") == "Speed 2×, change speed"
    played = _wait_until_played(page, thread)
    assert played <= SECONDS * 4 / 2 + 8, f"four {SECONDS} s messages at 2x took {played:.1f} s"
    media = page.locator("#tp-media")
    assert media.evaluate("m => m.playbackRate") == 2
    assert media.evaluate("m => m.hasAttribute('playsinline')")
    page.locator("#thread-new").wait_for(state="hidden", timeout=5_000)  # nothing new left
    assert not page.title().startswith("(")

    # One "add a reaction" button per message, opening a small picker.
    second = page.locator(f"#m-{thread['ids'][1]}")
    second.get_by_role("button", name="Add a reaction").click()
    second.get_by_role("button", name="React with 🎉").click()
    second.locator(".tm-chip[aria-pressed=true]", has_text="🎉").wait_for(timeout=5_000)
    assert second.locator(".tm-picker").count() == 0
    reactions = _thread_json(thread)["messages"][1]["reactions"]
    assert [(r["emoji"], r["user"]["name"]) for r in reactions] == [("🎉", "Gast Jansen")]

    # The author's "seen by" shows the guest on every message, heard.
    for message in _thread_json(thread)["messages"]:
        (seen,) = message["seen_by"]
        assert seen["name"] == "Gast Jansen" and seen["heard"], message["title"]

    page.fill("#reply-body", "Dank je, helemaal duidelijk!")
    page.click("#reply-send")
    # The reply arrives in the author's page through server-sent events, without a reload.
    author_page.wait_for_selector("text=Dank je, helemaal duidelijk!", timeout=10_000)

    # Deleting it asks first, in the message's own menu.
    sent = page.locator("#thread-list .tm-mine", has_text="Dank je")
    sent.get_by_role("button", name="More for this message").click()
    sent.get_by_role("button", name="Delete message").click()
    assert sent.get_by_text("Delete this message for everyone?").is_visible()
    assert len(_thread_json(thread)["messages"]) == 5  # not yet
    sent.get_by_role("button", name="Delete", exact=True).click()
    sent.wait_for(state="detached", timeout=10_000)
    author_page.wait_for_selector("text=Dank je, helemaal duidelijk!", state="detached")

    # Then a recorded voice reply, from the recorder inside the thread page.
    recorded = _record_reply(page, VOICE_TITLE, seconds=5)
    page.screenshot(path=str(ARTIFACTS / "thread-phone-recorded-390.png"), full_page=True)
    author_page.wait_for_selector(f"#thread-list .tm:has-text('{VOICE_TITLE}')", timeout=10_000)
    page.wait_for_selector(f"{RECORDER}[data-message-status='ready']", timeout=90_000)
    reply = _thread_json(thread)["messages"][-1]
    assert (reply["kind"], reply["status"], reply["title"]) == ("audio", "ready", VOICE_TITLE)
    assert reply["author"] == {"id": reply["author"]["id"], "name": "Gast Jansen", "guest": True}
    assert abs(reply["duration"] - recorded) <= 1.0, (reply["duration"], recorded)
    # The author's page shows it playable, still without a reload.
    busy = ".badge-uploading, .badge-processing"
    ready = f"#thread-list .tm:has-text('{VOICE_TITLE}'):has(.tm-new):not(:has({busy}))"
    author_page.wait_for_selector(ready, timeout=20_000)
    assert author_page.evaluate("performance.getEntriesByType('navigation').length") == 1
    author_page.screenshot(path=str(ARTIFACTS / "thread-desktop-1280.png"), full_page=True)
    phone.close()
    author.close()


VOICE_TITLE = "Spraakbericht van Gast"
RECORDER = "#reply-record [data-recorder]"


def _record_reply(page: Page, title: str, seconds: float) -> float:
    """Open the inline recorder, record `seconds` of voice with a title; the seconds recorded."""
    page.click("#reply-record > summary")
    page.wait_for_selector(f"{RECORDER}[data-ready]", timeout=10_000)
    page.click(f"{RECORDER} [data-options-toggle]")  # the title sits with the options
    page.fill(f"{RECORDER} [data-title]", title)
    page.click(f"{RECORDER} [data-action='start']")
    page.wait_for_selector(f"{RECORDER}[data-state='recording']", timeout=10_000)
    began = time.monotonic()
    page.wait_for_timeout(seconds * 1000)
    page.click(f"{RECORDER} [data-action='send']")  # send at once, without listening back
    return time.monotonic() - began


def _give_name(page: Page, name: str) -> None:
    page.wait_for_selector("#guest-form:not([hidden])", timeout=10_000)
    page.fill("#guest-input", name)
    with page.expect_navigation(timeout=10_000):
        page.click("#guest-form button[type=submit]")
    page.wait_for_selector("#reply-form:not([hidden])", timeout=10_000)


def test_a_shared_message_opens_the_link_page_at_it(browser: Browser, thread: dict) -> None:
    """The author shares one message from its menu; the link opens the thread there."""
    author = browser.new_context(viewport={"width": 1280, "height": 800})
    page = author.new_page()
    sign_in(page, thread["base"], "ann@example.org", f"/t/{thread['thread_id']}")
    target = thread["ids"][2]
    bubble = page.locator(f"#m-{target}")
    bubble.get_by_role("button", name="More for this message").click()
    bubble.get_by_role("button", name="Share this message").click()
    page.wait_for_selector("#share-sheet[open] .ss-link", timeout=10_000)
    assert page.locator("#ss-heading").inner_text() == "Share this message"
    url = page.input_value("#ss-url")
    assert url == f"{thread['share_url']}#m-{target}"
    author.close()

    visitor = browser.new_context(**IPHONE)
    link_page = visitor.new_page()
    link_page.goto(url)
    shown = link_page.locator(f"#m-{target}.tm-target")
    shown.wait_for(timeout=10_000)
    box = shown.bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] <= IPHONE["viewport"]["height"]
    assert link_page.locator("#tp").is_hidden()  # opened at it, not playing on its own
    visitor.close()


def _wait_until_played(page: Page, thread: dict) -> float:
    """Seconds until the guest's listening state says every message was heard."""
    started = page.evaluate("performance.now()")
    deadline = 60_000
    while page.evaluate("performance.now()") - started < deadline:
        messages = _thread_json(thread)["messages"]
        if all(m["seen_by"] and m["seen_by"][0]["heard"] for m in messages):
            return (page.evaluate("performance.now()") - started) / 1000
        page.wait_for_timeout(250)
    raise AssertionError(f"not every message was heard: {_thread_json(thread)['messages']}")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_pages_pass_an_accessibility_scan(browser: Browser, thread: dict, scheme: str) -> None:
    """The thread page is scanned with its inline recorder open (a hidden one is skipped)."""
    record = "#reply-record > summary"
    pages = {
        "share": (None, thread["share_url"], None),
        "thread": ("ann@example.org", f"/t/{thread['thread_id']}", record),
        "playing": ("ann@example.org", f"/t/{thread['thread_id']}", "playing"),
        "inbox": ("ann@example.org", "/", None),
        "recorder": ("ann@example.org", "/record", None),
    }
    found = {}
    for name, (email, path, opener) in pages.items():
        context = browser.new_context(**IPHONE, bypass_csp=True, color_scheme=scheme)
        page = context.new_page()
        if email:
            sign_in(page, thread["base"], email, path)
        else:
            page.goto(path)
        page.wait_for_load_state("networkidle")
        if opener == "playing":
            # The mini-player with its options, and a message's reaction picker and menu.
            page.locator(".tm-play").first.click()
            page.locator("#tp").wait_for(state="visible", timeout=5_000)
            page.click("#tp-play")
            page.click("#tp-menu > summary")
            # (on another message: an open picker covers what is under it, by design)
            page.get_by_role("button", name="Add a reaction").nth(1).click()
        elif opener:
            page.click(opener)
            page.wait_for_selector(f"{RECORDER}[data-ready]", timeout=10_000)
        # At the end of the page the sticky dock sits in its own place, over nothing: what it
        # covers higher up scrolls free, and axe would count it as obscured.
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        if violations := axe_violations(page):
            found[name] = violations
        context.close()
    assert not found, found
