"""End to end over real HTTP: `relay serve` as a subprocess on both stacks, a browser-like
WebM uploaded through tus in small chunks (interrupted and resumed), played back with Range."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import STACKS, create_pg_database, drop_pg_database
from tests.media import make_webm, mp4_boxes
from tests.server import add_user, serve, stack_env

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = 64 * 1024


@pytest.fixture(params=STACKS)
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    if request.param == "embedded":
        yield stack_env(tmp_path / "var", f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}", None)
        return
    url = await create_pg_database()
    yield stack_env(tmp_path / "var", url, request.getfixturevalue("s3_settings"))
    await drop_pg_database(url)


def interrupted_patch(url: str, token: str, offset: int, data: bytes) -> None:
    """Announce len(data) bytes, send half of them, then drop the connection."""
    parts = urlsplit(url)
    head = (
        f"PATCH {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Bearer {token}\r\nTus-Resumable: 1.0.0\r\n"
        f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode()
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall(head + data[: len(data) // 2])
        time.sleep(0.3)


async def wait_status(client: httpx.AsyncClient, message_id: str, *, seconds: float = 90) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = (await client.get(f"/api/messages/{message_id}")).json()
        if body["status"] in ("ready", "failed"):
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"message {message_id} stayed {body['status']}")


async def upload(
    client: httpx.AsyncClient, url: str, data: bytes, start: int = 0, stop: int | None = None
) -> None:
    """PATCH data[start:stop] in CHUNK pieces; the piece that ends the data sets its length."""
    offset, stop = start, len(data) if stop is None else stop
    while offset < stop:
        chunk = data[offset : min(stop, offset + CHUNK)]
        final = {"Upload-Length": str(len(data))} if offset + len(chunk) == len(data) else {}
        headers = {
            **TUS,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": str(offset),
            **final,
        }
        response = await client.patch(url, content=chunk, headers=headers)
        assert response.status_code == 204, response.text
        offset = int(response.headers["Upload-Offset"])


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
            str(path),
        ],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    return json.loads(out)


async def test_record_upload_resume_process_and_play(env: dict[str, str], tmp_path: Path) -> None:
    token = add_user(env, "ann@example.org")
    process, base = serve(env, tmp_path / "serve.log")
    try:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
            created = await client.post(
                "/api/messages", json={"kind": "video", "title": "Weekly update"}
            )
            assert created.status_code == 201
            message = created.json()
            assert message["share_url"].startswith(base + "/s/")
            data = make_webm(tmp_path / "rec.webm", seconds=4, size="320x240").read_bytes()

            # Half the recording, then a connection that drops mid-body, then resume.
            await upload(client, message["upload_url"], data, stop=len(data) // 2)
            before = len(data) // 2
            interrupted_patch(
                message["upload_url"], token, before, data[before : before + 3 * CHUNK]
            )
            deadline = time.monotonic() + 10
            offset = before
            while time.monotonic() < deadline and offset == before:
                head = await client.head(message["upload_url"], headers=TUS)
                offset = int(head.headers["Upload-Offset"])
                await asyncio.sleep(0.1)
            assert before < offset <= before + 3 * CHUNK // 2, "the bytes that arrived are kept"
            await upload(client, message["upload_url"], data, start=offset)

            ready = await wait_status(client, message["id"])
            assert ready["status"] == "ready", ready
            assert abs(ready["duration"] - 4) < 0.5
            video = next(r for r in ready["renditions"] if r["name"] == "video")
            assert {r["name"] for r in ready["renditions"]} == {"video", "poster"}

            first_two = await client.get(
                video["url"], headers={"Range": "bytes=0-1"}, follow_redirects=True
            )
            assert first_two.status_code == 206 and len(first_two.content) == 2
            assert first_two.headers["Content-Range"].endswith(f"/{video['bytes']}")
            whole = await client.get(video["url"], follow_redirects=True)
            assert whole.status_code == 200
            mp4 = tmp_path / "out.mp4"
            mp4.write_bytes(whole.content)
            probe = ffprobe(mp4)
            codecs = {s["codec_type"]: s["codec_name"] for s in probe["streams"]}
            assert codecs == {"video": "h264", "audio": "aac"}
            boxes = mp4_boxes(mp4)
            assert boxes.index("moov") < boxes.index("mdat"), "faststart: moov before mdat"

        # The share link plays without an account.
        async with httpx.AsyncClient(timeout=30) as anonymous:
            page = await anonymous.get(message["share_url"])
            assert page.status_code == 200 and "Weekly update" in page.text
            media = await anonymous.get(
                f"{message['share_url']}/media/video",
                headers={"Range": "bytes=0-1"},
                follow_redirects=True,
            )
            assert media.status_code == 206
            assert (await anonymous.get(f"{base}/media/{message['id']}/video")).status_code == 401
    finally:
        process.stop()


async def test_bad_uploads_fail_clearly_while_a_good_one_goes_through(
    env: dict[str, str], tmp_path: Path
) -> None:
    token = add_user(env, "bob@example.org")
    other_token = add_user(env, "eve@example.org")
    process, base = serve(env, tmp_path / "serve.log")
    try:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:

            async def new() -> dict:
                return (await client.post("/api/messages", json={"kind": "video"})).json()

            good, noise, truncated, empty = await new(), await new(), await new(), await new()
            webm = make_webm(tmp_path / "good.webm", seconds=3).read_bytes()
            random_bytes = b"\x1a\x45\xdf\xa3" + os.urandom(200_000)  # WebM magic, then garbage
            await asyncio.gather(
                upload(client, good["upload_url"], webm),
                upload(client, noise["upload_url"], random_bytes),
                upload(client, truncated["upload_url"], webm[: len(webm) // 3]),
            )
            zero = await client.patch(
                empty["upload_url"],
                content=b"",
                headers={
                    **TUS,
                    "Content-Type": "application/offset+octet-stream",
                    "Upload-Offset": "0",
                    "Upload-Length": "0",
                },
            )
            assert zero.status_code == 400 and "empty" in zero.json()["detail"]

            failed = await wait_status(client, noise["id"])
            assert failed["status"] == "failed"
            assert "could not be read" in failed["error"] or "not a recognised" in failed["error"]
            cut = await wait_status(client, truncated["id"])
            # A truncated recording plays as far as it goes, or fails with a reason.
            assert cut["status"] == "ready" and cut["duration"] < 2.5 or cut["error"]
            assert (await wait_status(client, good["id"]))["status"] == "ready"

            async with httpx.AsyncClient(base_url=base, timeout=30) as eve:
                eve.headers["Authorization"] = f"Bearer {other_token}"
                assert (await eve.get(f"/api/messages/{good['id']}")).status_code == 404
                assert (await eve.get(f"/media/{good['id']}/video")).status_code == 404
                assert (await eve.delete(f"/api/messages/{good['id']}")).status_code == 404
            assert (await client.get("/healthz")).status_code == 200
    finally:
        process.stop()
