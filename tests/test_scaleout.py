"""Relay spread out on this machine, as the README's "At scale" runs it: nginx (infra/nginx.conf)
in front of two `relay serve` processes without workers and two `relay worker` processes, on
PostgreSQL + Swift. A dozen tus-js-client uploads with the client's default retries go through
nginx while one web process and one worker are killed with SIGKILL: every upload resumes on
the other instance by itself and every message becomes ready with its duration. A listener on
one web process hears a reply posted on the other within a second."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.support.media import make_webm
from tests.support.server import Process, add_user, front_conf, nginx, serve, worker
from tests.test_tus_interop import SCRIPT, node

pytestmark = pytest.mark.parametrize("relay_env", ["scaled"], indirect=True)
UPLOADS = 12
SECONDS = 6.0


def _stuck(messages: list[dict], worker: Process) -> str:
    """What to read when messages are not all done in time: each status, the live worker's log."""
    statuses = ", ".join(f"{m['id']} {m['status']}" for m in messages)
    return f"{len(messages)} messages: {statuses}\nworker log:\n{worker.tail(60)}"


def _front_log(tmp: Path) -> str:
    """nginx's error log: why it answered a client itself (502, 504) rather than pass it on."""
    return "\nnginx log:\n" + (tmp / "nginx.log").read_text()[-4000:]


async def heard_within(listen_base: str, post_base: str, token: str) -> float:
    """Seconds from a reply posted on one web process to its event on the other's stream."""
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(headers=auth, timeout=30) as client:
        body = {"kind": "text", "body": "Anyone there?"}
        first = (await client.post(f"{post_base}/api/messages", json=body)).json()
        url = f"{listen_base}/api/threads/{first['thread_id']}/events"
        async with client.stream("GET", url) as stream:
            lines = stream.aiter_lines()
            await anext(lines)  # the retry hint: the stream is open
            began = time.monotonic()
            reply = {"kind": "text", "body": "Here.", "parent_id": first["id"]}
            posted = await client.post(f"{post_base}/api/messages", json=reply)
            assert posted.status_code == 201, posted.text
            async for line in lines:
                if line.startswith("event: message"):
                    return time.monotonic() - began
    raise AssertionError("the stream ended without the reply")


async def test_uploads_survive_a_killed_web_process_and_worker(
    relay_env: dict[str, str], tmp_path: Path
) -> None:
    env = relay_env | {"RELAY_JOB_LEASE_SECONDS": "4", "RELAY_WORKERS": "0"}
    env["RELAY_OPEN_UPLOADS_PER_USER"] = str(2 * UPLOADS)  # one person sends them all
    token = add_user(env, "kim@example.org")
    web_a, base_a = serve(env, tmp_path / "a.log")
    web_b, base_b = serve(env, tmp_path / "b.log")
    workers = [worker(env, tmp_path / f"w{i}.log") for i in (1, 2)]
    ports = [int(base.rsplit(":", 1)[1]) for base in (base_a, base_b)]
    conf, port = front_conf(tmp_path, ports)
    video = make_webm(tmp_path / "camera.webm", seconds=SECONDS, size="640x480")
    try:
        with nginx(conf, tmp_path):
            front = f"http://127.0.0.1:{port}"
            # Live updates cross processes: posted on A, heard on B.
            delays = [await heard_within(base_b, base_a, token) for _ in range(5)]
            assert sorted(delays)[-1] < 1.0, delays

            # Recorder-like: 64 KiB every 400 ms (the file is 5 or 6 of them), so the uploads
            # are mid-way when the kills come, whatever node's start-up takes.
            argv = [node(), str(SCRIPT), "--chunk-size", str(64 * 1024), "--pace-ms", "400", "--"]
            uploads = [
                await asyncio.create_subprocess_exec(
                    *argv,
                    f"{front}/api/uploads/",
                    token,
                    str(video),
                    "deferred",
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
                for _ in range(UPLOADS)
            ]
            await asyncio.sleep(1.0)  # mid-way: uploads are running
            # Frozen first, so the PATCHes nginx hands it stay in flight until it dies: a kill
            # between two PATCHes would let nginx pass the next one to B unseen by the client.
            os.killpg(web_a.pid, signal.SIGSTOP)
            await asyncio.sleep(0.5)
            web_a.kill()
            workers[0].kill()
            results = await asyncio.wait_for(
                asyncio.gather(*(u.communicate() for u in uploads)), 120
            )
            resumed = 0
            for upload, (out, err) in zip(uploads, results, strict=True):
                assert upload.returncode == 0, err.decode()[-2000:] + _front_log(tmp_path)
                done = json.loads(out.decode().splitlines()[-1])
                assert done["bytes"] == video.stat().st_size
                resumed += any(r["method"] == "HEAD" for r in done["requests"])
            assert resumed > 0  # some PATCHes were cut by the kill: their clients resumed

            auth = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=front, headers=auth, timeout=30) as client:
                deadline = time.monotonic() + 180
                while True:
                    listed = (await client.get("/api/messages")).json()["messages"]
                    videos = [m for m in listed if m["kind"] != "text"]
                    # A client whose HEAD got an error answer starts its upload over (a new
                    # message); the one it left stays `uploading` until it expires.
                    done = [m for m in videos if m["status"] in ("ready", "failed")]
                    if len(done) >= UPLOADS:
                        videos = done
                        break
                    assert time.monotonic() < deadline, _stuck(videos, workers[1])
                    await asyncio.sleep(0.5)
            assert [m["status"] for m in videos] == ["ready"] * UPLOADS
            for message in videos:
                assert abs(message["duration"] - SECONDS) < 0.5, message
                assert {r["name"] for r in message["renditions"]} >= {"video", "audio", "poster"}
    finally:
        for process in (*workers, web_a, web_b):
            process.stop()
