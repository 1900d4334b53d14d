"""Accounts, API tokens and sessions (relay/auth.py) on both stacks, and how the web layer
uses them: bearer tokens need no CSRF token, session cookies do."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import subprocess
import sys
import threading
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, text, update

from relay import auth
from relay.context import Services
from relay.db import utcnow
from relay.models import ApiToken, Throttle, User, WebSession
from relay.web.http import SESSION_COOKIE
from tests.conftest import Person, World
from tests.support.server import ROOT

PASSWORD = "correct horse battery"
ADDRESS = "192.0.2.1"
HTML = {"Accept": "text/html"}
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


async def new_user(services: Services, email: str = "alice@example.org") -> User:
    async with services.sessions.begin() as session:
        return await auth.create_user(session, email, PASSWORD)


async def count_users(services: Services) -> int:
    async with services.sessions.begin() as session:
        return await session.scalar(select(func.count()).select_from(User))


# -- accounts --------------------------------------------------------------------------


async def test_create_user_normalises_email_and_hashes_password(services: Services) -> None:
    user = await new_user(services, "  Alice@Example.ORG ")
    assert user.email == "alice@example.org"
    assert user.display_name == "Alice"
    assert user.is_admin is False
    assert user.password_hash.startswith("$argon2") and PASSWORD not in user.password_hash


async def test_create_user_duplicate_email_in_other_case_refused(services: Services) -> None:
    await new_user(services, "alice@example.org")
    with pytest.raises(auth.AccountError, match="exists already"):
        await new_user(services, "ALICE@example.org")
    assert await count_users(services) == 1


async def test_create_user_not_an_email_or_short_password_refused(services: Services) -> None:
    for email in ["alice", "@example.org", "alice@", "", "a" * 320 + "@x"]:
        with pytest.raises(auth.AccountError, match="e-mail"):
            await new_user(services, email)
    async with services.sessions.begin() as session:
        with pytest.raises(auth.AccountError, match="at least 8 characters"):
            await auth.create_user(session, "alice@example.org", "1234567")
    assert await count_users(services) == 0


async def test_authenticate_right_password_in_any_email_case(services: Services) -> None:
    user = await new_user(services)
    found = await auth.authenticate(services, " ALICE@example.org", PASSWORD, address=ADDRESS)
    assert found is not None and found.id == user.id


async def test_authenticate_wrong_password_or_unknown_email_is_none(services: Services) -> None:
    await new_user(services)
    for email, password in [
        ("alice@example.org", "wrong password"),
        ("alice@example.org", ""),
        ("bob@example.org", PASSWORD),
        ("not an address", PASSWORD),
    ]:
        found = await auth.authenticate(services, email, password, address=ADDRESS)
        assert found is None, (email, password)


async def counts(services: Services) -> dict[str, int]:
    async with services.sessions.begin() as session:
        return {row.key: row.count for row in await session.scalars(select(Throttle))}


async def test_authenticate_counts_failures_per_account_and_address_in_database(
    services: Services,
) -> None:
    await new_user(services)
    for _ in range(2):
        assert (
            await auth.authenticate(services, "Alice@example.org", "wrong", address=ADDRESS) is None
        )
    account, client = "login:acct:alice@example.org", f"login:addr:{ADDRESS}"
    assert await counts(services) == {account: 2, client: 2}
    # A right password clears the account's failures and takes back its own count only.
    assert await auth.authenticate(services, "alice@example.org", PASSWORD, address=ADDRESS)
    assert await counts(services) == {client: 2}


async def test_authenticate_waiting_for_a_hash_slot_blocks_no_writer(services: Services) -> None:
    """The hash is read in a transaction that ends before argon2 runs: on SQLite every
    transaction holds the write lock, so a check inside one would stall every request."""
    await new_user(services)
    gate = occupy(services.hashing, services.settings.limits.hash_concurrency)
    attempt = asyncio.create_task(
        auth.authenticate(services, "alice@example.org", PASSWORD, address=ADDRESS)
    )
    try:
        await asyncio.sleep(0.3)
        assert not attempt.done()

        async def write() -> None:
            async with services.sessions.begin() as session:
                await session.execute(update(User).values(display_name="Alice"))

        await asyncio.wait_for(write(), timeout=2)
    finally:
        gate.set()
    assert await attempt is not None


def occupy(pool: Executor, threads: int) -> threading.Event:
    """Keeps every thread of the pool busy until the returned event is set."""
    gate, started = threading.Event(), threading.Barrier(threads + 1)

    def hold() -> None:
        started.wait()
        gate.wait()

    for _ in range(threads):
        pool.submit(hold)
    started.wait(timeout=10)
    return gate


async def test_verify_password_waits_for_a_free_hash_thread() -> None:
    hashed = await auth.hash_password(PASSWORD)
    with ThreadPoolExecutor(1) as pool:
        gate = occupy(pool, 1)
        check = asyncio.create_task(auth.verify_password(hashed, PASSWORD, pool))
        await asyncio.sleep(0.3)
        assert not check.done()
        gate.set()
        assert await check is True
        assert await auth.verify_password(None, PASSWORD, pool) is False


async def test_hash_threads_run_at_a_lower_priority(services: Services) -> None:
    def nice() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(services.hashing, nice) > nice()


@pytest.mark.integration  # starts a process
def test_importing_auth_computes_no_hash() -> None:
    code = "import relay.auth as a; print(a._DUMMY_HASH)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "None"


# -- API tokens ------------------------------------------------------------------------


async def test_api_token_stored_only_as_sha256(services: Services) -> None:
    user = await new_user(services)
    async with services.sessions.begin() as session:
        token = await auth.issue_api_token(session, user, "laptop")
    assert token.startswith("rl_") and len(token) > 40
    async with services.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM api_tokens"))).all()
    assert len(rows) == 1
    values = [str(value) for value in rows[0]]
    assert not any(token in value or token[3:] in value for value in values)
    assert hashlib.sha256(token.encode()).hexdigest() in values


async def test_user_for_token_finds_user_and_records_use(services: Services) -> None:
    user = await new_user(services)
    async with services.sessions.begin() as session:
        token = await auth.issue_api_token(session, user)
    async with services.sessions.begin() as session:
        found = await auth.user_for_token(session, token)
    assert found is not None and found.id == user.id
    async with services.sessions.begin() as session:
        row = await session.scalar(select(ApiToken))
    assert row.last_used_at is not None


async def test_user_for_unknown_token_is_none(services: Services) -> None:
    user = await new_user(services)
    async with services.sessions.begin() as session:
        issued = await auth.issue_api_token(session, user)
    async with services.sessions.begin() as session:
        for token in ["rl_unknown", "", "rl_", issued + "x", issued[:-1]]:
            assert await auth.user_for_token(session, token) is None, token


# -- sessions --------------------------------------------------------------------------


async def test_session_start_find_end(services: Services) -> None:
    user = await new_user(services)
    async with services.sessions.begin() as session:
        cookie, csrf = await auth.start_session(session, user, days=30)
    assert cookie != csrf
    async with services.sessions.begin() as session:
        found = await auth.session_user(session, cookie)
        stored = await session.scalar(select(WebSession))
    assert found is not None and found[0].id == user.id and found[1] == csrf
    assert stored.id_hash == hashlib.sha256(cookie.encode()).hexdigest()
    assert timedelta(days=29) < stored.expires_at - utcnow() <= timedelta(days=30)
    async with services.sessions.begin() as session:
        await auth.end_session(session, cookie)
    async with services.sessions.begin() as session:
        assert await auth.session_user(session, cookie) is None
        assert await auth.session_user(session, "no-such-cookie") is None


async def test_expired_session_ignored(services: Services) -> None:
    user = await new_user(services)
    async with services.sessions.begin() as session:
        cookie, _ = await auth.start_session(session, user, days=30)
        await session.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    async with services.sessions.begin() as session:
        assert await auth.session_user(session, cookie) is None


# -- over HTTP -------------------------------------------------------------------------


async def session_client(world: World, person: Person) -> tuple[httpx.AsyncClient, str]:
    """A client carrying a fresh session cookie for the person, and the session's CSRF token."""
    async with world.services.sessions.begin() as session:
        user = await session.get(User, person.id)
        cookie, csrf = await auth.start_session(session, user, days=1)
    client = world.anonymous()
    client.cookies.set(SESSION_COOKIE, cookie, domain="relay.test")
    return client, csrf


