"""The worker loop: success, retry with backoff, permanent failure, attempts exhausted;
the sweep; a worker process without the web framework."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from relay import jobs
from relay.context import Services
from relay.db import utcnow
from relay.enums import JobState
from relay.models import Event, Job, Throttle
from workers.context import Context
from workers.errors import JobFailed, Retry
from workers.runner import Handler, Worker, sweep_once


def _worker(services: Services, run, failures: list[str]) -> Worker:  # type: ignore[no-untyped-def]
    async def on_failure(session, job, reason) -> None:  # type: ignore[no-untyped-def]
        failures.append(reason)

    context = Context(services, asyncio.Semaphore(1))
    return Worker(context, {"test": Handler(run, on_failure)}, worker_id="w-test")


async def _enqueue(services: Services, max_attempts: int = 3) -> int:
    async with services.sessions.begin() as session:
        job = jobs.enqueue(session, "test", max_attempts=max_attempts)
        await session.flush()
        return job.id


async def _state(services: Services, job_id: int) -> Job:
    async with services.sessions.begin() as session:
        return (await session.scalars(select(Job).where(Job.id == job_id))).one()


async def test_successful_handler_completes_job(services: Services) -> None:
    async def run(context: Context, job: jobs.ClaimedJob) -> None:
        async with context.services.sessions.begin() as session:
            await jobs.complete(session, job)

    job_id = await _enqueue(services)
    assert await _worker(services, run, []).run(burst=True) == 1
    assert (await _state(services, job_id)).state is JobState.done


async def test_crashing_handler_is_retried_then_failed_with_a_plain_reason(
    services: Services,
) -> None:
    calls = 0

    async def run(context: Context, job: jobs.ClaimedJob) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("storage hiccup")

    failures: list[str] = []
    job_id = await _enqueue(services, max_attempts=3)
    worker = _worker(services, run, failures)
    for _ in range(3):
        await worker.run_one()
        await asyncio.sleep(0.9)  # backoff base is 0.2 s in tests: 0.2, 0.4
    row = await _state(services, job_id)
    assert calls == 3
    assert row.state is JobState.failed and "RuntimeError: storage hiccup" in (row.error or "")
    assert failures == ["Processing failed; the author can try uploading again."]


async def test_job_failed_is_permanent_at_once(services: Services) -> None:
    async def run(context: Context, job: jobs.ClaimedJob) -> None:
        raise JobFailed("This file is not a recognised audio or video format.")

    failures: list[str] = []
    job_id = await _enqueue(services)
    await _worker(services, run, failures).run(burst=True)
    assert (await _state(services, job_id)).state is JobState.failed
    assert failures == ["This file is not a recognised audio or video format."]


async def test_retry_with_explicit_delay_requeues(services: Services) -> None:
    async def run(context: Context, job: jobs.ClaimedJob) -> None:
        raise Retry("not yet", delay=3600)

    job_id = await _enqueue(services)
    await _worker(services, run, []).run(burst=True)
    row = await _state(services, job_id)
    assert row.state is JobState.queued and row.attempts == 1 and row.error == "not yet"


async def test_lost_lease_cancels_the_handler(services: Services) -> None:
    cancelled = asyncio.Event()

    async def run(context: Context, job: jobs.ClaimedJob) -> None:
        # Another worker takes the job over (as after an expired lease).
        async with context.services.sessions.begin() as session:
            await session.execute(
                update(Job).where(Job.id == job.id).values(worker_id="somebody-else")
            )
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    job_id = await _enqueue(services)
    worker = _worker(services, run, [])
    await asyncio.wait_for(worker.run_one(), timeout=10)  # lease 5 s, heartbeat every 1.7 s
    assert cancelled.is_set()
    assert (await _state(services, job_id)).worker_id == "somebody-else"


async def test_sweep_forgets_throttle_counts_of_days_ago_and_keeps_recent_ones(
    services: Services,
) -> None:
    async with services.sessions.begin() as session:
        session.add_all(
            [
                Throttle(key="login:acct:old", count=9, since=utcnow() - timedelta(days=2)),
                Throttle(key="login:acct:new", count=1, since=utcnow() - timedelta(minutes=5)),
            ]
        )
    await sweep_once(services)
    async with services.sessions.begin() as session:
        assert (await session.scalars(select(Throttle.key))).all() == ["login:acct:new"]


async def test_sweep_forgets_live_events_of_days_ago_but_keeps_the_newest(
    services: Services,
) -> None:
    # SQLite would give the newest id out again, and pollers ask only for larger ids.
    old = utcnow() - timedelta(days=3)
    async with services.sessions.begin() as session:
        for kind, created_at in (("message", old), ("status", utcnow()), ("deleted", old)):
            session.add(Event(thread_id="t", kind=kind, created_at=created_at))
            await session.flush()
    await sweep_once(services)
    async with services.sessions.begin() as session:
        kinds = (await session.scalars(select(Event.kind).order_by(Event.id))).all()
    assert kinds == ["status", "deleted"]


def test_the_worker_runs_without_the_web_framework(tmp_path: Path) -> None:
    """`relay worker` and `relay user add` import neither Starlette nor uvicorn."""
    code = (
        "import sys\n"
        "import workers.runner\n"
        "from relay import cli\n"
        "assert cli.main(['worker', '--burst']) == 0\n"
        "user = ['user', 'add', '--email', 'a@example.org', '--password', 'x' * 12]\n"
        "assert cli.main(user) == 0\n"
        "loaded = {name.split('.')[0] for name in sys.modules}\n"
        "assert not loaded & {'starlette', 'uvicorn'}, loaded & {'starlette', 'uvicorn'}\n"
        "assert 'relay.web.app' not in sys.modules\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env["RELAY_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
