"""Wake-ups across processes on PostgreSQL: LISTEN/NOTIFY. A transaction that queues a job or
writes a thread event also sends NOTIFY, which PostgreSQL delivers only when it commits; each
process listens on one connection and wakes its idle workers or its event hub at once. The
tables stay the source of truth: a lost notification only waits for the next poll.

SQLite has one process that writes and wakes its own workers (Services.wakeup)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import asyncpg
from sqlalchemy import event, make_url, text
from sqlalchemy.orm import Session

log = logging.getLogger("relay.wakeups")
JOBS = "relay_jobs"
EVENTS = "relay_events"
RECONNECT_SECONDS = 2.0
_PENDING = "relay_notify"  # session.info: the channels this transaction notifies


def after_commit(session: Session | object, channel: str) -> None:
    """Notify `channel` when the session's transaction commits (on PostgreSQL)."""
    info = session.info  # type: ignore[attr-defined]
    info.setdefault(_PENDING, set()).add(channel)


@event.listens_for(Session, "before_commit")
def _notify(session: Session) -> None:
    channels = session.info.pop(_PENDING, None)
    if not channels or session.get_bind().dialect.name != "postgresql":
        return
    for channel in sorted(channels):
        # Delivered at commit, and not at all on rollback; no payload: listeners re-read.
        session.execute(text(f"NOTIFY {channel}"))


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


async def listen(database_url: str, handlers: dict[str, Callable[[], None]]) -> None:
    """Call a channel's handler on each of its notifications, until cancelled; reconnects
    when the connection drops (handlers run once then, for whatever was missed)."""
    url = make_url(database_url).set(drivername="postgresql")
    dsn = url.render_as_string(hide_password=False)
    while True:
        try:
            connection = await asyncpg.connect(dsn)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("LISTEN: cannot connect (%s); polling meanwhile", exc)
            await asyncio.sleep(RECONNECT_SECONDS)
            continue
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _, lost=lost: lost.set())
        try:
            for channel, handler in handlers.items():
                await connection.add_listener(channel, lambda *_, h=handler: h())
            for handler in handlers.values():
                handler()  # anything committed before we listened
            await lost.wait()
            log.warning("LISTEN: connection lost; reconnecting")
        finally:
            if not connection.is_closed():
                await connection.close()
        await asyncio.sleep(RECONNECT_SECONDS)
