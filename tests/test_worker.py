"""The worker loop: success, retry with backoff, permanent failure, attempts exhausted."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update

from relay import jobs
from relay.context import Services
from relay.db import utcnow
from relay.models import Job, JobState, Throttle
from workers.runner import Context, Handler, JobFailed, Retry, Worker, sweep_once


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
