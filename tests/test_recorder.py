"""The recorder page in a real browser (Debian's chromium, fake camera, speech as the
microphone) against a real `relay serve` on the embedded stack."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, Route, sync_playwright

from relay import i18n
from tests.browser import ffprobe, is_png, launch, sign_in
from tests.server import ROOT, add_user, serve, stack_env
from tests.speech import make_passage, make_speech

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
    names = ("ann", "bob", "cid", "dee", "eli", "fay", "gil", "hal", "ivy", "jo", "kim", "lou")
    tokens = {name: add_user(env, f"{name}@example.org") for name in names}
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
    browser: Browser, base: str, email: str, size: tuple[int, int], path: str = "/record"
) -> Page:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    context.grant_permissions(["microphone", "camera"], origin=base)
    page = context.new_page()
    sign_in(page, base, email, quote(path, safe=""))
    page.wait_for_selector("[data-recorder][data-ready]", timeout=10_000)
    return page


def record(page: Page, seconds: float, during: object = None) -> float:
    """Press Record, wait `seconds` of recording, press Stop; returns the seconds recorded."""
    page.click('[data-action="start"]')
    page.wait_for_selector('[data-recorder][data-state="recording"]', timeout=10_000)
    began = time.monotonic()
    if callable(during):
        during()
    page.wait_for_timeout(max(0.0, seconds - (time.monotonic() - began)) * 1000)
    page.click('[data-action="stop"]')
    recorded = time.monotonic() - began
    page.wait_for_selector("[data-share-input]", state="visible", timeout=1_000)
    return recorded


def ready_media(base: str, token: str, page: Page, name: str, dest: Path) -> dict:
    """Wait until the page says ready, check the API agrees, download rendition `name`."""
    page.wait_for_selector('[data-recorder][data-message-status="ready"]', timeout=60_000)
    share = page.input_value("[data-share-input]")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        messages = client.get("/api/messages").json()["messages"]
        message = next(m for m in messages if m["share_url"] == share)
        assert message["status"] == "ready", message
        rendition = next(r for r in message["renditions"] if r["name"] == name)
        response = client.get(rendition["url"], follow_redirects=True)
        assert response.status_code == 200
    dest.write_bytes(response.content)
    return ffprobe(dest)


def stream_types(probe: dict) -> set[str]:
    return {s["codec_type"] for s in probe["streams"]}


def test_voice_recording_shares_at_once_and_becomes_ready(
    stack: tuple[str, dict[str, str]], browser: Browser, tmp_path: Path
) -> None:
    base, tokens = stack
    page = open_recorder(browser, base, "ann@example.org", (390, 844))
    ARTIFACTS.mkdir(exist_ok=True)
    idle = ARTIFACTS / "recorder-phone-idle.png"
    page.screenshot(path=idle, full_page=True)
    seconds = record(page, 8)
    assert page.input_value("[data-share-input]").startswith(base + "/s/")
    stopped = ARTIFACTS / "recorder-phone-stopped.png"
    page.screenshot(path=stopped, full_page=True)
    probe = ready_media(base, tokens["ann"], page, "audio", tmp_path / "voice.m4a")
    assert stream_types(probe) == {"audio"}
    assert abs(float(probe["format"]["duration"]) - seconds) <= 1, (probe["format"], seconds)
    assert is_png(idle) and is_png(stopped)
    page.context.close()


def test_camera_recording_has_video_and_audio(
    stack: tuple[str, dict[str, str]], browser: Browser, tmp_path: Path
) -> None:
    base, tokens = stack
    page = open_recorder(browser, base, "bob@example.org", (1280, 800))
    ARTIFACTS.mkdir(exist_ok=True)
    idle = ARTIFACTS / "recorder-desktop-idle.png"
    page.screenshot(path=idle, full_page=True)
    page.check('input[name="mode"][value="camera"]')
    seconds = record(page, 8)
    stopped = ARTIFACTS / "recorder-desktop-stopped.png"
    page.screenshot(path=stopped, full_page=True)
    probe = ready_media(base, tokens["bob"], page, "video", tmp_path / "camera.mp4")
    assert stream_types(probe) == {"video", "audio"}
    assert abs(float(probe["format"]["duration"]) - seconds) <= 1, (probe["format"], seconds)
    assert is_png(idle) and is_png(stopped)
    page.context.close()


def test_upload_blocked_for_seconds_loses_no_chunk(
    stack: tuple[str, dict[str, str]], browser: Browser, tmp_path: Path
) -> None:
    base, tokens = stack
    page = open_recorder(browser, base, "cid@example.org", (1280, 800))

    aborted: list[str] = []

    def abort(route: Route) -> None:
        aborted.append(route.request.method)
        route.abort()

    def drop_network() -> None:
        # wait_for_timeout, not time.sleep: the sync API runs route handlers only while
        # it waits on the browser.
        page.wait_for_timeout(2000)
        page.route("**/api/uploads/**", abort)
        page.wait_for_timeout(3000)
        page.unroute("**/api/uploads/**")

    seconds = record(page, 8, drop_network)
    assert "PATCH" in aborted, aborted
    probe = ready_media(base, tokens["cid"], page, "audio", tmp_path / "voice.m4a")
    assert stream_types(probe) == {"audio"}
    assert abs(float(probe["format"]["duration"]) - seconds) <= 1, (probe["format"], seconds)
    page.context.close()


def test_picked_file_uploads_through_tus_and_becomes_ready(
    stack: tuple[str, dict[str, str]], browser: Browser, tmp_path: Path
) -> None:
    base, tokens = stack
    wav = make_speech(tmp_path / "note.wav", "A short note from a file.", silence_after=0.5)
    page = open_recorder(browser, base, "eli@example.org", (1280, 800))
    page.set_input_files("[data-file]", str(wav))
    page.wait_for_selector("[data-share-input]", state="visible", timeout=5_000)
    probe = ready_media(base, tokens["eli"], page, "audio", tmp_path / "note.m4a")
    assert stream_types(probe) == {"audio"}
    page.context.close()


def test_discard_deletes_the_message(stack: tuple[str, dict[str, str]], browser: Browser) -> None:
    base, tokens = stack
    page = open_recorder(browser, base, "fay@example.org", (390, 844))
    page.click('[data-action="start"]')
    page.wait_for_selector('[data-recorder][data-state="recording"]', timeout=10_000)
    page.click('[data-action="pause"]')
    page.wait_for_selector('[data-recorder][data-state="paused"]', timeout=2_000)
    page.click('[data-action="resume"]')
    page.wait_for_selector('[data-recorder][data-state="recording"]', timeout=2_000)
    page.click('[data-action="discard"]')
    page.wait_for_selector('[data-recorder][data-state="idle"]', timeout=5_000)
    headers = {"Authorization": f"Bearer {tokens['fay']}"}
    assert httpx.get(f"{base}/api/messages", headers=headers).json()["messages"] == []
    page.context.close()


def test_permission_denied_shows_clear_message(
    stack: tuple[str, dict[str, str]], playwright: Playwright
) -> None:
    base, _ = stack
    browser = launch(playwright, None, allow_media=False)
    try:
        page = browser.new_context().new_page()
        sign_in(page, base, "dee@example.org")
        page.wait_for_selector("[data-recorder][data-ready]", timeout=10_000)
        page.click('[data-action="start"]')
        alert = page.wait_for_selector("[data-error]:not([hidden])", timeout=10_000)
        assert "may not use your microphone" in alert.inner_text()
        assert page.get_attribute("[data-recorder]", "data-state") == "idle"
    finally:
        browser.close()


def test_record_page_anonymous_redirects_to_login(stack: tuple[str, dict[str, str]]) -> None:
    base, _ = stack
    response = httpx.get(f"{base}/record", headers={"Accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Frecord"


def test_record_page_speaks_dutch_from_header_query_and_cookie(
    stack: tuple[str, dict[str, str]],
) -> None:
    base, tokens = stack
    headers = {"Authorization": f"Bearer {tokens['ann']}"}
    with httpx.Client(base_url=base, headers=headers) as client:
        english = client.get("/record")
        assert english.status_code == 200 and "Record a message" in english.text
        assert "script-src 'self'" in english.headers["content-security-policy"]
        assert "<script>" not in english.text and "style=" not in english.text
        dutch = client.get("/record", headers={"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5"})
        assert "Bericht opnemen" in dutch.text
        switched = client.get("/record?lang=nl")
        assert "Bericht opnemen" in switched.text
        assert client.cookies.get(i18n.LANG_COOKIE) == "nl"
        assert "Bericht opnemen" in client.get("/record").text


def test_language_choice_order() -> None:
    assert i18n.pick(None, None, None) == "en"
    assert i18n.pick(None, None, "de-DE,nl;q=0.8") == "nl"
    assert i18n.pick(None, "nl", "en") == "nl"
    assert i18n.pick("en", "nl", "nl") == "en"
    assert i18n.pick("xx", None, "fr") == "en"
    assert set(i18n.CATALOGS["en"]) == set(i18n.CATALOGS["nl"])


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


def test_reply_recorded_from_the_message_page_joins_the_thread(
    stack: tuple[str, dict[str, str]], browser: Browser
) -> None:
    base, tokens = stack
    headers = {"Authorization": f"Bearer {tokens['gil']}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        root = client.post("/api/messages", json={"kind": "text", "body": "Kick-off"}).json()
        parent = client.post(
            "/api/messages",
            json={"kind": "text", "title": "Launch plan", "body": "Dates", "parent_id": root["id"]},
        ).json()
        assert parent["thread_id"] == root["thread_id"] != parent["id"]
        page_html = client.get(f"/m/{parent['id']}").text
        assert f'href="/record?reply_to={parent["id"]}"' in page_html
        assert "Reply with a recording" in page_html
        dutch = client.get(f"/record?reply_to={parent['id']}&lang=nl").text
        assert "Antwoord op:" in dutch and "Launch plan" in dutch
        assert (
            client.get("/record?reply_to=nope", headers={"Accept": "text/html"}).status_code == 404
        )
    other = {"Authorization": f"Bearer {tokens['hal']}", "Accept": "text/html"}
    foreign = httpx.get(f"{base}/record?reply_to={parent['id']}", headers=other)
    assert foreign.status_code == 404 and "Launch plan" not in foreign.text

    page = open_recorder(
        browser, base, "gil@example.org", (1280, 800), f"/record?reply_to={parent['id']}&lang=en"
    )
    assert page.inner_text("[data-reply-to]") == "Replying to: Launch plan"
    page.click("[data-reply-to] a")
    page.wait_for_url(f"{base}/m/{parent['id']}")
    page.click("[data-reply-link]")
    page.wait_for_selector("[data-recorder][data-ready]", timeout=10_000)
    assert "Launch plan" in page.inner_text("[data-reply-to]")
    seconds = record(page, 3)
    reply = recorded_message(base, tokens["gil"], page)
    assert reply["parent_id"] == parent["id"]
    assert reply["thread_id"] == parent["thread_id"]
    assert abs(reply["duration"] - seconds) <= 1, (reply["duration"], seconds)
    page.context.close()


def test_retry_button_finishes_an_upload_after_the_retries_gave_up(
    stack: tuple[str, dict[str, str]], browser: Browser
) -> None:
    base, tokens = stack
    page = open_recorder(browser, base, "hal@example.org", (1280, 800))
    aborted: list[str] = []

    def abort(route: Route) -> None:
        aborted.append(route.request.method)
        route.abort()

    page.route("**/api/uploads/**", abort)
    seconds = record(page, 3)
    began = time.monotonic()
    # The recorder retries 1, 2, 4 and 8 s apart, then offers Retry: about 15 s.
    page.wait_for_selector('[data-action="retry"]:visible', timeout=40_000)
    gave_up = time.monotonic() - began
    alert = page.inner_text("[data-error]")
    assert "press Retry" in alert, alert
    assert "PATCH" in aborted and "HEAD" in aborted, aborted
    page.unroute("**/api/uploads/**")
    page.click('[data-action="retry"]')
    reply = recorded_message(base, tokens["hal"], page)
    assert page.is_hidden("[data-error]") and page.is_hidden('[data-action="retry"]')
    assert abs(reply["duration"] - seconds) <= 1, (reply["duration"], seconds, gave_up)
    page.context.close()


def test_recorder_stops_by_itself_at_the_maximum_length(
    stack: tuple[str, dict[str, str]], browser: Browser
) -> None:
    base, tokens = stack
    page = open_recorder(browser, base, "ivy@example.org", (390, 844))
    assert page.get_attribute("[data-recorder]", "data-max-seconds") == "1800"
    assert page.inner_text("[data-max]") == "30:00"
    page.evaluate("document.querySelector('[data-recorder]').dataset.maxSeconds = '3'")
    page.click('[data-action="start"]')
    page.wait_for_selector('[data-recorder][data-state="recording"]', timeout=10_000)
    began = time.monotonic()
    assert page.inner_text("[data-max]") == "0:03"
    page.wait_for_selector('[data-recorder][data-state="stopped"]', timeout=10_000)
    stopped_after = time.monotonic() - began
    assert 2.5 <= stopped_after <= 5, stopped_after
    assert page.is_visible("[data-share-input]")
    reply = recorded_message(base, tokens["ivy"], page)
    assert page.is_visible("[data-open-link]")
    assert "maximum length" not in page.inner_text("[data-error]")
    assert abs(reply["duration"] - 3) <= 1, reply["duration"]
    page.context.close()


# Headless Chromium needs no extra flag for getDisplayMedia: with the flags `launch` already
# passes (--use-fake-ui-for-media-stream, --use-fake-device-for-media-stream) it resolves at
# once, without a picker, with a fake 1280x720 screen ("screen:-3:0").
@pytest.mark.parametrize(
    ("mode", "email", "user"),
    [("screen", "jo@example.org", "jo"), ("screen-camera", "kim@example.org", "kim")],
)
def test_screen_recording_has_video_and_audio(
    stack: tuple[str, dict[str, str]],
    browser: Browser,
    tmp_path: Path,
    mode: str,
    email: str,
    user: str,
) -> None:
    base, tokens = stack
    page = open_recorder(browser, base, email, (1280, 800))
    option = page.locator(f'input[name="mode"][value="{mode}"]')
    assert option.is_visible()
    option.check()
    assert page.is_visible("[data-camera-field]") == (mode == "screen-camera")
    seconds = record(page, 4)
    probe = ready_media(base, tokens[user], page, "video", tmp_path / f"{mode}.mp4")
    assert stream_types(probe) == {"video", "audio"}
    duration = float(probe["format"]["duration"])
    assert abs(duration - 4) <= 1 and abs(duration - seconds) <= 1, (probe["format"], seconds)
    video = next(s for s in probe["streams"] if s["codec_type"] == "video")
    assert video["width"] >= 640 and video["height"] >= 360, video
    page.context.close()


# The total is stored when Stop finishes the recording, after every chunk was stored.
KEPT_TOTAL = """() => new Promise((resolve) => {
  const open = indexedDB.open("relay-recorder");
  open.onerror = () => resolve(null);
  open.onsuccess = () => {
    const request = open.result.transaction("uploads").objectStore("uploads").getAll();
    request.onsuccess = () => resolve(request.result.find((r) => r.total !== null)?.total ?? null);
    request.onerror = () => resolve(null);
  };
})"""


def test_bytes_not_uploaded_survive_a_reload(
    stack: tuple[str, dict[str, str]], browser: Browser
) -> None:
    base, tokens = stack
    page = open_recorder(browser, base, "lou@example.org", (1280, 800))
    page.route("**/api/uploads/**", lambda route: route.abort())
    seconds = record(page, 4)
    share = page.input_value("[data-share-input]")
    deadline = time.monotonic() + 10
    while not page.evaluate(KEPT_TOTAL):
        assert time.monotonic() < deadline, "the recording was not kept in IndexedDB"
        page.wait_for_timeout(200)
    page.reload()
    page.wait_for_selector("[data-recorder][data-ready]", timeout=10_000)
    page.unroute("**/api/uploads/**")
    notice = page.wait_for_selector("[data-pending]:visible", timeout=5_000)
    assert "An earlier recording was not fully uploaded" in notice.inner_text()
    page.click("[data-pending-upload]")
    message = recorded_message(base, tokens["lou"], page)
    assert message["share_url"] == share
    assert abs(message["duration"] - 4) <= 1 and abs(message["duration"] - seconds) <= 1, (
        message["duration"],
        seconds,
    )
    assert page.is_hidden("[data-pending]")
    assert page.evaluate(KEPT_TOTAL) is None
    page.context.close()
