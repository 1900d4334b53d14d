"""Sharing from the thread page, in Debian's chromium: the author opens the Share sheet,
copies the link (the phone's share menu on a phone), makes a protected view link that
expires, and revokes it; a visitor who never gives a name plays a message through the link
and the author sees them counted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import run_apart
from tests.support.browser import axe_violations, launch, sign_in
from tests.support.media import make_audio
from tests.support.server import add_user, serve, stack_env, upload, wait_status

DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
EMAIL = "sharer@example.org"
# Records what the page hands to the phone's share menu.
FAKE_SHARE = "navigator.share = async (data) => { window.__shared = data.url; };"


@pytest.fixture(scope="module")
def thread(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`relay serve` with a thread of one ready 2 s voice message."""
    tmp = tmp_path_factory.mktemp("share")
    env = stack_env(
        tmp / "var", f"sqlite+aiosqlite:///{tmp}/relay.db", None, RELAY_WHISPER_MODEL="tiny.en"
    )
    token = add_user(env, EMAIL)
    process, base = serve(env, tmp / "serve.log")
    audio = make_audio(tmp / "voice.ogg", 2)
    try:
        yield run_apart(_make_thread(base, token, audio.read_bytes())) | {
            "base": base,
            "token": token,
        }
    finally:
        process.stop()


async def _make_thread(base: str, token: str, data: bytes) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        body = {"kind": "audio", "title": "Roadmap in two seconds"}
        created = (await client.post("/api/messages", json=body)).json()
        await upload(client, created["upload_url"], data)
        assert (await wait_status(client, created["id"]))["status"] == "ready"
    return {"id": created["id"], "thread_id": created["thread_id"], "url": created["share_url"]}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        yield launch(playwright, None, extra=("--autoplay-policy=no-user-gesture-required",))


def _wait_for(page: Page, expression: str, seconds: float = 15) -> None:
    """Poll an expression (wait_for_function evaluates strings, which the page's CSP forbids)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {seconds} s: {expression}"
        page.wait_for_timeout(200)


def _api(thread: dict, path: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {thread['token']}"}
    return httpx.get(f"{thread['base']}{path}", headers=headers, timeout=10)


def test_share_sheet_copies_creates_and_revokes_links(browser: Browser, thread: dict) -> None:
    context = browser.new_context(**DESKTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=thread["base"])
    page = context.new_page()
    sign_in(page, thread["base"], EMAIL, f"/t/{thread['thread_id']}")
    page.click("#share-open")
    page.wait_for_selector("#share-sheet[open] .ss-link", timeout=10_000)
    assert page.input_value("#ss-url") == thread["url"]
    page.click("#ss-copy")
    page.wait_for_selector("#ss-copy.is-done:has-text('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == thread["url"]
    assert page.text_content("#ss-status") == "Link copied."

    # A view link with a passcode that expires in a week, made through the form.
    page.click("#ss-new > summary")
    page.check("input[name=rights][value=view]")
    page.select_option("#ss-expiry", "604800")
    page.fill("#ss-passcode", "open sesame 42")
    page.fill("#ss-label", "Design team")
    page.click("#ss-create")
    row = page.locator(".ss-link", has_text="Design team")
    row.wait_for(timeout=10_000)
    facts = row.locator(".ss-facts").inner_text()
    assert "View only" in facts and "Passcode" in facts and "Expires" in facts, facts
    assert row.locator(".ss-used").inner_text() == "Not used yet"
    made = next(
        link
        for link in _api(thread, f"/api/threads/{thread['thread_id']}/links").json()["links"]
        if link["label"] == "Design team"
    )
    assert (made["rights"], made["passcode"], made["live"]) == ("view", True, True)
    expires = datetime.fromisoformat(made["expires_at"]).replace(tzinfo=UTC)
    assert abs(expires - datetime.now(UTC) - timedelta(days=7)) < timedelta(minutes=5)
    # The new link is the one the sheet offers to copy now.
    assert page.input_value("#ss-url") == made["url"]
    assert httpx.get(made["url"], timeout=10).status_code == 401  # its passcode form

    # Revoke it from its row, confirming in place.
    row.get_by_role("button", name="Revoke Design team").click()
    row.get_by_role("button", name="Revoke link").click()
    page.wait_for_selector(".ss-link:has-text('Design team')", state="detached")
    assert page.text_content("#ss-status") == "Link revoked."
    assert httpx.get(made["url"], timeout=10).status_code == 410
    assert page.input_value("#ss-url") == thread["url"]
    page.keyboard.press("Escape")
    assert not page.locator("#share-sheet").evaluate("d => d.open")
    context.close()


def test_on_a_phone_the_link_goes_to_the_share_menu(browser: Browser, thread: dict) -> None:
    context = browser.new_context(**PHONE)
    context.add_init_script(FAKE_SHARE)
    page = context.new_page()
    sign_in(page, thread["base"], EMAIL, f"/t/{thread['thread_id']}")
    page.click("#share-open")
    page.wait_for_selector("#share-sheet[open] .ss-link", timeout=10_000)
    assert page.text_content("#ss-copy") == "Share link"
    page.click("#ss-copy")
    _wait_for(page, "Boolean(window.__shared)")
    assert page.evaluate("window.__shared") == thread["url"]
    context.close()


def test_a_nameless_visitor_who_plays_is_counted(browser: Browser, thread: dict) -> None:
    author = browser.new_context(**DESKTOP)
    author_page = author.new_page()
    sign_in(author_page, thread["base"], EMAIL, f"/t/{thread['thread_id']}")
    seen = f"#m-{thread['id']} .tm-seen"
    author_page.wait_for_selector(f"{seen}:has-text('Nobody has played this yet.')")

    visitor = browser.new_context(**PHONE)
    page = visitor.new_page()
    page.goto(thread["url"])
    page.wait_for_selector("#guest-form:not([hidden])", timeout=10_000)  # a name is asked...
    page.click(f"#m-{thread['id']} .tm-play")  # ...but they just listen
    _wait_for(page, "document.getElementById('tp-media').ended")
    # The author's page follows live: counted, not named.
    author_page.wait_for_selector(f"{seen}:has-text('1 person with the link')", timeout=10_000)
    (message,) = _api(thread, f"/api/threads/{thread['thread_id']}").json()["messages"]
    assert message["anonymous_listeners"] == {"count": 1, "heard": 1}
    assert message["seen_by"] == []
    visitor.close()
    author.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_open_sheet_passes_an_accessibility_scan(
    browser: Browser, thread: dict, scheme: str
) -> None:
    """Serious and critical WCAG 2.x A/AA findings of axe-core in the open sheet, with its
    form and a revoke confirmation showing (the page's CSP is bypassed for the test only)."""
    context = browser.new_context(**PHONE, bypass_csp=True, color_scheme=scheme)
    page = context.new_page()
    sign_in(page, thread["base"], EMAIL, f"/t/{thread['thread_id']}")
    page.click("#share-open")
    page.wait_for_selector("#share-sheet[open] .ss-link", timeout=10_000)
    page.click("#ss-new > summary")
    page.locator(".ss-revoke").first.click()
    found = axe_violations(page, "#share-sheet")
    assert not found, found
    context.close()
