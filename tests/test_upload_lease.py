"""The lock of an upload is a short lease: when the web process holding it dies mid-PATCH,
the client resumes on another process within seconds (tus-js-client's default retries span
9 s) from the offset the server recorded."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from relay.upload_service import LOCK_SECONDS
from tests.support.server import TUS, add_user, serve, stack_env

CHUNK = 64 * 1024


async def test_a_dead_process_lock_clears_in_seconds(tmp_path: Path) -> None:
    env = stack_env(tmp_path / "var", f"sqlite+aiosqlite:///{tmp_path}/relay.db", None)
    token = add_user(env, "kim@example.org")
    auth = {"Authorization": f"Bearer {token}"}
    first, base = serve(env, tmp_path / "a.log", RELAY_WORKERS="0")
    data = bytes(range(256)) * (40 * CHUNK // 256)  # 2.5 MiB
    async with httpx.AsyncClient(base_url=base, headers=auth, timeout=30) as client:
        message = (await client.post("/api/messages", json={"kind": "audio"})).json()
        upload_path = httpx.URL(message["upload_url"]).path

        async def slow_body() -> AsyncIterator[bytes]:
            for i in range(0, len(data), CHUNK):
                yield data[i : i + CHUNK]
                if i >= 8 * CHUNK:
                    await asyncio.sleep(0.2)  # still streaming when the process dies

        headers = {**TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}
        patch = asyncio.create_task(client.patch(upload_path, content=slow_body(), headers=headers))
        await asyncio.sleep(1.0)
        assert first.proc is not None
        first.proc.send_signal(signal.SIGKILL)  # mid-PATCH, holding the lock
        first.proc.wait(timeout=10)
        try:
            await patch
        except httpx.TransportError:
            pass
    second, base = serve(env, tmp_path / "b.log", RELAY_WORKERS="0")
    try:
        async with httpx.AsyncClient(base_url=base, headers=auth, timeout=30) as client:
            began = time.monotonic()
            while True:  # as a tus client retries: HEAD, then PATCH from the offset
                head = await client.head(upload_path, headers=TUS)
                offset = int(head.headers["Upload-Offset"])
                rest = {
                    **TUS,
                    "Content-Type": "application/offset+octet-stream",
                    "Upload-Offset": str(offset),
                    "Upload-Length": str(len(data)),
                }
                resumed = await client.patch(upload_path, content=data[offset:], headers=rest)
                if resumed.status_code != 423:
                    break
                assert time.monotonic() - began < LOCK_SECONDS + 3, "the lock outlived its lease"
                await asyncio.sleep(0.5)
            assert resumed.status_code == 204, resumed.text
            assert int(resumed.headers["Upload-Offset"]) == len(data)
            waited = time.monotonic() - began
            assert waited <= LOCK_SECONDS + 1, waited
            done = (await client.get(f"/api/messages/{message['id']}")).json()
            assert done["status"] in ("processing", "ready", "failed")  # the upload finished
    finally:
        second.stop()
