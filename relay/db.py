"""Database engine and sessions: SQLite (embedded default) or PostgreSQL, one code path."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import sqlite3
import weakref
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy import DateTime, Enum, TypeDecorator, event, make_url
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


# How long a writer queues in this process before the request fails, as SQLite's busy
# timeout did before writers queued here.
WRITE_WAIT_SECONDS = 30.0
# A reader waits for SQLite's lock only in the rare moments a WAL file is being recovered;
# it waits inside the event loop, so briefly.
READ_BUSY_MS = 1000
READ_MMAP_BYTES = 256 * 1024 * 1024


def create_engine(url: str) -> AsyncEngine:
    if not is_sqlite(url):
        return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    engine = create_async_engine(url, connect_args={"timeout": 30})
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
        # start with BEGIN IMMEDIATE (readers have an engine of their own).
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class _InlineConnection(aiosqlite.Connection):
    """aiosqlite's API run on the calling thread. A read of a WAL database never waits for
    a lock and takes microseconds from the page cache: less than handing each statement to
    a thread and back, which under load made requests queue for connections."""

    async def _execute(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> _InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self):  # type: ignore[no-untyped-def]
        return self._connect().__await__()

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()


def create_read_engine(url: str) -> AsyncEngine:
    """SQLite connections for read-only transactions: run inline, deferred (a snapshot
    beside the writer), refusing writes (PRAGMA query_only)."""
    path = make_url(url).database or ""
    connect = partial(
        sqlite3.connect, path, isolation_level=None, check_same_thread=False, uri=False
    )

    async def _open() -> _InlineConnection:
        return await _InlineConnection(connect, 64)

    # A session gives its connection back a loop turn after it ends (AsyncSession.close is
    # shielded), so about as many are out as requests run at once: kept open, not remade.
    engine = create_async_engine(url, async_creator=_open, pool_size=32, max_overflow=64)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only=ON")
        # Pages read through the mapping, shared by every reader, instead of a copy each.
        cursor.execute(f"PRAGMA mmap_size={READ_MMAP_BYTES}")
        cursor.execute(f"PRAGMA busy_timeout={READ_BUSY_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN")

    return engine


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
    """Sessions for read-only work: on SQLite they neither take nor wait for the write lock
    and run inline (see create_read_engine); on PostgreSQL the same pool as writes."""
    if is_sqlite(str(engine.url)):
        engine = create_read_engine(engine.url.render_as_string(hide_password=False))
    return async_sessionmaker(engine, expire_on_commit=False)
