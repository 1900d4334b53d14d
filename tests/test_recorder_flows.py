"""The recorder in a real browser: replies, retries, the maximum length, screen capture (and
the browser's own "stop sharing"), and recordings kept across a reload, uploaded or discarded."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route

from tests.support.recorder import (
    open_recorder,
    ready_media,
    record,
    recorded_message,
    send_recording,
    stream_types,
)


def test_reply_recorded_from_the_reply_page_joins_the_thread(
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
    # The parent opens in its thread; the old message address leads there too.
    at_parent = f"{base}/t/{parent['thread_id']}#m-{parent['id']}"
    assert page.get_attribute("[data-reply-to] a", "href") == at_parent.removeprefix(base)
    page.goto(f"{base}/m/{parent['id']}")
    page.wait_for_url(at_parent)
    page.goto(f"{base}/record?reply_to={parent['id']}&lang=en")
    page.wait_for_selector("[data-recorder][data-ready]", timeout=10_000)
    assert "Launch plan" in page.inner_text("[data-reply-to]")
    # Send straight from recording: it stops and sends, without listening back.
    page.click('[data-action="start"]')
    page.wait_for_selector('[data-recorder][data-state="recording"]', timeout=10_000)
    began = time.monotonic()
    page.wait_for_timeout(3000)
    send_recording(page)
    seconds = time.monotonic() - began
    assert page.get_attribute("[data-recorder]", "data-state") == "sent"
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
    assert "maximum length" in page.inner_text("[data-status]")
    send_recording(page)
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
    page.check('input[name="mode"][value="screen"]')
    page.click("[data-options-toggle]")
    if mode == "screen-camera":
        page.check("[data-with-camera]")
    assert page.is_visible("[data-camera-field]") == (mode == "screen-camera")
    seconds = record(page, 4)
    probe = ready_media(base, tokens[user], page, "video", tmp_path / f"{mode}.mp4")
    assert stream_types(probe) == {"video", "audio"}
    duration = float(probe["format"]["duration"])
    assert abs(duration - 4) <= 1 and abs(duration - seconds) <= 1, (probe["format"], seconds)
    video = next(s for s in probe["streams"] if s["codec_type"] == "video")
    assert video["width"] >= 640 and video["height"] >= 360, video
    page.context.close()


def test_stop_sharing_in_the_browser_bar_stops_the_recording(
    stack: tuple[str, dict[str, str]], browser: Browser
) -> None:
    base, tokens = stack
    page = open_recorder(browser, base, "max@example.org", (1280, 800))
    page.check('input[name="mode"][value="screen"]')
    page.click('[data-action="start"]')
    page.wait_for_selector('[data-recorder][data-state="recording"]', timeout=10_000)
    began = time.monotonic()
    page.wait_for_timeout(3000)
    # The browser's "Stop sharing" ends the screen track from outside the page: the track
    # fires "ended" (stop() called by the page itself would not fire it).
    page.evaluate(
        "document.querySelector('[data-preview]').srcObject.getVideoTracks()[0]"
        ".dispatchEvent(new Event('ended'))"
    )
    page.wait_for_selector('[data-recorder][data-state="stopped"]', timeout=5_000)
    seconds = time.monotonic() - began
    send_recording(page)
    message = recorded_message(base, tokens["max"], page)
    assert message["kind"] == "video"
    assert abs(message["duration"] - seconds) <= 1, (message["duration"], seconds)
    page.context.close()


# The total is stored when Send finishes the recording, after every chunk was stored.
KEPT_TOTAL = """() => new Promise((resolve) => {
  const open = indexedDB.open("relay-recorder");
  open.onerror = () => resolve(null);
  open.onsuccess = () => {
    const request = open.result.transaction("uploads").objectStore("uploads").getAll();
    request.onsuccess = () => resolve(request.result.find((r) => r.total !== null)?.total ?? null);
    request.onerror = () => resolve(null);
  };
})"""


def _wait_until_kept(page: Page) -> None:
    """Until the page has stored the whole recording (and its total) in IndexedDB."""
    deadline = time.monotonic() + 10
    while not page.evaluate(KEPT_TOTAL):
        assert time.monotonic() < deadline, "the recording was not kept in IndexedDB"
        page.wait_for_timeout(200)


def test_bytes_not_uploaded_survive_a_reload(
    stack: tuple[str, dict[str, str]], browser: Browser
) -> None:
    base, tokens = stack
    page = open_recorder(browser, base, "lou@example.org", (1280, 800))
    page.route("**/api/uploads/**", lambda route: route.abort())
    seconds = record(page, 4)
    share = page.input_value("[data-share-input]")
    _wait_until_kept(page)
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


def test_a_kept_recording_can_be_discarded_after_a_reload(
    stack: tuple[str, dict[str, str]], browser: Browser
) -> None:
    base, tokens = stack
    page = open_recorder(browser, base, "ned@example.org", (390, 844))
    page.route("**/api/uploads/**", lambda route: route.abort())
    record(page, 2)
    _wait_until_kept(page)
    headers = {"Authorization": f"Bearer {tokens['ned']}"}
    (message,) = httpx.get(f"{base}/api/messages", headers=headers).json()["messages"]
    page.reload()
    page.wait_for_selector("[data-recorder][data-ready]", timeout=10_000)
    page.wait_for_selector("[data-pending]:visible", timeout=5_000)
    page.click("[data-pending-discard]")
    page.wait_for_selector("[data-pending]", state="hidden", timeout=5_000)
    assert page.inner_text("[data-status]") == "The recording was discarded."
    assert httpx.get(f"{base}/api/messages/{message['id']}", headers=headers).status_code == 404
    assert page.evaluate(KEPT_TOTAL) is None
    page.context.close()
