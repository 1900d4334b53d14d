"""Thread events for live updates. An event is a row written in the same transaction as the
change it announces, so it exists exactly when the change does, on every relay instance."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from relay.models import Event

# What listeners are told; each names the message it concerns, if any.
KINDS = frozenset({"message", "status", "transcript", "reaction", "listen", "deleted", "link"})


def emit(session: AsyncSession, thread_id: str, kind: str, message_id: str | None = None) -> None:
    assert kind in KINDS, kind
    session.add(Event(thread_id=thread_id, kind=kind, message_id=message_id))
