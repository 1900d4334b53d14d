"""The worker loop: claim a job, run its handler under a heartbeat, record the outcome.

Used embedded in `relay serve` and alone in `relay worker` (with `--burst` it processes
what is queued and exits, which makes end-to-end tests deterministic).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from relay import events, jobs, logs, metrics, throttle, upload_service
from relay.context import Services
from workers import live_job, media_job, notify_job, transcript_job
from workers.context import Context
from workers.errors import JobFailed, Retry

log = logging.getLogger("relay.worker")
SWEEP_SECONDS = 300.0

Run = Callable[[Context, jobs.ClaimedJob], Awaitable[None]]
OnFailure = Callable[[AsyncSession, jobs.ClaimedJob, str], Awaitable[None]]


@dataclass(frozen=True)
class Handler:
    run: Run
    on_failure: OnFailure  # called in the transaction that marks the job failed
    # What people read when the job fails for a reason of ours, not theirs.
    unexpected: str = "Processing failed; the author can try uploading again."


def default_handlers() -> dict[str, Handler]:
    return {
        jobs.MEDIA_JOB: Handler(media_job.run, media_job.on_failure),
        jobs.LIVE_JOB: Handler(live_job.run, live_job.on_failure),
        jobs.TRANSCRIBE_JOB: Handler(
            transcript_job.run, transcript_job.on_failure, transcript_job.UNEXPECTED
        ),
        jobs.ANNOUNCE_JOB: Handler(notify_job.announce, notify_job.on_failure),
        jobs.NOTIFY_JOB: Handler(notify_job.notify, notify_job.on_failure, notify_job.UNEXPECTED),
    }


class Worker:
    def __init__(
        self,
        context: Context,
        handlers: dict[str, Handler],
        worker_id: str | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        self.context = context
        self.handlers = handlers
        # Set to stop: no further claim, and a running job is handed back at once.
        self.stop = stop or asyncio.Event()
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.settings = context.services.settings.jobs

    async def run(self, *, burst: bool = False) -> int:
        """Process jobs until stopped (or, in burst mode, until none is due)."""
        done = 0
        wakeup = self.context.services.wakeup
        while not self.stop.is_set():
            # Cleared before looking, so a job committed while we look is not waited for.
            wakeup.clear()
            if await self.run_one():
                done += 1
                continue
            if burst:
                return done
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), self.settings.poll_seconds)
        return done

    async def run_one(self) -> bool:
        services = self.context.services
        job = await jobs.claim(
            services.sessions, self.worker_id, self.settings.lease_seconds, list(self.handlers)
        )
        if job is None:
            return False
        handler = self.handlers[job.kind]
        if job.attempts > job.max_attempts:
            await self._fail(handler, job, "It was tried too often without finishing.")
            return True
        began, outcome = time.perf_counter(), "done"
        # The work's log lines carry the id of the request that queued it (a task copies
        # the context it is created in).
        request = logs.REQUEST_ID.set(job.payload.get("request_id"))
        work = asyncio.create_task(handler.run(self.context, job))
        logs.REQUEST_ID.reset(request)
        beat = asyncio.create_task(self._heartbeat(job, work))
        stopping = asyncio.create_task(self.stop.wait())
        try:
            await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not work.done():
                # Stopping (SIGTERM, shutdown): the work cleans up (its ffmpeg is killed),
                # then the job goes back for another worker to start at once.
                work.cancel()
                await asyncio.wait({work})
                if await jobs.hand_back(services.sessions, job):
                    log.info("job %s (%s): handed back on stop", job.id, job.kind)
                outcome = "handed_back"
                return True
            await work
        except asyncio.CancelledError:
            if not (work.cancelled() and beat.done()):
                raise
            # The heartbeat stopped the work: another worker owns the job now.
            log.warning("job %s: lease lost to another worker; dropped", job.id)
            outcome = "lease_lost"
        except JobFailed as exc:
            outcome = "failed"
            await self._fail(handler, job, exc.reason, exc.detail)
        except Retry as exc:
            outcome = "retry"
            await self._retry(handler, job, str(exc), exc.delay)
        except Exception as exc:  # noqa: BLE001 - any other error is worth another try
            outcome = "retry"
            log.exception("job %s (%s) failed on attempt %s", job.id, job.kind, job.attempts)
            detail = "".join(traceback.format_exception_only(exc)).strip()
            await self._retry(handler, job, detail, None)
        finally:
            metrics.JOBS.labels(job.kind, outcome).inc()
            metrics.JOB_RUN_SECONDS.labels(job.kind).observe(time.perf_counter() - began)
            stopping.cancel()
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
        return True

    async def _heartbeat(self, job: jobs.ClaimedJob, work: asyncio.Task[None]) -> None:
        while True:
            await asyncio.sleep(self.settings.lease_seconds / 3)
            if not await jobs.heartbeat(
                self.context.services.sessions, job, self.settings.lease_seconds
            ):
                work.cancel()
                return

    async def _retry(
        self, handler: Handler, job: jobs.ClaimedJob, error: str, delay: float | None
    ) -> None:
        if job.attempts >= job.max_attempts:
            log.warning("job %s (%s) gave up after %s attempts", job.id, job.kind, job.attempts)
            await self._fail(handler, job, handler.unexpected, error)
            return
        wait = delay if delay is not None else self._backoff(job)
        await jobs.retry_later(self.context.services.sessions, job, error, wait)

    def _backoff(self, job: jobs.ClaimedJob) -> float:
        return jobs.backoff_seconds(job.attempts, self.settings.retry_base_seconds)

    async def _fail(
        self, handler: Handler, job: jobs.ClaimedJob, reason: str, detail: str | None = None
    ) -> None:
        """The job row keeps `detail` after the reason; people read only the reason."""
        error = f"{reason}\n{detail}" if detail else reason
        async with self.context.services.sessions.begin() as session:
            if await jobs.fail(session, job, error):
                await handler.on_failure(session, job, reason)


async def sweep_once(services: Services) -> None:
    """Housekeeping, each chore in its own transaction: one that fails does not stop the rest."""
    chores: dict[str, Callable[[], Awaitable[object]]] = {
        "expired uploads": lambda: upload_service.sweep_expired(services),
        # Pages resync well before two days.
        "old live events": lambda: _in_transaction(services, events.prune),
        "old throttle counts": lambda: _in_transaction(services, throttle.prune),
    }
    for name, chore in chores.items():
        try:
            await chore()
        except Exception:  # noqa: BLE001 - retried at the next round
            log.exception("sweeping %s failed", name)


async def _in_transaction(
    services: Services, chore: Callable[[AsyncSession], Awaitable[object]]
) -> None:
    async with services.sessions.begin() as session:
        await chore(session)


async def sweep_forever(services: Services) -> None:
    """Sweep now and then (any instance may do it; every chore is idempotent)."""
    while True:
        await sweep_once(services)
        await asyncio.sleep(SWEEP_SECONDS)


async def run_workers(
    services: Services, count: int, *, burst: bool = False, stop: asyncio.Event | None = None
) -> None:
    """`count` worker loops sharing one ffmpeg semaphore, plus the upload sweeper; until
    `stop` is set (see `stop_workers`), or in burst mode until no job is due."""
    context = Context(services, asyncio.Semaphore(services.settings.media.ffmpeg_concurrency))
    handlers = default_handlers()
    # Live jobs wait on uploads for as long as recordings last: loops of their own, so the
    # other jobs never queue behind them.
    live = {jobs.LIVE_JOB: handlers.pop(jobs.LIVE_JOB)}
    loops = [Worker(context, handlers, stop=stop).run(burst=burst) for _ in range(count)]
    if count:
        lives = services.settings.jobs.live
        loops += [Worker(context, live, stop=stop).run(burst=burst) for _ in range(lives)]
    if burst:
        await asyncio.gather(*loops)
        return
    sweeper = asyncio.create_task(sweep_forever(services))
    try:
        await asyncio.gather(*loops)
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper


def stop_workers(services: Services, stop: asyncio.Event) -> None:
    """Stop claiming; running jobs are handed back (idle loops wake up to see it)."""
    stop.set()
    services.wakeup.set()
