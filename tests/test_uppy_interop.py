"""Uppy (the `uppy` package's bundled ESM build, tests/interop/node_modules) uploads to Relay's
tus endpoint from a real browser (Debian's chromium) against `relay serve` on the embedded
stack: one plain upload, and one whose PATCHes are cut off for a moment so that Uppy's tus
retry has to resume it. Both recordings must become playable messages.

The test page, the bundle and the recordings are served from the relay's own origin by
`page.route`, so no CORS is involved and the relay's pages (and their CSP) are not used."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    Page,
    Playwright,
    Request,
    Response,
    Route,
    sync_playwright,
)

from tests.support.browser import launch
from tests.support.media import make_webm
from tests.support.server import ROOT, TUS, add_user, serve, stack_env, wait_status

UPPY = ROOT / "tests" / "interop" / "node_modules" / "uppy" / "dist" / "uppy.min.mjs"
CHUNK = 256 * 1024
PAGE = """<!doctype html>
<meta charset="utf-8">
<title>Uppy interop</title>
<script type="module">
import { Uppy, Tus } from "./uppy.min.mjs";

// Uploads the file at `src` with Uppy's Tus plugin; the outcome lands in window.uppyResults.
window.uppyResults = {};
window.uppyUpload = async (src, name, token) => {
  const blob = await (await fetch(src)).blob();
  const uppy = new Uppy({ id: name, autoProceed: false });
  uppy.use(Tus, {
    endpoint: "/api/uploads/",
    headers: { Authorization: `Bearer ${token}` },
    chunkSize: CHUNK_SIZE,
    retryDelays: [0, 500],
  });
  const errors = [];
  uppy.on("upload-error", (file, error) => errors.push(String(error)));
  uppy.addFile({
    name,
    type: "video/webm",
    data: new File([blob], name, { type: "video/webm" }),
    meta: { filename: name, filetype: "video/webm" },
  });
  try {
    const result = await uppy.upload();
    window.uppyResults[name] = {
      successful: result.successful.map((f) => ({ uploadURL: f.uploadURL, size: f.size })),
      failed: result.failed.map((f) => String(f.error)),
      errors,
    };
  } catch (error) {
    window.uppyResults[name] = { successful: [], failed: [String(error)], errors };
  }
};
window.uppyReady = true;
</script>
""".replace("CHUNK_SIZE", str(CHUNK))


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = launch(playwright, None, allow_media=False)
    try:
        yield browser
    finally:
        browser.close()


def uppy_page(browser: Browser, base: str, files: dict[str, Path]) -> Page:
    """A page at {base}/__uppy__/ with the bundle and `files` routed from local disk."""
    page = browser.new_context().new_page()

    def fulfill(route: Route) -> None:
        name = route.request.url.rsplit("/", 1)[-1]
        if name == "index.html":
            route.fulfill(status=200, content_type="text/html", body=PAGE)
        elif name == UPPY.name:
            route.fulfill(status=200, content_type="text/javascript", path=UPPY)
        elif name in files:
            route.fulfill(status=200, content_type="video/webm", path=files[name])
        else:
            route.fulfill(status=404, body="not routed")

    page.route(f"{base}/__uppy__/**", fulfill)
    page.goto(f"{base}/__uppy__/index.html")
    page.wait_for_function("window.uppyReady === true", timeout=15_000)
    return page


def start(page: Page, name: str, token: str) -> None:
    page.evaluate("([n, t]) => { window.uppyUpload(n, n, t) }", [name, token])


def result(page: Page, name: str, seconds: float = 30) -> dict:
    handle = page.wait_for_function(
        "(n) => window.uppyResults[n]", arg=name, timeout=seconds * 1000, polling=100
    )
    return handle.json_value()


T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run an httpx coroutine to completion: Playwright's sync API holds this thread's loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def check_upload(base: str, token: str, url: str, path: Path) -> list[dict]:
    """The server holds every byte of the upload, with Uppy's metadata; returns the messages."""
    headers = {"Authorization": f"Bearer {token}"}
    size = path.stat().st_size
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        head = await client.head(url, headers=TUS)
        assert head.status_code == 200, head.text
        assert head.headers["Upload-Offset"] == str(size)
        assert head.headers["Upload-Length"] == str(size)
        pairs = (pair.strip().split(" ") for pair in head.headers["Upload-Metadata"].split(","))
        metadata = {p[0]: base64.b64decode(p[1]).decode() for p in pairs}
        # Uppy sends its own name and type besides the meta it was given.
        assert metadata == {
            "filename": path.name,
            "filetype": "video/webm",
            "name": path.name,
            "type": "video/webm",
        }, metadata
        return (await client.get("/api/messages")).json()["messages"]


async def playable(base: str, token: str, message_id: str, seconds: float) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        ready = await wait_status(client, message_id)
        assert ready["status"] == "ready", ready
        assert abs(ready["duration"] - seconds) < 0.5, ready["duration"]
        video = next(r for r in ready["renditions"] if r["name"] == "video")
        first_two = await client.get(
            video["url"], headers={"Range": "bytes=0-1"}, follow_redirects=True
        )
        assert first_two.status_code == 206 and len(first_two.content) == 2
        assert first_two.headers["Content-Range"] == f"bytes 0-1/{video['bytes']}"
        return ready


