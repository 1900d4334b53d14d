"""Throttles and quotas counted in the database, so that every relay instance sees the same
count. A key names what is counted: "login:acct:<email>", "passcode:<token>:<address>"."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from relay.db import utcnow
from relay.errors import TooManyRequests
from relay.models import Throttle

MAX_KEY = 400


@dataclass(frozen=True)
class Limit:
    """At most `most` counts of `key` within `window`; `reason` is what people read."""

    key: str
    most: int
    window: timedelta
    reason: str


async def _row(session: AsyncSession, key: str) -> Throttle:
    """The key's row, created when missing and locked (SQLite: the write lock is held)."""
    key = key[:MAX_KEY]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(
        insert(Throttle)
        .values(key=key, count=0, since=utcnow())
        .on_conflict_do_nothing(index_elements=["key"])
    )
    row = await session.get(Throttle, key, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


def _refuse(limit: Limit, row: Throttle) -> TooManyRequests:
    wait = (row.since + limit.window - utcnow()).total_seconds()
    return TooManyRequests(limit.reason, headers={"Retry-After": str(max(1, math.ceil(wait)))})


async def _current(session: AsyncSession, limit: Limit) -> Throttle:
    row = await _row(session, limit.key)
    if row.since <= utcnow() - limit.window:
        row.count, row.since = 0, utcnow()
    return row


async def hit(session: AsyncSession, *limits: Limit) -> None:
    """Count one against every limit, or refuse (counting nothing) when any is reached."""
    rows = [(limit, await _current(session, limit)) for limit in limits]
    for limit, row in rows:
        if row.count >= limit.most:
            raise _refuse(limit, row)
    for _, row in rows:
        row.count += 1
    await session.flush()


async def clear(session: AsyncSession, *keys: str) -> None:
    await session.execute(delete(Throttle).where(Throttle.key.in_([k[:MAX_KEY] for k in keys])))


async def forgive(session: AsyncSession, *keys: str) -> None:
    """Take back one count of each key: an attempt counted before it was checked (so that
    parallel ones cannot overtake the count) that turned out right."""
    await session.execute(
        update(Throttle)
        .where(Throttle.key.in_([k[:MAX_KEY] for k in keys]), Throttle.count > 0)
        .values(count=Throttle.count - 1)
    )


async def prune(session: AsyncSession, older_than: timedelta = timedelta(days=1)) -> int:
    """Forget counts whose window began long ago (no limit's window is longer than a day)."""
    result = await session.execute(delete(Throttle).where(Throttle.since < utcnow() - older_than))
    return result.rowcount or 0
