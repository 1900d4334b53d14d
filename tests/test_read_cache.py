"""Answers kept while the database is unchanged: a commit of this process is seen by the next
ask, another process's from the next turn of the event loop (the asks of one turn share one
lookup of the database's version); an answer lives at most a second; concurrent askers
share one computation; errors are never kept; PostgreSQL keeps nothing."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from relay import read_cache
from relay.db import create_engine
from relay.read_cache import NoCache, ReadCache
from tests.conftest import World

EMBEDDED_ONLY = pytest.mark.parametrize("settings", ["embedded"], indirect=True)


def _database(tmp_path: Path) -> Path:
    path = tmp_path / "kept.db"
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (n INTEGER)")
        db.execute("INSERT INTO t VALUES (1)")
    return path


def _read(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT n FROM t").fetchone()[0]


def _write(path: Path, n: int) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE t SET n = ?", (n,))


async def test_a_commit_from_another_connection_is_seen_by_the_next_ask(tmp_path: Path) -> None:
    path = _database(tmp_path)
    cache = ReadCache(str(path))
    computed = 0

    async def compute() -> int:
        nonlocal computed
        computed += 1
        return _read(path)

    assert [await cache.get("n", compute) for _ in range(3)] == [1, 1, 1]
    assert computed == 1
    _write(path, 2)  # as another process would
    # The asks of this turn share its lookup; a request that could know of the commit
    # arrives in a later turn.
    assert await cache.get("n", compute) == 1
    await asyncio.sleep(0)
    assert await cache.get("n", compute) == 2
    assert computed == 2
    cache.close()


async def test_a_commit_of_this_process_is_seen_within_the_turn(tmp_path: Path) -> None:
    path = _database(tmp_path)
    cache = ReadCache(str(path))
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    cache.watch(engine)

    async def compute() -> int:
        return _read(path)

    try:
        async with engine.connect() as connection:
            assert await cache.get("n", compute) == 1
            # Statements run inline: no turn of the loop passes from here.
            await connection.execute(text("UPDATE t SET n = 2"))
            await connection.commit()
            assert await cache.get("n", compute) == 2
    finally:
        await engine.dispose()
        cache.close()


async def test_an_answer_lives_at_most_its_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _database(tmp_path)
    cache = ReadCache(str(path))
    now = [100.0]
    monkeypatch.setattr(read_cache.time, "monotonic", lambda: now[0])
    answers = iter(range(10))

    async def compute() -> int:
        return next(answers)

    assert await cache.get("k", compute) == 0
    now[0] += read_cache.SECONDS - 0.01
    assert await cache.get("k", compute) == 0
    now[0] += 0.02
    assert await cache.get("k", compute) == 1
    cache.close()


async def test_concurrent_askers_share_one_computation_and_errors_are_not_kept(
    tmp_path: Path,
) -> None:
    cache = ReadCache(str(_database(tmp_path)))
    started = 0
    release = asyncio.Event()

    async def slow() -> str:
        nonlocal started
        started += 1
        await release.wait()
        return "answer"

    askers = [asyncio.create_task(cache.get("k", slow)) for _ in range(5)]
    await asyncio.sleep(0.01)
    release.set()
    assert await asyncio.gather(*askers) == ["answer"] * 5
    assert started == 1

    failures = 0

    async def failing() -> str:
        nonlocal failures
        failures += 1
        raise LookupError("no such thing")

    for _ in range(2):
        with pytest.raises(LookupError):
            await cache.get("bad", failing)
    assert failures == 2
    cache.close()


async def test_a_cancelled_computation_leaves_its_waiters_to_compute(tmp_path: Path) -> None:
    cache = ReadCache(str(_database(tmp_path)))
    release = asyncio.Event()

    async def hangs() -> str:
        await asyncio.Event().wait()
        return "never"

    async def answers() -> str:
        await release.wait()
        return "answer"

    first = asyncio.create_task(cache.get("k", hangs))
    await asyncio.sleep(0.01)
    waiter = asyncio.create_task(cache.get("k", answers))
    await asyncio.sleep(0.01)
    first.cancel()
    release.set()
    assert await waiter == "answer"
    with pytest.raises(asyncio.CancelledError):
        await first
    cache.close()


def test_only_a_sqlite_file_keeps_answers() -> None:
    assert isinstance(read_cache.read_cache("sqlite+aiosqlite:///var/relay.db"), ReadCache)
    assert isinstance(read_cache.read_cache("sqlite+aiosqlite://"), NoCache)
    assert isinstance(read_cache.read_cache("sqlite+aiosqlite:///:memory:"), NoCache)
    assert isinstance(read_cache.read_cache("postgresql+asyncpg://127.0.0.1/test"), NoCache)


@EMBEDDED_ONLY
async def test_kept_answers_give_way_to_the_next_write(world: World) -> None:
    """A thread document and a token's owner, each asked twice (kept): a reaction through the
    API, then the token deleted by another connection (as `relay` commands do), show at once."""
    author = world.author.headers
    message = (
        await world.client.post(
            "/api/messages", json={"kind": "text", "body": "Hi"}, headers=author
        )
    ).json()
    url = f"/api/threads/{message['thread_id']}"
    first = (await world.client.get(url, headers=author)).json()
    assert first == (await world.client.get(url, headers=author)).json()
    assert first["messages"][0]["reactions"] == []

    reacted = await world.client.post(
        f"/api/messages/{message['id']}/reactions", json={"emoji": "👍"}, headers=author
    )
    assert reacted.status_code == 201, reacted.text
    after = (await world.client.get(url, headers=author)).json()
    assert [r["emoji"] for r in after["messages"][0]["reactions"]] == ["👍"]

    assert (await world.client.get("/api/me", headers=author)).status_code == 200
    database = world.services.settings.database_url.removeprefix("sqlite+aiosqlite:///")
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute("DELETE FROM api_tokens WHERE user_id = ?", (world.author.id,))
    await asyncio.sleep(0)  # the next request of a client comes in a later turn
    assert (await world.client.get("/api/me", headers=author)).status_code == 401
    assert (await world.client.get(url, headers=author)).status_code == 401
