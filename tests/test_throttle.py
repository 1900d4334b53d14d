"""Throttles counted in the database: the limit holds across sessions, windows end, and
parallel attempts get exactly `most` answers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update

from relay import throttle
from relay.context import Services
from relay.db import utcnow
from relay.errors import TooManyRequests
from relay.models import Throttle

LIMIT = throttle.Limit("test:key", 3, timedelta(minutes=10), "Slow down.")


async def test_hit_refuses_after_most_with_retry_after(services: Services) -> None:
    for _ in range(3):
        async with services.sessions.begin() as session:
            await throttle.hit(session, LIMIT)
    with pytest.raises(TooManyRequests) as caught:
        async with services.sessions.begin() as session:
            await throttle.hit(session, LIMIT)
    assert caught.value.detail == "Slow down."
    assert 590 <= int(caught.value.headers["Retry-After"]) <= 600


async def test_window_end_resets_the_count(services: Services) -> None:
    for _ in range(3):
        async with services.sessions.begin() as session:
            await throttle.hit(session, LIMIT)
    async with services.sessions.begin() as session:
        await session.execute(update(Throttle).values(since=utcnow() - timedelta(minutes=11)))
    async with services.sessions.begin() as session:
        await throttle.hit(session, LIMIT)
        row = await session.get(Throttle, LIMIT.key)
        assert row is not None and row.count == 1


async def test_a_refused_hit_counts_nothing_on_other_limits(services: Services) -> None:
    wide = throttle.Limit("test:wide", 100, timedelta(minutes=10), "Wide.")
    for _ in range(3):
        async with services.sessions.begin() as session:
            await throttle.hit(session, LIMIT, wide)
    with pytest.raises(TooManyRequests):
        async with services.sessions.begin() as session:
            await throttle.hit(session, wide, LIMIT)
    async with services.sessions.begin() as session:
        row = await session.get(Throttle, "test:wide")
        assert row is not None and row.count == 3


async def test_parallel_hits_are_counted_exactly(services: Services) -> None:
    limit = throttle.Limit("test:parallel", 10, timedelta(minutes=10), "Enough.")

    async def attempt() -> bool:
        try:
            async with services.sessions.begin() as session:
                await throttle.hit(session, limit)
        except TooManyRequests:
            return False
        return True

    results = await asyncio.gather(*(attempt() for _ in range(16)))
    assert results.count(True) == 10


async def test_clear_and_prune(services: Services) -> None:
    async with services.sessions.begin() as session:
        await throttle.hit(session, LIMIT)
        await throttle.clear(session, LIMIT.key)
        assert await session.get(Throttle, LIMIT.key) is None
        await throttle.hit(session, LIMIT)
        await session.execute(update(Throttle).values(since=utcnow() - timedelta(days=2)))
        assert await throttle.prune(session) == 1
