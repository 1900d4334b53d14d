"""The database job queue on SQLite and PostgreSQL: claim, lease, heartbeat, retry, fail."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update

from relay import jobs
from relay.context import Services
from relay.db import utcnow
from relay.enums import JobState
from relay.models import Job
from tests.conftest import Person, add_person


async def _enqueue(services: Services, kind: str = "test", **kwargs) -> int:
    async with services.sessions.begin() as session:
        job = jobs.enqueue(session, kind, **kwargs)
        await session.flush()
        return job.id


async def _job(services: Services, job_id: int) -> Job:
    async with services.sessions.begin() as session:
        return (await session.scalars(select(Job).where(Job.id == job_id))).one()


async def test_enqueue_then_claim_returns_job_and_leases_it(services: Services) -> None:
    job_id = await _enqueue(services, payload={"a": 1})
    claimed = await jobs.claim(services.sessions, "w1", 30)
    assert claimed is not None
    assert (claimed.id, claimed.payload, claimed.attempts) == (job_id, {"a": 1}, 1)
    row = await _job(services, job_id)
    assert row.state is JobState.running and row.worker_id == "w1"
    assert await jobs.claim(services.sessions, "w2", 30) is None


async def test_claim_skips_jobs_not_yet_due_and_other_kinds(services: Services) -> None:
    await _enqueue(services, run_at=utcnow() + timedelta(hours=1))
    await _enqueue(services, kind="other")
    assert await jobs.claim(services.sessions, "w1", 30, ["test"]) is None
    claimed = await jobs.claim(services.sessions, "w1", 30, ["other"])
    assert claimed is not None and claimed.kind == "other"


async def test_claim_is_oldest_first(services: Services) -> None:
    first = await _enqueue(services)
    second = await _enqueue(services)
    got = [await jobs.claim(services.sessions, "w", 30) for _ in range(2)]
    assert [g.id for g in got if g] == [first, second]


async def _people(services: Services, count: int) -> list[Person]:
    return [await add_person(services, f"owner{n}@example.org") for n in range(count)]


async def _claim_and_finish_all(services: Services) -> list[int]:
    """The order one worker takes every due job in."""
    order = []
    while (job := await jobs.claim(services.sessions, "w", 30)) is not None:
        order.append(job.id)
        async with services.sessions.begin() as session:
            await jobs.complete(session, job)
    return order


async def test_one_owners_backlog_does_not_delay_anothers_job_behind_all_of_it(
    services: Services,
) -> None:
    busy, other = await _people(services, 2)
    backlog = [await _enqueue(services, owner_id=busy.id) for _ in range(20)]
    single = await _enqueue(services, owner_id=other.id)
    order = await _claim_and_finish_all(services)
    assert order.index(single) <= 1
    assert [job_id for job_id in order if job_id != single] == backlog  # each owner's in order


async def test_owners_with_backlogs_take_turns(services: Services) -> None:
    first, second = await _people(services, 2)
    ones = [await _enqueue(services, owner_id=first.id) for _ in range(3)]
    twos = [await _enqueue(services, owner_id=second.id) for _ in range(3)]
    order = await _claim_and_finish_all(services)
    assert order == [ones[0], twos[0], ones[1], twos[1], ones[2], twos[2]]


async def test_owner_with_a_job_running_waits_behind_one_without(services: Services) -> None:
    first, second = await _people(services, 2)
    running = await _enqueue(services, owner_id=first.id)
    assert (await jobs.claim(services.sessions, "w1", 30)).id == running
    await _enqueue(services, owner_id=first.id)
    waiting = await _enqueue(services, owner_id=second.id)
    assert (await jobs.claim(services.sessions, "w2", 30)).id == waiting


async def test_concurrent_claims_never_hand_out_a_job_twice(services: Services) -> None:
    ids = {await _enqueue(services) for _ in range(20)}
    results = await asyncio.gather(*(jobs.claim(services.sessions, f"w{i}", 30) for i in range(30)))
    claimed = [r.id for r in results if r is not None]
    assert sorted(claimed) == sorted(ids)


async def test_expired_lease_is_claimed_again_with_attempt_counted(services: Services) -> None:
    job_id = await _enqueue(services)
    first = await jobs.claim(services.sessions, "dead-worker", 30)
    assert first is not None
    async with services.sessions.begin() as session:
        await session.execute(
            update(Job).where(Job.id == job_id).values(lease_until=utcnow() - timedelta(seconds=1))
        )
    second = await jobs.claim(services.sessions, "w2", 30)
    assert second is not None and second.id == job_id and second.attempts == 2
    # The dead worker no longer owns the job: its heartbeat and completion are refused.
    assert not await jobs.heartbeat(services.sessions, first, 30)
    async with services.sessions.begin() as session:
        assert not await jobs.complete(session, first)
        assert await jobs.complete(session, second)
    assert (await _job(services, job_id)).state is JobState.done


async def test_heartbeat_extends_the_lease(services: Services) -> None:
    await _enqueue(services)
    claimed = await jobs.claim(services.sessions, "w1", 1)
    assert claimed is not None
    before = (await _job(services, claimed.id)).lease_until
    assert await jobs.heartbeat(services.sessions, claimed, 60)
    after = (await _job(services, claimed.id)).lease_until
    assert before is not None and after is not None and after > before + timedelta(seconds=30)


async def test_retry_later_requeues_with_delay_and_error(services: Services) -> None:
    job_id = await _enqueue(services)
    claimed = await jobs.claim(services.sessions, "w1", 30)
    assert claimed is not None
    await jobs.retry_later(services.sessions, claimed, "boom", 3600)
    row = await _job(services, job_id)
    assert row.state is JobState.queued and row.error == "boom" and row.worker_id is None
    assert row.run_at > utcnow() + timedelta(minutes=59)
    assert await jobs.claim(services.sessions, "w1", 30) is None


async def test_fail_keeps_error_text(services: Services) -> None:
    job_id = await _enqueue(services)
    claimed = await jobs.claim(services.sessions, "w1", 30)
    assert claimed is not None
    async with services.sessions.begin() as session:
        assert await jobs.fail(session, claimed, "x" * 10_000)
    row = await _job(services, job_id)
    assert row.state is JobState.failed and row.error == "x" * jobs.ERROR_LIMIT


def test_backoff_doubles_and_is_capped() -> None:
    assert [jobs.backoff_seconds(n, 5) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert jobs.backoff_seconds(50, 5, cap=600) == 600
