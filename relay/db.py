"""Database engine and sessions: SQLite (embedded default) or PostgreSQL, one code path."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import sqlite3
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy import DateTime, Enum, TypeDecorator, event, make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
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
# Writes between two checkpoints of the WAL (SQLite's own would run inside the event loop).
CHECKPOINT_COMMITS = 200
# Set on the sessions of WriteSessions, which have taken this process's writer lock.
_QUEUED = "relay_queued_writer"


def create_engine(url: str, pool: int = 20) -> AsyncEngine:
    """On PostgreSQL, `pool` connections kept open and half as many more for a burst. A
    connection opened for a burst is closed after its request: a new server process, and
    TLS when the server offers it, each time (under 32 requests at once, ten kept
    connections served 1,250 /api/me a second, twenty 1,500, thirty-two 1,900)."""
    if not is_sqlite(url):
        engine = create_async_engine(url, pool_size=pool, max_overflow=pool // 2)
        event.listen(engine.sync_engine.pool, "checkout", _refuse_closed)
        return engine
    engine = create_async_engine(url, async_creator=_inline_connector(url))
    _configure_sqlite(engine)
    return engine


def _refuse_closed(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """A pooled PostgreSQL connection that the server has closed (a restart, a terminated
    backend) is replaced before use. asyncpg knows it without asking the server, where
    SQLAlchemy's pre-ping costs three round trips (BEGIN, a query, ROLLBACK) on every
    checkout."""
    if record.driver_connection.is_closed():
        raise DisconnectionError("the server closed this connection")


def _inline_connector(url: str) -> Callable[[], Awaitable[_InlineConnection]]:
    connect = partial(
        sqlite3.connect,
        make_url(url).database or "",
        isolation_level=None,  # transactions are begun explicitly (see the begin events)
        check_same_thread=False,
    )

    async def _open() -> _InlineConnection:
        return await _InlineConnection(connect, 64)

    return _open


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Statements run inside the event loop: SQLite's busy handler must never sleep
        # there, nor a checkpoint's fsync. WriteSessions waits for other processes'
        # writers with asyncio.sleep and checkpoints in a thread.
        cursor.execute("PRAGMA busy_timeout=0")
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        # A deferred transaction that writes takes the write lock late and fails at once
        # with "database is locked" when another connection wrote in between: writers
        # start with BEGIN IMMEDIATE (readers have an engine of their own).
        if connection.get_execution_options().get(_QUEUED):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        # Outside WriteSessions (migrations at start-up, /readyz): wait in SQLite's busy
        # handler for another process's writer, as before.
        connection.exec_driver_sql(f"PRAGMA busy_timeout={int(WRITE_WAIT_SECONDS * 1000)}")
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        finally:
            connection.exec_driver_sql("PRAGMA busy_timeout=0")


class _InlineConnection(aiosqlite.Connection):
    """aiosqlite's API run on the calling thread. A statement on a WAL database takes
    microseconds from the page cache (a reader never waits for a lock; a writer has taken
    it before its first statement): less than handing each statement to a thread and back
    through a busy event loop, which under load made a write take tens of hand-offs."""

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


# Execution option of a read connection that runs one statement: it needs no BEGIN, since
# SQLite reads one statement from one snapshot on its own.
ONE_STATEMENT = "relay_one_statement"


def create_read_engine(url: str) -> AsyncEngine:
    """SQLite connections for read-only transactions: run inline, deferred (a snapshot
    beside the writer), refusing writes (PRAGMA query_only)."""
    # A session gives its connection back a loop turn after it ends (AsyncSession.close is
    # shielded), so about as many are out as requests run at once: kept open, not remade.
    engine = create_async_engine(
        url, async_creator=_inline_connector(url), pool_size=32, max_overflow=64
    )

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
        if not connection.get_execution_options().get(ONE_STATEMENT):
            connection.exec_driver_sql("BEGIN")

    return engine


class WriteSessions(async_sessionmaker[AsyncSession]):
    """Sessions whose transactions this process runs one at a time (SQLite has one writer):
    they queue in order on an asyncio lock instead of polling SQLite's busy handler, and
    while another process writes they retry BEGIN IMMEDIATE after short sleeps."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine.execution_options(**{_QUEUED: True}), expire_on_commit=False)
        self._path = make_url(str(engine.url)).database or ""
        self._commits = 0
        self._checkpoint: asyncio.Future[None] | None = None
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
            session = await self._begun()
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
            finally:
                await session.close()
        finally:
            lock.release()
        self._commits += 1
        if self._commits % CHECKPOINT_COMMITS == 0 and (
            self._checkpoint is None or self._checkpoint.done()
        ):
            loop = asyncio.get_running_loop()
            self._checkpoint = loop.run_in_executor(None, _checkpoint, self._path)

    async def _begun(self) -> AsyncSession:
        """A session whose transaction holds SQLite's write lock."""
        delay, waited = 0.001, 0.0
        while True:
            session = self()
            try:
                await session.connection()  # BEGIN IMMEDIATE
                return session
            except OperationalError as exc:
                await session.close()
                if "locked" not in str(exc.orig) or waited >= WRITE_WAIT_SECONDS:
                    raise
            await asyncio.sleep(delay)
            waited += delay
            delay = min(2 * delay, 0.05)


def _checkpoint(path: str) -> None:
    """Copy the WAL into the database file beside readers and writers (PASSIVE), so that
    the WAL stays small; its fsync happens here, in a thread, not in the event loop."""
    with contextlib.closing(sqlite3.connect(path, timeout=0)) as connection:
        with contextlib.suppress(sqlite3.OperationalError):
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")


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
