"""Thread events for live updates. An event is a row written in the same transaction as the
change it announces, so it exists exactly when the change does, on every relay instance."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relay import wakeups
from relay.db import utcnow
from relay.models import Event

# What listeners are told; each names the message it concerns, if any.
KINDS = frozenset({"message", "status", "transcript", "reaction", "listen", "deleted", "link"})


def emit(session: AsyncSession, thread_id: str, kind: str, message_id: str | None = None) -> None:
    assert kind in KINDS, kind
    session.add(Event(thread_id=thread_id, kind=kind, message_id=message_id))
    wakeups.after_commit(session, wakeups.EVENTS)


async def prune(session: AsyncSession, older_than: timedelta = timedelta(days=2)) -> int:
    """Delete old events, always keeping the newest: SQLite would otherwise hand out its id
    again and pollers, which ask only for larger ids, would miss the new rows."""
    newest = select(func.max(Event.id)).scalar_subquery()
    query = delete(Event).where(Event.created_at < utcnow() - older_than, Event.id < newest)
    result = await session.execute(query)
    return result.rowcount or 0
