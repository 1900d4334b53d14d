"""The shared clients that the lifespan creates once and every request and job uses."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from relay.db import ONE_STATEMENT, Sessionmaker, is_sqlite, read_sessionmaker
from relay.hub import EventHub
from relay.read_cache import NoCache, ReadCache, read_cache
from relay.settings import Settings
from relay.storage import Storage


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: Sessionmaker  # for work that may write
    storage: Storage
    secret: bytes  # signs share-link tokens (relay.links)
    # Set after a job is committed so that embedded workers start it without polling delay.
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    # Writes that no request waits for (a bearer token's last use), by what they write.
    chores: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    # Live updates; `relay serve` starts one per process, workers and CLI commands have none.
    hub: EventHub | None = None
    # Argon2 checks (sign-ins, passcodes): a few at once, each takes cores and 64 MiB, and
    # at a lower priority than serving requests. Threads start on first use.
    hashing: ThreadPoolExecutor = field(init=False)
    # Read-only work (the caller's lookup, thread and inbox reads, media access checks): on
    # SQLite these transactions run beside the writer instead of queueing for its lock.
    reads: Sessionmaker = field(init=False)
    # Answers of read-only work kept while the database is unchanged (SQLite only).
    answers: ReadCache | NoCache = field(init=False)

    def __post_init__(self) -> None:
        self.reads = read_sessionmaker(self.engine)
        self.answers = read_cache(self.settings.database_url)
        self.answers.watch(self.engine)
        self.hashing = ThreadPoolExecutor(
            self.settings.limits.hash_concurrency, "argon2", initializer=_lower_priority
        )

    @property
    def read_engine(self) -> AsyncEngine:
        """The engine behind `reads`, for a single statement without an ORM session."""
        return self.reads.kw["bind"]

    @contextlib.asynccontextmanager
    async def one_statement(self) -> AsyncIterator[AsyncConnection]:
        """A read connection for one statement: no ORM session to open and close, no BEGIN
        (one statement reads one snapshot on its own; PostgreSQL's AUTOCOMMIT saves the
        round trips of BEGIN and ROLLBACK)."""
        async with self.read_engine.connect() as connection:
            options: dict[str, object] = {ONE_STATEMENT: True}
            if not is_sqlite(self.settings.database_url):
                options["isolation_level"] = "AUTOCOMMIT"
            await connection.execution_options(**options)
            yield connection


def _lower_priority() -> None:
    """On Linux a thread's nice value is its own, and argon2's own threads inherit it."""
    with contextlib.suppress(AttributeError, OSError):
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + 10))
