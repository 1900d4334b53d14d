"""A worker stopped mid-job: killed with SIGKILL, its job is claimed again after the lease;
stopped with SIGTERM, it hands the job back at once. Either way the message ends `ready`
(both stacks, real processes)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import psutil
from sqlalchemy import select

from relay.db import create_engine, sessionmaker
from relay.models import Job
from tests.support.media import make_webm
from tests.support.server import Process, add_user, serve, upload, wait_status, worker

LEASE = "2"


def wait_for_running_ffmpeg(spool: Path, seconds: float = 60) -> None:
    """Until the worker is inside the transcode (its output file has bytes)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(p.stat().st_size > 0 for p in spool.glob("job-*/out/video.mp4")):
            return
        time.sleep(0.05)
    raise AssertionError("the worker never started transcoding")


def assert_no_ffmpeg_left(data_dir: Path, seconds: float = 5) -> None:
    """The dead worker's ffmpeg goes with it (it would otherwise burn a core for nothing)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = [
            p
            for p in psutil.process_iter(["cmdline"])
            if any(str(data_dir) in part for part in p.info["cmdline"] or [])
        ]
        if not alive:
            return
        time.sleep(0.05)
    raise AssertionError(f"processes of the killed worker still run: {alive}")


@asynccontextmanager
async def busy_worker(
    env: dict[str, str], tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, dict, Process, list[Process]]]:
    """`relay serve` without workers, a 10 s camera upload, and a worker inside its
    transcode. Processes the test starts go in the list: all are stopped at the end."""
    token = add_user(env, "kim@example.org")
    web, base = serve(env, tmp_path / "serve.log")
    started = [web]
    try:
        auth = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=auth, timeout=30) as client:
            message = (await client.post("/api/messages", json={"kind": "video"})).json()
            data = make_webm(tmp_path / "long.webm", seconds=10, size="640x480").read_bytes()
            await upload(client, message["upload_url"], data)
            first = worker(env, tmp_path / "worker1.log")
            started.append(first)
            wait_for_running_ffmpeg(Path(env["RELAY_DATA_DIR"]) / "spool")
            yield client, message, first, started
    finally:
        for process in reversed(started):
            process.stop()


async def media_job(env: dict[str, str], message_id: str) -> Job:
    engine = create_engine(env["RELAY_DATABASE_URL"])
    try:
        async with sessionmaker(engine).begin() as session:
            query = select(Job).where(Job.message_id == message_id, Job.kind == "media")
            return (await session.scalars(query)).one()
    finally:
        await engine.dispose()


async def test_killed_worker_job_is_reclaimed_and_finishes(
    relay_env: dict[str, str], tmp_path: Path
) -> None:
    env = relay_env | {"RELAY_JOB_LEASE_SECONDS": LEASE, "RELAY_WORKERS": "0"}
    async with busy_worker(env, tmp_path) as (client, message, first, started):
        first.kill()
        assert_no_ffmpeg_left(Path(env["RELAY_DATA_DIR"]))
        status = (await client.get(f"/api/messages/{message['id']}")).json()["status"]
        assert status == "processing"
        second = worker(env, tmp_path / "worker2.log")
        started.append(second)
        ready = await wait_status(client, message["id"], seconds=120)
        assert ready["status"] == "ready", ready
        assert abs(ready["duration"] - 10) < 0.5
    job = await media_job(env, message["id"])
    assert job.attempts == 2
    assert second.proc is not None and f":{second.proc.pid}:" in (job.worker_id or "")


async def test_sigterm_hands_the_job_back_at_once(
    relay_env: dict[str, str], tmp_path: Path
) -> None:
    """A worker stopped with SIGTERM gives its running job back: another worker starts it at
    once, without waiting for the lease (a long one here) to run out."""
    env = relay_env | {"RELAY_JOB_LEASE_SECONDS": "600", "RELAY_WORKERS": "0"}
    async with busy_worker(env, tmp_path) as (client, message, first, started):
        began = time.monotonic()
        first.stop()  # SIGTERM
        assert first.proc is not None and first.proc.returncode == 0, first.tail()
        assert time.monotonic() - began < 5, first.tail()
        assert "handed back on stop" in first.tail()
        assert_no_ffmpeg_left(Path(env["RELAY_DATA_DIR"]))
        job = await media_job(env, message["id"])
        assert (job.state.value, job.worker_id, job.lease_until) == ("queued", None, None)
        started.append(worker(env, tmp_path / "worker2.log"))
        ready = await wait_status(client, message["id"], seconds=60)
        assert ready["status"] == "ready", ready
