"""Shared set-up of the recorder's browser tests, per test module: a `relay serve` (embedded) with
its users, a Debian chromium with a fake camera and speech as the microphone, and helpers
that drive the recorder page. Registered as a pytest plugin in tests/conftest.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.support.browser import ffprobe, launch, sign_in
from tests.support.server import ROOT, add_users, serve, stack_env
from tests.support.speech import make_passage

ARTIFACTS = ROOT / "test-artifacts"
SENTENCES = [
    "Hello team, this is a quick update on the launch.",
    "The new recorder streams every chunk while we speak.",
    "Please listen to this before the meeting on Friday.",
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("recorder")
    env = stack_env(tmp / "var", f"sqlite+aiosqlite:///{tmp}/relay.db", None)
    names = (
        "ann",
        "bob",
        "cid",
        "dee",
        "eli",
        "fay",
        "gil",
        "hal",
        "ivy",
        "jo",
        "kim",
        "lou",
        "max",
        "ned",
    )
    by_email = add_users(env, [f"{name}@example.org" for name in names])
    tokens = {name: by_email[f"{name}@example.org"] for name in names}
    process, base = serve(env, tmp / "serve.log")
    try:
        yield base, tokens
    finally:
        process.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    wav = make_passage(tmp_path_factory.mktemp("speech") / "speech.wav", SENTENCES)
    browser = launch(playwright, wav)
    try:
        yield browser
    finally:
        browser.close()


def open_recorder(
    browser: Browser,
    base: str,
    email: str,
    size: tuple[int, int],
    path: str = "/record",
    **options: object,
) -> Page:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, **options)
    context.grant_permissions(["microphone", "camera"], origin=base)
    page = context.new_page()
    sign_in(page, base, email, quote(path, safe=""))
    page.wait_for_selector("[data-recorder][data-ready]", timeout=10_000)
    return page


def record(page: Page, seconds: float, during: object = None, send: bool = True) -> float:
    """Press Record, wait `seconds` of recording, press Stop (the recording is then heard
    back) and, with `send`, Send; returns the seconds recorded."""
    page.click('[data-action="start"]')
    page.wait_for_selector('[data-recorder][data-state="recording"]', timeout=10_000)
    began = time.monotonic()
    if callable(during):
        during()
    page.wait_for_timeout(max(0.0, seconds - (time.monotonic() - began)) * 1000)
    page.click('[data-action="stop"]')
    recorded = time.monotonic() - began
    page.wait_for_selector('[data-recorder][data-state="stopped"]', timeout=1_000)
    if send:
        send_recording(page)
    return recorded


def send_recording(page: Page) -> None:
    """Send what was recorded: the share link shows at once, the upload finishes."""
    page.click('[data-action="send"]')
    page.wait_for_selector("[data-share-input]", state="visible", timeout=5_000)


def recorded_message(base: str, token: str, page: Page) -> dict:
    """The message the page recorded, once the page says it is ready."""
    page.wait_for_selector('[data-recorder][data-message-status="ready"]', timeout=60_000)
    share = page.input_value("[data-share-input]")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        listed = client.get("/api/messages").json()["messages"]
        found = next(m for m in listed if m["share_url"] == share)
        message = client.get(f"/api/messages/{found['id']}").json()
    assert message["status"] == "ready", message
    return message


def ready_media(base: str, token: str, page: Page, name: str, dest: Path) -> dict:
    """Wait until the page says ready, check the API agrees, download rendition `name`."""
    message = recorded_message(base, token, page)
    rendition = next(r for r in message["renditions"] if r["name"] == name)
    headers = {"Authorization": f"Bearer {token}"}
    response = httpx.get(rendition["url"], headers=headers, follow_redirects=True, timeout=30)
    assert response.status_code == 200
    dest.write_bytes(response.content)
    return ffprobe(dest)


def stream_types(probe: dict) -> set[str]:
    return {s["codec_type"] for s in probe["streams"]}
