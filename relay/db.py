"""Database engine and sessions: SQLite (embedded default) or PostgreSQL, one code path."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import weakref
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Enum, TypeDecorator, event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

Sessionmaker = async_sessionmaker[AsyncSession]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def enum_column(cls: type[enum.Enum]) -> Enum:
    """An enum stored as its values in a short string column, without a database type."""
    return Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


# Sessions made for read-only work carry this execution option: on SQLite they begin a
# deferred transaction, which in WAL mode reads a snapshot beside the writer.
_READ_ONLY = "relay_read_only"
# How long a writer queues in this process before the request fails, as SQLite's busy
# timeout did before writers queued here.
WRITE_WAIT_SECONDS = 30.0


def create_engine(url: str) -> AsyncEngine:
    if not is_sqlite(url):
        return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    # Readers each hold a connection (and aiosqlite's thread) while they run: a pool of
    # eight keeps two cores busy without a thread per waiting request.
    engine = create_async_engine(
        url, connect_args={"timeout": 30}, pool_size=8, max_overflow=8, pool_timeout=60
    )
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Writers of this process queue on WriteSessions' lock; this covers the other
        # processes on the same file (`relay worker`, CLI commands).
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        # A deferred transaction that writes takes the write lock late and fails at once
        # with "database is locked" when another connection wrote in between: writers
        # start with BEGIN IMMEDIATE, readers with a deferred BEGIN that never locks.
        if connection.get_execution_options().get(_READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


class WriteSessions(async_sessionmaker[AsyncSession]):
    """Sessions whose transactions this process runs one at a time (SQLite has one writer):
    they queue in order on an asyncio lock instead of polling SQLite's busy handler."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine, expire_on_commit=False)
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if (lock := self._locks.get(loop)) is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:  # type: ignore[override]
        lock = self._lock()
        async with asyncio.timeout(WRITE_WAIT_SECONDS):
            await lock.acquire()
        try:
            async with super().begin() as session:
                yield session
        finally:
            lock.release()


def sessionmaker(engine: AsyncEngine) -> Sessionmaker:
    """Sessions for work that may write."""
    if is_sqlite(str(engine.url)):
        return WriteSessions(engine)
    return async_sessionmaker(engine, expire_on_commit=False)


def read_sessionmaker(engine: AsyncEngine) -> Sessionmaker:
    """Sessions for read-only work: on SQLite they neither take nor wait for the write lock.
    Nothing may be written through them (a deferred transaction that writes can fail)."""
    if is_sqlite(str(engine.url)):
        engine = engine.execution_options(**{_READ_ONLY: True})
    return async_sessionmaker(engine, expire_on_commit=False)
