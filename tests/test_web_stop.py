"""SIGTERM on `relay serve`: it stops accepting, lets a PATCH in flight finish, and ends live
streams at once with a retry hint (their clients reconnect, to another instance behind a
load balancer), so the process exits in seconds, not after the graceful timeout."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from tests.support.server import TUS, add_user, serve, stack_env

CHUNK = 64 * 1024


async def test_sigterm_finishes_uploads_and_closes_streams(tmp_path: Path) -> None:
    env = stack_env(tmp_path / "var", f"sqlite+aiosqlite:///{tmp_path}/relay.db", None)
    token = add_user(env, "kim@example.org")
    auth = {"Authorization": f"Bearer {token}"}
    process, base = serve(env, tmp_path / "serve.log", RELAY_WORKERS="0")
    data = b"\x01" * (24 * CHUNK)
    async with httpx.AsyncClient(base_url=base, headers=auth, timeout=30) as client:
        body = {"kind": "text", "body": "Live?"}
        thread = (await client.post("/api/messages", json=body)).json()["thread_id"]
        message = (await client.post("/api/messages", json={"kind": "audio"})).json()

        async def stream() -> list[str]:
            lines = []
            async with client.stream("GET", f"/api/threads/{thread}/events") as response:
                async for line in response.aiter_lines():
                    lines.append(line)
            return lines

        async def slow_body() -> AsyncIterator[bytes]:
            for i in range(0, len(data), CHUNK):
                yield data[i : i + CHUNK]
                await asyncio.sleep(0.1)  # about 2.4 s in all

        listening = asyncio.create_task(stream())
        headers = {
            **TUS,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": "0",
            "Upload-Length": str(len(data)),
        }
        upload = asyncio.create_task(
            client.patch(message["upload_url"], content=slow_body(), headers=headers)
        )
        await asyncio.sleep(0.8)
        began = time.monotonic()
        assert process.proc is not None
        process.proc.send_signal(signal.SIGTERM)
        lines = await asyncio.wait_for(listening, 5)
        assert "retry: 1000" in lines  # the stream ended at once, with a hint to come back
        finished = await upload
        assert finished.status_code == 204, finished.text  # the PATCH in flight completed
        assert int(finished.headers["Upload-Offset"]) == len(data)
        process.proc.wait(timeout=10)
        assert time.monotonic() - began < 5, process.tail()
        # uvicorn ends the process by the signal it was stopped with, once shut down.
        assert process.proc.returncode in (0, -signal.SIGTERM), process.tail()
        assert "Application shutdown complete." in process.tail()
