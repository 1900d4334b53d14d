"""End to end over real HTTP: `relay serve` as a subprocess on both stacks, a browser-like
WebM uploaded through tus in small chunks (interrupted and resumed), played back with Range."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from relay.webvtt import parse_vtt
from tests.support.media import make_webm, mp4_boxes
from tests.support.server import CHUNK, TUS, add_user, serve, upload, wait_status
from tests.support.speech import make_speech, word_error_rate


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


async def test_record_upload_resume_process_and_play(
    relay_env: dict[str, str], tmp_path: Path
) -> None:
    token = add_user(relay_env, "ann@example.org")
    process, base = serve(relay_env, tmp_path / "serve.log")
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
            assert {"video", "audio", "poster", "preview", "waveform", "silences"} <= {
                r["name"] for r in ready["renditions"]
            }

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
    relay_env: dict[str, str], tmp_path: Path
) -> None:
    token = add_user(relay_env, "bob@example.org")
    other_token = add_user(relay_env, "eve@example.org")
    process, base = serve(relay_env, tmp_path / "serve.log")
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


async def test_voice_message_gets_a_transcript_and_captions_over_http(
    relay_env: dict[str, str], tmp_path: Path
) -> None:
    token = add_user(relay_env, "tess@example.org")
    process, base = serve(relay_env, tmp_path / "serve.log")
    try:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
            message = (await client.post("/api/messages", json={"kind": "audio"})).json()
            sentence = "Please review the budget before Friday."
            data = make_speech(tmp_path / "voice.wav", sentence, silence_after=1).read_bytes()
            await upload(client, message["upload_url"], data)
            assert (await wait_status(client, message["id"]))["status"] == "ready"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                body = (await client.get(f"/api/messages/{message['id']}")).json()
                if body["transcript"] and body["transcript"]["status"] not in (
                    "pending",
                    "running",
                ):
                    break
                await asyncio.sleep(0.2)
            assert body["transcript"]["status"] == "done", body["transcript"]
            assert word_error_rate(sentence, body["transcript"]["text"]) <= 0.25
            assert body["title"].startswith("Please review")
            captions = await client.get(f"/media/{message['id']}/captions")
            assert captions.status_code == 200
            assert captions.headers["content-type"].startswith("text/vtt")
            assert parse_vtt(captions.text)
        async with httpx.AsyncClient(timeout=30) as anonymous:
            assert (
                await anonymous.get(f"{base}/media/{message['id']}/captions")
            ).status_code == 401
            shared = await anonymous.get(f"{message['share_url']}/media/captions")
            assert shared.status_code == 200 and shared.text.startswith("WEBVTT")
            page = await anonymous.get(message["share_url"])
            assert '<track kind="captions"' in page.text
    finally:
        process.stop()
