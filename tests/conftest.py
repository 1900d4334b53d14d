"""Shared fixtures. Every storage and database test runs on both stacks:

- "embedded": SQLite file + local media folder (the `relay serve` default);
- "scaled": PostgreSQL on 127.0.0.1:5432 + OpenStack Swift through s3api (infra/swift.sh).

Every test gets one layer marker from the fixtures it uses (`pytest -m unit` and so on):
`browser` drives Chromium; `integration` uses a real part (database, storage, ffmpeg,
Whisper, a process, a temporary folder); `unit` uses none. A test that starts a process
without any fixture carries its marker by hand.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher
from asgi_lifespan import LifespanManager
from sqlalchemy import text

from relay import auth
from relay.context import Services
from relay.db import create_engine, sessionmaker
from relay.migrate import upgrade
from relay.settings import JobSettings, Settings
from relay.storage import open_storage
from relay.web.app import create_app
from tests.support.server import stack_env

pytest_plugins = ["tests.support.storage", "tests.support.recorder"]

T = TypeVar("T")
PG_ADMIN_DSN = os.environ.get("RELAY_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
STACKS = ["embedded", "scaled"]
TABLES = (
    "search_index, transcript_segments, transcripts, jobs, renditions, share_links, uploads, "
    "messages, sessions, api_tokens, users, threads, thread_members, guests, listens, "
    "reactions, events, throttles"
)


async def create_pg_database() -> str:
    """A new, empty database on the local server; returns its SQLAlchemy URL."""
    name = f"relay_test_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return (
        PG_ADMIN_DSN.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0]
        + "/"
        + name
    )


async def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def run_apart(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on its own loop in a thread: for sync fixtures that a running loop
    (of an async test or fixture) may set up lazily through getfixturevalue."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _migrated_pg_database() -> str:
    url = await create_pg_database()
    await _migrate(url)
    return url


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()


async def _truncate(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    await engine.dispose()


# Fixtures that need no real part: a test using only these is a unit test.
PURE_FIXTURES = {"monkeypatch", "request", "capsys", "caplog", "_cheap_argon2", "event_loop_policy"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if any(item.get_closest_marker(name) for name in ("unit", "integration", "browser")):
            continue  # marked by hand: a test that starts a process without a fixture
        if used & {"browser", "playwright"}:
            item.add_marker(pytest.mark.browser)
        elif used - PURE_FIXTURES:
            item.add_marker(pytest.mark.integration)
        else:
            item.add_marker(pytest.mark.unit)


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    # Production argon2 costs ~0.1 s a hash and every `world` makes three users. The
    # parameters live in each hash, so verifying works alike; real processes (test_cli,
    # test_e2e) keep the production cost.
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """One migrated PostgreSQL database for the session; tests empty it before use."""
    url = run_apart(_migrated_pg_database())
    yield url
    run_apart(drop_pg_database(url))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file: a copy of it is a fresh database in a millisecond, where
    running the migrations takes a third of a second (test_migrations runs them for real)."""
    path = tmp_path_factory.mktemp("template") / "relay.db"
    run_apart(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


def fresh_sqlite(template: Path, folder: Path) -> str:
    path = folder / "relay.db"
    shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(params=STACKS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    base = Settings(
        data_dir=tmp_path / "var",
        media_dir=tmp_path / "var" / "media",
        spool_dir=tmp_path / "var" / "spool",
        workers=0,
        jobs=JobSettings(lease_seconds=5, retry_base_seconds=0.2, poll_seconds=0.1),
        allowed_hosts=("relay.test", "127.0.0.1", "localhost"),
    )
    if request.param == "embedded":
        url = fresh_sqlite(request.getfixturevalue("sqlite_template"), tmp_path)
        return base.replace(database_url=url)
    url = request.getfixturevalue("pg_url")
    run_apart(_truncate(url))
    return base.replace(database_url=url, storage="s3", s3=request.getfixturevalue("s3_settings"))


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    """Engine, sessions and storage without the web app (for job and worker tests)."""
    engine = create_engine(settings.database_url)
    await upgrade(engine)
    storage = open_storage(settings)
    await storage.check()
    yield Services(
        settings=settings,
        engine=engine,
        sessions=sessionmaker(engine),
        storage=storage,
        secret=secrets.token_bytes(32),
    )
    await engine.dispose()


@dataclass
class Person:
    id: str
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    app: object
    client: httpx.AsyncClient
    services: Services
    author: Person
    other: Person
    admin: Person

    def anonymous(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://relay.test"
        )


async def add_person(services: Services, email: str, *, admin: bool = False) -> Person:
    password = secrets.token_urlsafe(12)
    async with services.sessions.begin() as session:
        user = await auth.create_user(session, email, password, admin=admin)
        token = await auth.issue_api_token(session, user)
    return Person(id=user.id, email=user.email, password=password, token=token)


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    """The app (without embedded workers) on one stack, with an author, another user, an admin."""
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        services: Services = manager._state["relay"]
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://relay.test"
        )
        world = World(
            app=manager.app,
            client=client,
            services=services,
            author=await add_person(services, "author@example.org"),
            other=await add_person(services, "other@example.org"),
            admin=await add_person(services, "admin@example.org", admin=True),
        )
        async with client:
            yield world


@pytest.fixture(params=STACKS)
async def relay_env(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[dict[str, str]]:
    """Environment for real `relay` processes on one stack, with a fresh database."""
    if request.param == "embedded":
        url = fresh_sqlite(request.getfixturevalue("sqlite_template"), tmp_path)
        yield stack_env(tmp_path / "var", url, None)
        return
    url = await create_pg_database()
    yield stack_env(tmp_path / "var", url, request.getfixturevalue("s3_settings"))
    await drop_pg_database(url)
