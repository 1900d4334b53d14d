"""On the embedded SQLite, reads run beside an open write transaction and concurrent
writes all land: in this process they queue on a lock, across processes they retry
BEGIN IMMEDIATE until the other process's writer is done."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import func, select

from relay import db
from relay.db import create_engine, sessionmaker
from relay.models import Listen, Reaction
from tests.conftest import World
from tests.support.threads import auth, start

embedded = pytest.mark.parametrize("settings", ["embedded"], indirect=True)


@embedded
async def test_64_concurrent_writes_from_32_clients_all_stored_no_5xx(world: World) -> None:
    svc = world.services
    svc.settings = svc.settings.replace(limits=replace(svc.settings.limits, open_uploads=32))
    messages = [await start(world, title=f"Note {n}") for n in range(32)]
    # Another process on the same file (`relay worker`) has its own engine and its own lock.
    other_process = create_engine(world.services.settings.database_url)
    other_sessions = sessionmaker(other_process)

    async def client(n: int) -> list[int]:
        message_id = messages[n]["id"]
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=world.app), base_url="http://relay.test"
        ) as c:
            listened, reacted = await asyncio.gather(
                c.put(
                    f"/api/messages/{message_id}/listen",
                    json={"position": 12.5, "heard": True},
                    headers=auth(world),
                ),
                c.post(
                    f"/api/messages/{message_id}/reactions",
                    json={"emoji": "👍", "at": 3.0},
                    headers=auth(world),
                ),
            )
        return [listened.status_code, reacted.status_code]

    async def other_writer() -> None:
        for n in range(16):
            async with other_sessions.begin() as session:
                session.add(
                    Reaction(message_id=messages[n]["id"], user_id=world.other.id, emoji="🎉")
                )

    try:
        *statuses, _ = await asyncio.gather(*(client(n) for n in range(32)), other_writer())
    finally:
        await other_process.dispose()

    assert [s for pair in statuses for s in pair] == [200, 201] * 32
    async with world.services.reads.begin() as session:
        listens = await session.scalar(
            select(func.count()).select_from(Listen).where(Listen.user_id == world.author.id)
        )
        mine = await session.scalar(
            select(func.count()).select_from(Reaction).where(Reaction.user_id == world.author.id)
        )
        theirs = await session.scalar(
            select(func.count()).select_from(Reaction).where(Reaction.user_id == world.other.id)
        )
    assert (listens, mine, theirs) == (32, 32, 16)


@embedded
async def test_reads_complete_while_a_write_transaction_is_open(world: World) -> None:
    first = await start(world)
    async with world.services.sessions.begin() as session:
        # Holds SQLite's write lock (BEGIN IMMEDIATE) and this process's writer lock.
        session.add(Reaction(message_id=first["id"], user_id=world.author.id, emoji="🎉"))
        await session.flush()
        me, thread, inbox = await asyncio.wait_for(
            asyncio.gather(
                world.client.get("/api/me", headers=auth(world)),
                world.client.get(f"/api/threads/{first['thread_id']}", headers=auth(world)),
                world.client.get("/api/threads", headers=auth(world)),
            ),
            timeout=5,
        )
    assert (me.status_code, thread.status_code, inbox.status_code) == (200, 200, 200)
    # The snapshot the reads saw was taken before the writer committed.
    assert thread.json()["messages"][0]["reactions"] == []


@embedded
async def test_a_write_waits_for_another_process_writer_instead_of_failing(
    world: World,
) -> None:
    first = await start(world)
    other_process = create_engine(world.services.settings.database_url)
    try:
        async with sessionmaker(other_process).begin() as session:
            session.add(Reaction(message_id=first["id"], user_id=world.other.id, emoji="🎉"))
            await session.flush()
            pending = asyncio.create_task(
                world.client.post(
                    f"/api/messages/{first['id']}/reactions",
                    json={"emoji": "👍"},
                    headers=auth(world),
                )
            )
            await asyncio.sleep(0.3)
            assert not pending.done()
        reacted = await asyncio.wait_for(pending, timeout=5)
    finally:
        await other_process.dispose()
    assert reacted.status_code == 201, reacted.text


@embedded
async def test_the_wal_is_checkpointed_in_a_thread_every_so_many_writes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await start(world)
    seen: list[str] = []
    real = db._checkpoint
    monkeypatch.setattr(db, "CHECKPOINT_COMMITS", 5)
    monkeypatch.setattr(db, "_checkpoint", lambda path: seen.append(path) or real(path))
    sessions = world.services.sessions
    for _ in range(5):
        async with sessions.begin() as session:
            session.add(Reaction(message_id=first["id"], user_id=world.author.id, emoji="🎉"))
    assert sessions._checkpoint is not None
    await sessions._checkpoint
    assert seen == [world.services.settings.database_url.removeprefix("sqlite+aiosqlite:///")]


async def test_racing_reports_of_one_listener_all_land_and_keep_the_furthest(
    world: World,
) -> None:
    """Sixteen reports of one listener on one message at once (a player on a bad network):
    no 5xx, one row, the furthest position; on PostgreSQL their first inserts race."""
    message = await start(world, title="Racing")
    url = f"/api/messages/{message['id']}/listen"
    positions = [float(n) for n in range(1, 17)]
    answers = await asyncio.gather(
        *(
            world.client.put(url, json={"position": p, "heard": False}, headers=auth(world))
            for p in positions
        )
    )
    assert [a.status_code for a in answers] == [200] * 16, [a.text for a in answers]
    async with world.services.reads.begin() as session:
        rows = (
            await session.execute(select(Listen.position).where(Listen.message_id == message["id"]))
        ).all()
    assert [row.position for row in rows] == [16.0]