async def test_login_form_then_cookie_session_lists_and_creates_with_csrf(world: World) -> None:
    async with world.anonymous() as client:
        form_page = await client.get("/login", headers=HTML)
        login_csrf = CSRF_FIELD.search(form_page.text).group(1)
        form = {"csrf": login_csrf, "email": world.author.email, "password": world.author.password}
        signed_in = await client.post("/login", data=form, headers=HTML)
        assert signed_in.status_code == 303
        assert client.cookies.get(SESSION_COOKIE)

        listed = await client.get("/api/messages")
        assert listed.status_code == 200 and listed.json() == {"messages": []}

        profile = await client.get("/me", headers=HTML)  # its forms carry the session's token
        csrf = CSRF_FIELD.search(profile.text).group(1)
        message = {"kind": "text", "body": "hello"}
        refused = await client.post("/api/messages", json=message)
        assert refused.status_code == 403
        assert refused.json()["error"] == "forbidden" and "CSRF" in refused.json()["detail"]
        created = await client.post("/api/messages", json=message, headers={"X-CSRF-Token": csrf})
        assert created.status_code == 201, created.text


async def test_cookie_post_needs_the_sessions_csrf_header(world: World) -> None:
    client, csrf = await session_client(world, world.author)
    message = {"kind": "text", "body": "hi"}
    wrong = csrf[:-1] + ("A" if csrf[-1] != "A" else "B")
    async with client:
        for headers in [{}, {"X-CSRF-Token": ""}, {"X-CSRF-Token": wrong}]:
            refused = await client.post("/api/messages", json=message, headers=headers)
            assert refused.status_code == 403, headers
        assert (await client.get("/api/messages")).json() == {"messages": []}
        created = await client.post("/api/messages", json=message, headers={"X-CSRF-Token": csrf})
        assert created.status_code == 201, created.text
        listed = await client.get("/api/messages")
        assert [m["id"] for m in listed.json()["messages"]] == [created.json()["id"]]


