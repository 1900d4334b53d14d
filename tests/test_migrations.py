"""Alembic migrations on fresh SQLite and PostgreSQL databases: up, down, up again, and the
migrated schema matches the ORM models."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from relay import access, links, migrate
from relay.db import create_engine
from relay.models import Base
from tests.conftest import create_pg_database, drop_pg_database

MODEL_TABLES = set(Base.metadata.tables)


@pytest.fixture(params=["sqlite", "postgresql"])
async def fresh_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    """An engine on a database that has never seen a migration."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
        yield engine
        await engine.dispose()
        return
    url = await create_pg_database()
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()
        await drop_pg_database(url)


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def current_revision(engine: AsyncEngine) -> str | None:
    def _revision(sync: Connection) -> str | None:
        return MigrationContext.configure(sync).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(_revision)


async def schema_differences(engine: AsyncEngine) -> list[object]:
    def _compare(sync: Connection) -> list[object]:
        # The same comparison options as relay/migrations/env.py.
        opts = {"compare_type": True, "include_object": migrate.include_object}
        context = MigrationContext.configure(sync, opts=opts)
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as conn:
        return await conn.run_sync(_compare)


async def test_upgrade_downgrade_upgrade_round_trip(fresh_engine: AsyncEngine) -> None:
    assert await table_names(fresh_engine) == set()

    await migrate.upgrade(fresh_engine)
    managed = {t for t in await table_names(fresh_engine) if not t.startswith("search_index")}
    assert managed == MODEL_TABLES | {"alembic_version"}
    head = await current_revision(fresh_engine)
    assert head is not None

    await migrate.downgrade(fresh_engine, "base")
    assert await table_names(fresh_engine) <= {"alembic_version"}
    assert await current_revision(fresh_engine) is None
    # The comparison sees a missing schema, so its empty result below means something.
    differences = await schema_differences(fresh_engine)
    assert {diff[1].name for diff in differences if diff[0] == "add_table"} == MODEL_TABLES

    await migrate.upgrade(fresh_engine)
    managed = {t for t in await table_names(fresh_engine) if not t.startswith("search_index")}
    assert managed == MODEL_TABLES | {"alembic_version"}
    assert await current_revision(fresh_engine) == head
    assert await schema_differences(fresh_engine) == []


async def test_upgrade_twice_is_a_no_op(fresh_engine: AsyncEngine) -> None:
    await migrate.upgrade(fresh_engine)
    await migrate.upgrade(fresh_engine)
    managed = {t for t in await table_names(fresh_engine) if not t.startswith("search_index")}
    assert managed == MODEL_TABLES | {"alembic_version"}


async def test_migrated_schema_matches_models(fresh_engine: AsyncEngine) -> None:
    await migrate.upgrade(fresh_engine)
    assert await schema_differences(fresh_engine) == []


async def test_links_made_before_tokens_were_hashed_keep_opening(
    fresh_engine: AsyncEngine,
) -> None:
    """Migration 0008: tokens become their hashes everywhere they are referred to, and a
    guest's session made before becomes bound to the guest's link."""
    await migrate.upgrade(fresh_engine, "0006")
    token, now = "OldToken_0123456789abc", datetime(2026, 11, 30, 12, 0)
    rows = [
        "INSERT INTO users (id, email, display_name, password_hash, is_admin, created_at) "
        "VALUES ('u1', 'a@example.org', 'A', '!', false, :now), "
        "('g1', 'guest-g1@guests.invalid', 'G', '!', false, :now)",
        "INSERT INTO messages (id, author_id, kind, status, thread_id, title, body, "
        "original_type, original_name, steps, created_at, updated_at) "
        "VALUES ('m1', 'u1', 'text', 'ready', 'm1', '', 'hi', '', '', '{}', :now, :now)",
        "INSERT INTO threads (id, owner_id, created_at, last_activity_at) "
        "VALUES ('m1', 'u1', :now, :now)",
        "INSERT INTO share_links (token, thread_id, message_id, created_by, rights, label, "
        "guesses, created_at) VALUES (:token, 'm1', 'm1', 'u1', 'reply', '', 0, :now)",
        "INSERT INTO thread_members (thread_id, user_id, role, via_link, joined_at) "
        "VALUES ('m1', 'u1', 'owner', NULL, :now), ('m1', 'g1', 'member', :token, :now)",
        "INSERT INTO guests (user_id, link_token, created_at) VALUES ('g1', :token, :now)",
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) "
        "VALUES ('s-user', 'u1', 'c', :now, :now), ('s-guest', 'g1', 'c', :now, :now)",
    ]
    async with fresh_engine.begin() as conn:
        for statement in rows:
            await conn.execute(text(statement), {"token": token, "now": now})
    await migrate.upgrade(fresh_engine)
    key = links.key_of(token)
    async with fresh_engine.connect() as conn:
        stored = (await conn.execute(text('SELECT "key", seed FROM share_links'))).all()
        assert [tuple(row) for row in stored] == [(key, None)]
        via = await conn.scalar(text("SELECT via_link FROM thread_members WHERE user_id = 'g1'"))
        guest = await conn.scalar(text("SELECT link_key FROM guests"))
        assert via == guest == key
        sessions = (await conn.execute(text("SELECT id_hash, link_key FROM sessions"))).all()
        assert sorted(tuple(row) for row in sessions) == [("s-guest", key), ("s-user", None)]
    async with AsyncSession(fresh_engine) as session:
        link = await access.live_link(session, token)
        assert link.key == key and links.shown_token(b"any key", link) is None
