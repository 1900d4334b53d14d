"""The job queue, kept in the database next to the data it changes (no extra broker).

A job is enqueued in the same transaction that changes its message. Workers claim one
job per statement (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite serialises writers
with BEGIN IMMEDIATE, see relay.db), hold it under a lease that a heartbeat extends, and
a job whose worker died is claimed again once its lease has run out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from relay import logs, wakeups
from relay.db import Sessionmaker, utcnow
from relay.enums import JobState
from relay.models import Job

ERROR_LIMIT = 8000

# The kinds of job, each run by its handler in workers/ (the table is in workers/runner.py).
MEDIA_JOB = "media"  # an upload into verified renditions; the message becomes ready
LIVE_JOB = "live"  # the same while a recording is still arriving, and its transcript
TRANSCRIBE_JOB = "transcribe"  # a playable message's audio into its transcript
ANNOUNCE_JOB = "announce"  # a message others can now see into notification batches
NOTIFY_JOB = "notify"  # a due batch into one mail (relay.notify)


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    message_id: str | None
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    worker_id: str


def enqueue(
    session: AsyncSession,
    kind: str,
    *,
    message_id: str | None = None,
    owner_id: str | None = None,
    payload: dict[str, Any] | None = None,
    max_attempts: int = 5,
    run_at: datetime | None = None,
) -> Job:
    """Add a job to the caller's transaction; it becomes visible when that commits."""
    payload = dict(payload or {})
    if (request_id := logs.REQUEST_ID.get()) is not None:
        payload.setdefault("request_id", request_id)  # its log lines name the request
    job = Job(
        kind=kind,
        message_id=message_id,
        owner_id=owner_id,
        payload=payload,
        state=JobState.queued,
        max_attempts=max_attempts,
        run_at=run_at or utcnow(),
    )
    session.add(job)
    wakeups.after_commit(session, wakeups.JOBS)
    return job


async def claim(
    sessions: Sessionmaker, worker_id: str, lease_seconds: float, kinds: list[str] | None = None
) -> ClaimedJob | None:
    """Take a due job, or a running one whose lease ran out, in one statement.

    Fair between owners: the job of the owner whose last claim is oldest (or who has none)
    goes first, so one person's backlog does not delay everyone else's work; each owner's
    own jobs go oldest first.
    """
    now = utcnow()
    due = or_(
        and_(Job.state == JobState.queued, Job.run_at <= now),
        and_(Job.state == JobState.running, Job.lease_until < now),
    )
    served = aliased(Job)
    last_served = (
        select(func.max(served.claimed_at))
        .where(served.owner_id == Job.owner_id)
        .correlate(Job)
        .scalar_subquery()
    )
    candidate = select(Job.id).where(due)
    if kinds is not None:
        candidate = candidate.where(Job.kind.in_(kinds))
    candidate = (
        candidate.order_by(last_served.asc().nulls_first(), Job.run_at, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).scalar_subquery()
    statement = (
        update(Job)
        .where(Job.id == candidate, due)
        .values(
            state=JobState.running,
            worker_id=worker_id,
            lease_until=now + timedelta(seconds=lease_seconds),
            claimed_at=now,
            attempts=Job.attempts + 1,
            updated_at=now,
        )
        .returning(Job.id, Job.kind, Job.message_id, Job.payload, Job.attempts, Job.max_attempts)
        .execution_options(synchronize_session=False)
    )
    async with sessions.begin() as session:
        row = (await session.execute(statement)).first()
    if row is None:
        return None
    return ClaimedJob(
        id=row.id,
        kind=row.kind,
        message_id=row.message_id,
        payload=row.payload or {},
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        worker_id=worker_id,
    )


def _owned(job: ClaimedJob):  # type: ignore[no-untyped-def]
    return and_(Job.id == job.id, Job.worker_id == job.worker_id, Job.state == JobState.running)


async def heartbeat(sessions: Sessionmaker, job: ClaimedJob, lease_seconds: float) -> bool:
    """Extend the lease; False when another worker has taken the job over."""
    now = utcnow()
    async with sessions.begin() as session:
        result = await session.execute(
            update(Job)
            .where(_owned(job))
            .values(lease_until=now + timedelta(seconds=lease_seconds), updated_at=now)
        )
    return result.rowcount == 1


async def complete(session: AsyncSession, job: ClaimedJob) -> bool:
    """Mark done inside the caller's transaction (with the job's own changes)."""
    result = await session.execute(
        update(Job)
        .where(_owned(job))
        .values(state=JobState.done, lease_until=None, error=None, updated_at=utcnow())
    )
    return result.rowcount == 1


async def retry_later(
    sessions: Sessionmaker, job: ClaimedJob, error: str, delay_seconds: float
) -> None:
    now = utcnow()
    async with sessions.begin() as session:
        await session.execute(
            update(Job)
            .where(_owned(job))
            .values(
                state=JobState.queued,
                run_at=now + timedelta(seconds=delay_seconds),
                lease_until=None,
                worker_id=None,
                error=error[-ERROR_LIMIT:],
                updated_at=now,
            )
        )


async def hand_back(sessions: Sessionmaker, job: ClaimedJob) -> bool:
    """A stopping worker gives its job back at once: queued and due, the attempt not counted,
    so another worker starts it without waiting for the lease to run out."""
    now = utcnow()
    async with sessions.begin() as session:
        result = await session.execute(
            update(Job)
            .where(_owned(job))
            .values(
                state=JobState.queued,
                run_at=now,
                lease_until=None,
                worker_id=None,
                attempts=Job.attempts - 1,
                updated_at=now,
            )
        )
    return result.rowcount == 1


async def fail(session: AsyncSession, job: ClaimedJob, error: str) -> bool:
    """Give up on the job inside the caller's transaction; False if no longer ours."""
    result = await session.execute(
        update(Job)
        .where(_owned(job))
        .values(
            state=JobState.failed, lease_until=None, error=error[-ERROR_LIMIT:], updated_at=utcnow()
        )
    )
    return result.rowcount == 1


def backoff_seconds(attempts: int, base: float, cap: float = 3600.0) -> float:
    """Exponential backoff: base, 2·base, 4·base, … capped."""
    return min(cap, base * 2 ** max(0, attempts - 1))