def test_uppy_uploads_and_resumes(browser: Browser, tmp_path: Path) -> None:
    if not UPPY.is_file():
        pytest.fail(
            "tests/interop/node_modules/uppy is needed; run infra/setup.sh --test", pytrace=False
        )
    env = stack_env(tmp_path / "var", f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}", None)
    token = add_user(env, "uppy@example.org")
    process, base = serve(env, tmp_path / "serve.log")
    try:
        short = make_webm(tmp_path / "short.webm", seconds=3)
        long = make_webm(tmp_path / "long.webm", seconds=20, size="640x480")
        assert long.stat().st_size > 4 * CHUNK
        page = uppy_page(browser, base, {"short.webm": short, "long.webm": long})
        uploads = f"{base}/api/uploads/"

        # Every tus exchange the browser makes: method, the offset it sent, the outcome.
        log: list[dict] = []

        def sent(request: Request) -> None:
            if request.url.startswith(uploads):
                log.append(
                    {
                        "method": request.method,
                        "url": request.url,
                        "offset": request.headers.get("upload-offset"),
                        "request": request,
                    }
                )

        def entry(request: Request) -> dict:
            return next(e for e in log if e["request"] is request)

        def answered(response: Response) -> None:
            if response.url.startswith(uploads):
                entry(response.request).update(
                    status=response.status, got=response.headers.get("upload-offset")
                )

        def failed(request: Request) -> None:
            if request.url.startswith(uploads):
                entry(request)["status"] = "failed"

        page.on("request", sent)
        page.on("response", answered)
        page.on("requestfailed", failed)

        # 1. A plain upload: one POST, then 256 KiB PATCHes.
        began = time.monotonic()
        start(page, "short.webm", token)
        outcome = result(page, "short.webm")
        assert outcome["failed"] == [] and outcome["errors"] == [], outcome
        [done] = outcome["successful"]
        size = short.stat().st_size
        assert done["size"] == size
        assert done["uploadURL"].startswith(uploads), done
        assert [(e["method"], e["status"]) for e in log][:1] == [("POST", 201)], log
        patches = [e for e in log if e["method"] == "PATCH"]
        assert all(p["status"] == 204 for p in patches), log
        assert int(patches[-1]["got"]) == size
        short_seconds = time.monotonic() - began

        messages = run(check_upload(base, token, done["uploadURL"], short))
        assert len(messages) == 1, messages
        first = messages[0]
        assert first["kind"] == "video" and first["title"] == "short", first

        # 2. Cut off every PATCH after the first one until two have failed; Uppy's tus retry
        # (retryDelays [0, 500]) asks the server for the offset (HEAD) and resumes from it.
        log.clear()
        aborted: list[str | None] = []
        first_patch: list[str] = []

        def gate(route: Route) -> None:
            request = route.request
            if request.method != "PATCH":
                route.continue_()
            elif not first_patch:
                first_patch.append(request.url)
                route.continue_()
            else:
                aborted.append(request.headers.get("upload-offset"))
                route.abort("connectionreset")

        page.route(f"{uploads}*", gate)
        began = time.monotonic()
        start(page, "long.webm", token)
        deadline = time.monotonic() + 20
        while len(aborted) < 2 and time.monotonic() < deadline:
            page.wait_for_timeout(20)
        assert len(aborted) == 2, (aborted, log)
        page.unroute(f"{uploads}*", gate)
        outcome = result(page, "long.webm")
        long_seconds = time.monotonic() - began
        assert outcome["failed"] == [], (outcome, log)
        [done] = outcome["successful"]
        size = long.stat().st_size
        assert done["size"] == size and done["uploadURL"].startswith(uploads), done
        # Resumed, not restarted: a single POST, the cut-off offset is retried after a HEAD
        # that reports it, and the PATCHes that arrived cover the file exactly once.
        assert [(e["method"], e["status"]) for e in log][:7] == [
            ("POST", 201),
            ("PATCH", 204),
            ("PATCH", "failed"),
            ("HEAD", 200),
            ("PATCH", "failed"),
            ("HEAD", 200),
            ("PATCH", 204),
        ], log
        assert [e["method"] for e in log].count("POST") == 1, log
        assert aborted == [str(CHUNK), str(CHUNK)], aborted
        heads = [e for e in log if e["method"] == "HEAD"]
        assert heads and all(h["status"] == 200 and h["got"] == str(CHUNK) for h in heads), log
        landed = [e for e in log if e["method"] == "PATCH" and e["status"] == 204]
        assert [int(p["offset"]) for p in landed] == list(range(0, size, CHUNK)), log
        assert int(landed[-1]["got"]) == size

        listed = run(check_upload(base, token, done["uploadURL"], long))
        assert len(listed) == 2, listed
        second = next(m for m in listed if m["id"] != first["id"])
        assert second["title"] == "long", second

        began = time.monotonic()
        run(playable(base, token, first["id"], 3))
        run(playable(base, token, second["id"], 20))
        ready_seconds = time.monotonic() - began
        print(
            f"uppy: short {short_seconds:.2f} s, resumed long ({size} B) {long_seconds:.2f} s, "
            f"both ready {ready_seconds:.2f} s later"
        )
    except BaseException:
        print(process.tail())
        raise
    finally:
        process.stop()
