"""Alembic migrations on fresh SQLite and PostgreSQL databases: up, down, up again, and the
migrated schema matches the ORM models."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from relay import migrate
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
