"""The PostgreSQL engine's pool: its size comes from RELAY_DATABASE_POOL, and a pooled
connection that the server closed (a restart, a terminated backend) is replaced before a
request uses it, without a round trip on every checkout."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text

from relay.db import create_engine
from relay.settings import Settings, SettingsError
from tests.conftest import PG_ADMIN_DSN, create_pg_database, drop_pg_database

BACKEND = text("SELECT pg_backend_pid()")


async def test_a_connection_the_server_closed_is_replaced_before_use() -> None:
    url = await create_pg_database()
    engine = create_engine(url, pool=2)
    try:
        async with engine.connect() as connection:
            first = (await connection.execute(BACKEND)).scalar()
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        finally:
            await admin.close()
        await asyncio.sleep(0.2)  # the server's goodbye reaches the idle connection
        async with engine.connect() as connection:
            second = (await connection.execute(BACKEND)).scalar()
        assert second != first
        assert engine.pool.checkedin() == 1  # the closed one is gone, not kept
    finally:
        await engine.dispose()
        await drop_pg_database(url)


def test_the_pool_size_is_read_and_bounded() -> None:
    assert Settings.from_env({}).database_pool == 20
    assert Settings.from_env({"RELAY_DATABASE_POOL": "50"}).database_pool == 50
    for raw in ("0", "-3", "5000"):
        with pytest.raises(SettingsError, match="RELAY_DATABASE_POOL"):
            Settings.from_env({"RELAY_DATABASE_POOL": raw})
    engine = create_engine("postgresql+asyncpg://127.0.0.1/test", pool=8)
    assert (engine.pool.size(), engine.pool._max_overflow) == (8, 4)  # type: ignore[attr-defined]
