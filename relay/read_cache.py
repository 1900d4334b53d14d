"""Answers of read-only work (who a credential stands for, a thread document, a media access
check), kept while the database has not changed. On SQLite, `PRAGMA data_version` read on a
connection of its own changes whenever any other connection commits, in this process or in
another (a CLI command, a worker): one lookup tells whether a kept answer still holds. The
requests served in one turn of the event loop share that lookup, and a commit of this
process makes the next ask look again (its statements run inline, inside the turn): another
process's commit is seen from the next turn, this process's at once. Answers are also kept
for at most a second, so what lapses with the clock (sessions, links that expire) is never
later than that. PostgreSQL has no such counter, and several processes write there:
nothing is kept."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from relay.db import is_sqlite

T = TypeVar("T")
SECONDS = 1.0
MAX_ENTRIES = 20_000


class ReadCache:
    """Kept answers of one SQLite database file."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None
        self._version = -1
        self._read_this_turn = False
        self._entries: dict[Hashable, tuple[float, asyncio.Future[Any]]] = {}

    def _current(self) -> int | None:
        """The database's version, or None in the rare moment SQLite would make us wait
        (a WAL being reset): the event loop never sleeps in its busy handler."""
        if self._read_this_turn:
            return self._version
        if self._db is None:
            self._db = sqlite3.connect(
                self._path, timeout=0, isolation_level=None, check_same_thread=False
            )
        try:
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.OperationalError:
            return None
        if version != self._version:
            self._entries.clear()
            self._version = version
        self._read_this_turn = True
        asyncio.get_running_loop().call_soon(self.look_again)
        return version

    def look_again(self, *_: object) -> None:
        """The next ask reads the version again: a new turn, or this process committed."""
        self._read_this_turn = False

    def watch(self, engine: AsyncEngine) -> None:
        """Hear of the commits made through `engine` (this process's writes)."""
        event.listen(engine.sync_engine, "commit", self.look_again)

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        """The kept answer for `key`, else `compute()`'s, kept unless it raised. Requests
        that ask while it is computed wait for it rather than compute it again."""
        version = self._current()  # before compute's snapshot: never newer than its data
        if version is None:
            return await compute()
        now = time.monotonic()
        kept = self._entries.get(key)
        if kept is not None and kept[0] > now:
            if kept[1].done() and kept[1].exception() is None:
                return kept[1].result()  # the usual case, without a wait
            with contextlib.suppress(_Abandoned):
                return await asyncio.shield(kept[1])
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (now + SECONDS, future)
        try:
            value = await compute()
        except BaseException as exc:
            if self._entries.get(key, (0.0, None))[1] is future:
                del self._entries[key]
            # Those waiting get the same error; if this request was cancelled, they compute.
            future.set_exception(exc if isinstance(exc, Exception) else _Abandoned())
            future.exception()  # retrieved: no warning when nobody waited
            raise
        future.set_result(value)
        if version != self._version and self._entries.get(key, (0.0, None))[1] is future:
            del self._entries[key]  # a commit came meanwhile
        return value

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        self._entries.clear()


class _Abandoned(Exception):
    """The request computing an answer was cancelled before it had one."""


class NoCache:
    """PostgreSQL: every answer is computed."""

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        return await compute()

    def watch(self, engine: AsyncEngine) -> None:
        pass

    def close(self) -> None:
        pass


def read_cache(database_url: str) -> ReadCache | NoCache:
    database = make_url(database_url).database or ""
    if is_sqlite(database_url) and database not in ("", ":memory:"):
        return ReadCache(database)
    return NoCache()
