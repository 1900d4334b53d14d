"""The recorder page in a real browser (Debian's chromium, fake camera, speech as the
microphone) against a real `relay serve` on the embedded stack: recording and the page."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import Browser, Playwright, Route

from relay import i18n
from tests.support.browser import axe_violations, is_png, launch, sign_in
from tests.support.recorder import (
    ARTIFACTS,
    open_recorder,
    ready_media,
    record,
    recorded_message,
    send_recording,
    stream_types,
)
from tests.support.speech import make_speech

PHONE_TOUCH = {"has_touch": True, "is_mobile": True}
# The listen-back player's element: a local Blob, its length known (a MediaRecorder WebM does
# not say it in its header), and playing.
LISTEN_BACK = """el => ({src: el.src, duration: el.duration, ready: el.readyState})"""


def test_voice_recording_heard_back_then_sent_shares_and_becomes_ready(
    stack: tuple[str, dict[str, str]], browser: Browser, tmp_path: Path
) -> None:
    base, tokens = stack
    page = open_recorder(browser, base, "ann@example.org", (390, 844), **PHONE_TOUCH)
    ARTIFACTS.mkdir(exist_ok=True)
    idle = ARTIFACTS / "recorder-phone-idle.png"
    page.screenshot(path=idle, full_page=True)
    # The record button is on the first screen, in its lower half (the thumb's reach).
    box = page.locator('[data-action="start"]').bounding_box()
    assert box and box["y"] >= 844 / 2 and box["y"] + box["height"] <= 844, box
    assert box["width"] >= 44 and box["height"] >= 44, box
    seconds = record(page, 8, send=False)
    # Stopped: the meter rests, the recording plays back from this browser.
    assert page.get_attribute("[data-meter]", "data-level") is None
    assert page.is_hidden("[data-meter]") and page.is_hidden("[data-share-input]")
    page.wait_for_selector('[data-recorder][data-listen="ready"]', timeout=5_000)
    heard = page.locator("[data-playback]").evaluate(LISTEN_BACK)
    assert heard["src"].startswith("blob:") and heard["ready"] >= 1, heard
    assert abs(heard["duration"] - seconds) <= 1.5, (heard, seconds)
    page.click('[data-action="play"]')
    page.wait_for_function("() => document.querySelector('[data-playback]').currentTime > 0.3")
    assert page.get_attribute('[data-action="play"]', "aria-pressed") == "true"
    stopped = ARTIFACTS / "recorder-phone-stopped.png"
    page.screenshot(path=stopped, full_page=True)
    send_recording(page)
    assert page.input_value("[data-share-input]").startswith(base + "/s/")
    probe = ready_media(base, tokens["ann"], page, "audio", tmp_path / "voice.m4a")
    assert stream_types(probe) == {"audio"}
    assert abs(float(probe["format"]["duration"]) - seconds) <= 1, (probe["format"], seconds)
    assert page.inner_text("[data-status]") == i18n.strings("en")["status_ready"]
    assert is_png(idle) and is_png(stopped)
    # Sent: no "Record again" nor one-tap "Discard"; deleting asks first.
    for gone in ("discard", "send", "start", "stop"):
        assert page.is_hidden(f'[data-action="{gone}"]'), gone
    assert page.get_by_text("Record again").count() == 0
    message = recorded_message(base, tokens["ann"], page)
    headers = {"Authorization": f"Bearer {tokens['ann']}"}
    address = f"{base}/api/messages/{message['id']}"
    page.click('[data-action="delete"]')
    page.click('[data-action="delete-cancel"]')
    assert page.is_hidden("[data-delete-confirm]")
    assert httpx.get(address, headers=headers).status_code == 200
    page.click('[data-action="delete"]')
    assert page.get_attribute('[data-action="delete"]', "aria-expanded") == "true"
    page.click('[data-action="delete-confirm"]')
    page.wait_for_selector('[data-recorder][data-state="idle"]', timeout=5_000)
    assert page.inner_text("[data-status]") == "The message was deleted."
    assert httpx.get(address, headers=headers).status_code == 404
    page.context.close()


def test_camera_recording_has_video_and_audio(
    stack: tuple[str, dict[str, str]], browser: Browser, tmp_path: Path
) -> None:
    """Also: the recorder in dark colours passes axe-core as set up, heard back and sent."""
    base, tokens = stack
    dark = {"color_scheme": "dark", "bypass_csp": True}
    page = open_recorder(browser, base, "bob@example.org", (1280, 800), **dark)
    ARTIFACTS.mkdir(exist_ok=True)
    idle = ARTIFACTS / "recorder-desktop-idle.png"
    page.screenshot(path=idle, full_page=True)
    page.check('input[name="mode"][value="camera"]')
    page.click("[data-options-toggle]")
    assert page.is_visible("[data-camera-field]") and page.is_hidden("[data-with-camera-field]")
    assert axe_violations(page, "[data-recorder]") == []
    page.click("[data-options-toggle]")
    seconds = record(page, 8, send=False)
    page.wait_for_selector('[data-recorder][data-listen="ready"]', timeout=5_000)
    heard = page.locator("[data-playback-video]").evaluate(LISTEN_BACK)
    assert heard["src"].startswith("blob:") and heard["duration"] > 0, heard
    assert axe_violations(page, "[data-recorder]") == []
    stopped = ARTIFACTS / "recorder-desktop-stopped.png"
    page.screenshot(path=stopped, full_page=True)
    send_recording(page)
    page.click('[data-action="delete"]')
    assert axe_violations(page, "[data-recorder]") == []
    page.click('[data-action="delete-cancel"]')
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
    """Before Send, Delete is one tap; the recorder passes axe-core while recording and
    while a recording is heard back."""
    base, tokens = stack
    page = open_recorder(browser, base, "fay@example.org", (390, 844), bypass_csp=True)
    page.click('[data-action="start"]')
    page.wait_for_selector('[data-recorder][data-state="recording"]', timeout=10_000)
    assert axe_violations(page, "[data-recorder]") == []
    page.click('[data-action="pause"]')
    page.wait_for_selector('[data-recorder][data-state="paused"]', timeout=2_000)
    page.click('[data-action="resume"]')
    page.wait_for_selector('[data-recorder][data-state="recording"]', timeout=2_000)
    page.click('[data-action="stop"]')
    page.wait_for_selector('[data-recorder][data-listen="ready"]', timeout=5_000)
    assert axe_violations(page, "[data-recorder]") == []
    page.click('[data-action="discard"]')
    page.wait_for_selector('[data-recorder][data-state="idle"]', timeout=5_000)
    assert page.inner_text("[data-status]") == "The recording was discarded."
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
