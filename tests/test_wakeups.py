"""On PostgreSQL, another process's commit wakes this one at once (LISTEN/NOTIFY): the event
hub delivers a live event, and an idle worker starts a queued job, long before their next
poll. Without the notification both would wait for it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from relay import events, jobs
from relay.db import create_engine, sessionmaker
from relay.settings import JobSettings, Settings
from tests.conftest import World
from tests.support.threads import start
from workers.context import Context
from workers.runner import Handler, Worker

POLL = 8.0  # seconds: far longer than any wake-up may take


# LISTEN/NOTIFY is PostgreSQL's: on SQLite one process writes and wakes its own workers.
pytestmark = pytest.mark.parametrize("settings", ["scaled"], indirect=True)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(jobs=JobSettings(lease_seconds=5, poll_seconds=POLL))


@pytest.fixture
async def elsewhere(settings: Settings) -> AsyncIterator:
    """Sessions of another engine, as another relay process would have."""
    engine = create_engine(settings.database_url)
    yield sessionmaker(engine)
    await engine.dispose()


async def test_an_event_committed_elsewhere_reaches_listeners_at_once(
    world: World, elsewhere
) -> None:
    first = await start(world)
    hub = world.services.hub
    assert hub is not None and hub.poll_seconds >= 2  # it polls rarely when it listens
    await asyncio.sleep(0.5)  # the listener's connection is up
    subscription = await hub.subscribe({first["thread_id"]})
    try:
        began = time.monotonic()
        async with elsewhere.begin() as session:
            events.emit(session, first["thread_id"], "reaction", first["id"])
        got = await subscription.get(wait=POLL)
        assert got is not None and got.kind == "reaction"
        assert time.monotonic() - began < 1.0
    finally:
        subscription.close()


async def test_a_job_queued_elsewhere_wakes_an_idle_worker(world: World, elsewhere) -> None:
    ran = asyncio.Event()

    async def run(context: Context, job: jobs.ClaimedJob) -> None:
        async with context.services.sessions.begin() as session:
            await jobs.complete(session, job)
        ran.set()

    async def nothing(*_: object) -> None:
        return None

    worker = Worker(Context(world.services, asyncio.Semaphore(1)), {"probe": Handler(run, nothing)})
    idle = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0.5)  # the worker found nothing and waits (up to POLL)
        began = time.monotonic()
        async with elsewhere.begin() as session:
            jobs.enqueue(session, "probe")
        await asyncio.wait_for(ran.wait(), POLL)
        assert time.monotonic() - began < 1.0
    finally:
        worker.stop.set()
        world.services.wakeup.set()
        await idle