async def test_cookie_delete_without_csrf_403_and_message_kept(world: World) -> None:
    created = await world.client.post(
        "/api/messages", json={"kind": "text", "body": "hi"}, headers=world.author.headers
    )
    client, _ = await session_client(world, world.author)
    async with client:
        response = await client.delete(f"/api/messages/{created.json()['id']}")
        assert response.status_code == 403
    kept = await world.client.get(created.headers["Location"], headers=world.author.headers)
    assert kept.status_code == 200


async def test_bearer_post_needs_no_csrf_token(world: World) -> None:
    response = await world.client.post(
        "/api/messages", json={"kind": "text", "body": "hi"}, headers=world.author.headers
    )
    assert response.status_code == 201


async def test_expired_session_cookie_401(world: World) -> None:
    client, _ = await session_client(world, world.author)
    async with world.services.sessions.begin() as session:
        await session.execute(update(WebSession).values(expires_at=utcnow() - timedelta(minutes=1)))
    async with client:
        assert (await client.get("/api/messages")).status_code == 401


async def test_no_or_invalid_credentials_401(world: World) -> None:
    client, _ = await session_client(world, world.author)
    async with client:
        # A wrong token is refused even when a valid session cookie comes along.
        response = await client.get("/api/messages", headers={"Authorization": "Bearer rl_nope"})
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"
    async with world.anonymous() as anonymous:
        assert (await anonymous.get("/api/messages")).status_code == 401
        anonymous.cookies.set(SESSION_COOKIE, "forged", domain="relay.test")
        assert (await anonymous.get("/api/messages")).status_code == 401
