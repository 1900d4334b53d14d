"""`relay migrate` and `relay user add` as real processes on an SQLite file: output, exit
codes and messages, and a printed token that the web app accepts."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select

from relay import auth, migrate
from relay.db import create_engine, sessionmaker
from relay.models import User
from relay.settings import Settings
from relay.web.app import create_app
from tests.support.server import RELAY, ROOT, stack_env

PASSWORD = "correct horse battery"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


@dataclass
class Stack:
    data_dir: Path
    database_url: str
    env: dict[str, str]

    @property
    def sqlite_path(self) -> Path:
        return Path(self.database_url.split("///", 1)[1])

    def settings(self) -> Settings:
        return Settings(
            data_dir=self.data_dir,
            database_url=self.database_url,
            media_dir=self.data_dir / "media",
            spool_dir=self.data_dir / "spool",
            workers=0,
            allowed_hosts=("relay.test",),
        )


@pytest.fixture
def stack(tmp_path: Path) -> Stack:
    data_dir = tmp_path / "var"
    url = f"sqlite+aiosqlite:///{data_dir / 'relay.db'}"
    return Stack(data_dir, url, stack_env(data_dir, url, None))


async def relay(env: dict[str, str], *args: str) -> Run:
    process = await asyncio.create_subprocess_exec(
        *RELAY,
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return Run(process.returncode, stdout.decode(), stderr.decode())


def assert_clean_failure(run: Run, code: int, *phrases: str) -> None:
    assert run.code == code, run
    assert "Traceback" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("relay: ")
    for phrase in phrases:
        assert phrase in last


async def test_migrate_fresh_database_prints_up_to_date(stack: Stack) -> None:
    run = await relay(stack.env, "migrate")
    assert run.code == 0, run.stderr
    assert run.stdout.strip() == "database is up to date"
    with sqlite3.connect(stack.sqlite_path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        (revision,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
    assert {"users", "messages", "renditions", "jobs", "alembic_version"} <= tables
    assert revision


async def test_user_add_prints_token_on_last_line_that_the_app_accepts(stack: Stack) -> None:
    run = await relay(
        stack.env, "user", "add", "--email", " Ann@Example.org", "--password", PASSWORD,
        "--name", "Ann", "--admin",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert "admin ann@example.org" in lines[0]
    token = lines[-1]
    assert token.startswith("rl_") and " " not in token

    async with LifespanManager(create_app(stack.settings())) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://relay.test") as client:
            headers = {"Authorization": f"Bearer {token}"}
            listed = await client.get("/api/messages", headers=headers)
            assert listed.status_code == 200 and listed.json() == {"messages": []}
            created = await client.post(
                "/api/messages", json={"kind": "text", "body": "from the CLI"}, headers=headers
            )
            assert created.status_code == 201
            refused = await client.get("/api/messages", headers={"Authorization": "Bearer rl_x"})
            assert refused.status_code == 401
        async with manager._state["relay"].sessions() as session:
            user = await session.scalar(select(User))
    assert (user.email, user.display_name, user.is_admin) == ("ann@example.org", "Ann", True)


async def test_user_add_duplicate_email_exits_1_with_message(stack: Stack) -> None:
    stack.data_dir.mkdir(parents=True)
    engine = create_engine(stack.database_url)
    await migrate.upgrade(engine)
    async with sessionmaker(engine).begin() as session:
        await auth.create_user(session, "ann@example.org", PASSWORD)
    await engine.dispose()

    run = await relay(
        stack.env, "user", "add", "--email", "ANN@example.org", "--password", "another password"
    )
    assert_clean_failure(run, 1, "ann@example.org", "exists already")
    assert "rl_" not in run.stdout


async def test_user_add_short_password_exits_1_and_creates_nobody(stack: Stack) -> None:
    run = await relay(stack.env, "user", "add", "--email", "ann@example.org", "--password", "short")
    assert_clean_failure(run, 1, "at least 8 characters")
    with sqlite3.connect(stack.sqlite_path) as db:
        assert db.execute("SELECT count(*) FROM users").fetchone() == (0,)


async def test_invalid_port_exits_2_naming_the_variable(stack: Stack) -> None:
    run = await relay(stack.env | {"RELAY_PORT": "eighty"}, "migrate")
    assert_clean_failure(run, 2, "RELAY_PORT", "'eighty'")
    assert not stack.sqlite_path.exists()


async def test_user_add_takes_a_full_name(stack: Stack) -> None:
    """The README's example, word for word."""
    run = await relay(
        stack.env, "user", "add", "--name", "Anna de Vries", "--email", "anna@example.org",
        "--password", PASSWORD,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert "created user anna@example.org" in run.stdout
    with sqlite3.connect(stack.sqlite_path) as db:
        assert db.execute("SELECT display_name FROM users").fetchall() == [("Anna de Vries",)]


async def test_user_add_never_names_anyone_you(stack: Stack) -> None:
    """Without --name the name comes from the address, unless the address would make it a
    word for the reader: then the command asks for a name and creates nobody."""
    named = await relay(
        stack.env, "user", "add", "--email", "jan.van.dijk@example.org", "--password", PASSWORD
    )
    assert named.code == 0, named.stderr
    refused = await relay(
        stack.env, "user", "add", "--email", "you@example.org", "--password", PASSWORD
    )
    assert_clean_failure(refused, 1, "--name")
    typed = await relay(
        stack.env, "user", "add", "--email", "x@example.org", "--password", PASSWORD,
        "--name", "Jij",
    )  # fmt: skip
    assert_clean_failure(typed, 1, "'Jij'", "--name")
    with sqlite3.connect(stack.sqlite_path) as db:
        assert db.execute("SELECT display_name FROM users").fetchall() == [("Jan van Dijk",)]
