"""The sign-in form (CSRF, redirects, wrong passwords, the throttle) and signing out."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import httpx
import pytest

from relay import i18n
from relay.models import User
from relay.web import pages
from relay.web.http import SESSION_COOKIE
from tests.conftest import World
from tests.support.pages import HTML, assert_page_headers, login_page, session_csrf, sign_in
from tests.support.server import add_user, serve
from tests.test_auth import occupy


async def test_login_form_renders_with_csrf_cookie(world: World) -> None:
    async with world.anonymous() as client:
        response = await client.get("/login", headers=HTML)
    assert response.status_code == 200
    assert 'name="email"' in response.text and 'name="password"' in response.text
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{pages.LOGIN_CSRF_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert session_csrf(response.text) in cookie
    assert_page_headers(response, world.services.settings, share=False)


async def test_login_success_sets_session_cookie_and_redirects(world: World) -> None:
    async with world.anonymous() as client:
        csrf = await login_page(client)
        form = {"csrf": csrf, "email": world.author.email, "password": world.author.password}
        response = await client.post("/login", data=form, headers=HTML)
        assert response.status_code == 303
        assert response.headers["location"] == "/"
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
        )
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # http://relay.test is not https
        home = await client.get("/", headers=HTML)
    assert home.status_code == 200
    assert "Your profile: </span>Author</span></a>" in home.text


async def test_login_goes_to_local_next(world: World) -> None:
    async with world.anonymous() as client:
        csrf = await login_page(client, "/login?next=/m/abc")
        assert 'name="next" value="/m/abc"' in (await client.get("/login?next=/m/abc")).text
        form = {
            "csrf": csrf,
            "email": world.author.email,
            "password": world.author.password,
            "next": "/m/abc",
        }
        response = await client.post("/login", data=form)
    assert response.status_code == 303
    assert response.headers["location"] == "/m/abc"


async def test_login_wrong_password_400_without_saying_which(world: World) -> None:
    async with world.anonymous() as client:
        csrf = await login_page(client)
        wrong_password = {"csrf": csrf, "email": world.author.email, "password": "nope-nope"}
        unknown_email = {"csrf": csrf, "email": "nobody@example.org", "password": "nope-nope"}
        first = await client.post("/login", data=wrong_password, headers=HTML)
        second = await client.post("/login", data=unknown_email, headers=HTML)
    for response in (first, second):
        assert response.status_code == 400
        assert "E-mail or password is wrong." in response.text
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert first.text.replace(world.author.email, "nobody@example.org") == second.text


@pytest.mark.parametrize("missing", ["cookie", "field", "mismatch"])
async def test_login_without_csrf_403(world: World, missing: str) -> None:
    async with world.anonymous() as client:
        csrf = await login_page(client)
        form = {"csrf": csrf, "email": world.author.email, "password": world.author.password}
        if missing == "cookie":
            client.cookies.clear()
        elif missing == "field":
            del form["csrf"]
        else:
            form["csrf"] = "x" * len(csrf)
        response = await client.post("/login", data=form, headers=HTML)
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example"])
async def test_login_open_redirect_refused(world: World, target: str) -> None:
    async with world.anonymous() as client:
        csrf = await login_page(client, f"/login?next={target}")
        form = {
            "csrf": csrf,
            "email": world.author.email,
            "password": world.author.password,
            "next": target,
        }
        response = await client.post("/login", data=form)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_logout_without_csrf_403(world: World) -> None:
    async with sign_in(world, world.author) as client:
        response = await client.post("/logout", data={}, headers=HTML)
        assert response.status_code == 403
        assert (await client.get("/", headers=HTML)).status_code == 200


async def test_logout_with_csrf_ends_session(world: World) -> None:
    async with sign_in(world, world.author) as client:
        old_cookie = client.cookies[SESSION_COOKIE]
        # Signing out is on the profile page, one tap from the header on every page.
        csrf = session_csrf((await client.get("/me", headers=HTML)).text)
        response = await client.post("/logout", data={"csrf": csrf}, headers=HTML)
        assert response.status_code == 303
        assert response.headers["location"] == "/login"
        assert SESSION_COOKIE not in client.cookies
        client.cookies.set(SESSION_COOKIE, old_cookie)  # the old cookie is dead on the server
        again = await client.get("/", headers=HTML)
    assert again.status_code == 303
    assert again.headers["location"] == "/login"


# -- the throttle ----------------------------------------------------------------------


def from_address(world: World, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=world.app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://relay.test")


async def attempt(
    client: httpx.AsyncClient, email: str, password: str, headers: dict[str, str] = HTML
) -> httpx.Response:
    csrf = await login_page(client)
    form = {"csrf": csrf, "email": email, "password": password}
    return await client.post("/login", data=form, headers=headers)


async def fail(client: httpx.AsyncClient, email: str, times: int) -> None:
    for _ in range(times):
        assert (await attempt(client, email, "wrong password")).status_code == 400


async def test_login_after_ten_failures_429_with_retry_after_even_with_right_password(
    world: World,
) -> None:
    async with from_address(world, "198.51.100.1") as client:
        await fail(client, world.author.email, 10)
        wrong = await attempt(client, world.author.email, "wrong password")
        right = await attempt(client, world.author.email, world.author.password)
    for response in (wrong, right):
        assert response.status_code == 429
        assert 0 < int(response.headers["retry-after"]) <= 600
        assert response.headers["content-type"].startswith("text/html")
        assert "Too many failed sign-ins. Wait 10 min and try again." in response.text
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
        assert 'name="password"' in response.text  # still the sign-in page


async def test_login_throttle_is_per_account_and_per_address(world: World) -> None:
    async with from_address(world, "198.51.100.1") as client:
        await fail(client, world.author.email, 10)
        same_address = await attempt(client, world.other.email, world.other.password)
    async with from_address(world, "198.51.100.2") as client:
        same_account = await attempt(client, world.author.email, world.author.password)
        neither = await attempt(client, world.other.email, world.other.password)
    assert same_address.status_code == 429 and same_account.status_code == 429
    assert neither.status_code == 303


async def test_login_success_clears_the_accounts_failures(world: World) -> None:
    async with from_address(world, "198.51.100.1") as client:
        await fail(client, world.author.email, 9)
    async with from_address(world, "198.51.100.2") as client:
        assert (await attempt(client, world.author.email, world.author.password)).status_code == 303
    async with from_address(world, "198.51.100.3") as client:
        await fail(client, world.author.email, 10)
        assert (await attempt(client, world.author.email, "wrong password")).status_code == 429


async def test_login_successes_from_one_address_are_never_throttled(world: World) -> None:
    """An office behind one address signs in many times a day."""
    async with from_address(world, "198.51.100.1") as client:
        for person in [world.author, world.other, world.admin] * 4:
            assert (await attempt(client, person.email, person.password)).status_code == 303


async def test_signing_in_keeps_the_page_language_on_the_account(world: World) -> None:
    """For jobs, which have no page to ask: transcription falls back on it when unsure."""
    async with world.anonymous() as client:
        client.cookies.set(i18n.LANG_COOKIE, "nl")
        csrf = await login_page(client)
        form = {"csrf": csrf, "email": world.author.email, "password": world.author.password}
        assert (await client.post("/login", data=form, headers=HTML)).status_code == 303
    async with world.services.sessions.begin() as session:
        user = await session.get(User, world.author.id)
        assert user is not None and user.ui_language == "nl"


async def test_login_429_reads_in_dutch(world: World) -> None:
    async with from_address(world, "198.51.100.1") as client:
        await fail(client, world.author.email, 10)
        dutch = {**HTML, "Accept-Language": "nl-NL,nl;q=0.9"}
        response = await attempt(client, world.author.email, world.author.password, dutch)
    assert response.status_code == 429
    assert '<html lang="nl">' in response.text
    assert "Te veel mislukte aanmeldpogingen. Wacht 10 min en probeer het opnieuw." in response.text


def test_sign_in_and_passcode_words_exist_in_both_languages() -> None:
    assert set(i18n.LOGIN_CATALOGS["en"]) == set(i18n.LOGIN_CATALOGS["nl"])
    assert set(i18n.THREAD_CATALOGS["en"]) == set(i18n.THREAD_CATALOGS["nl"])


async def test_login_waits_for_a_free_hash_thread(world: World) -> None:
    services = world.services
    gate = occupy(services.hashing, services.settings.limits.hash_concurrency)
    async with world.anonymous() as client:
        signing_in = asyncio.create_task(attempt(client, world.author.email, world.author.password))
        await asyncio.sleep(0.3)
        assert not signing_in.done()
        gate.set()
        assert (await signing_in).status_code == 303


async def _wrong_logins(base: str, stop: asyncio.Event) -> int:
    """Wrong sign-ins one after another until `stop`; how many were answered 400."""
    answered = 0
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        csrf = await login_page(client)
        while not stop.is_set():
            form = {"csrf": csrf, "email": "ann@example.org", "password": "wrong password"}
            response = await client.post("/login", data=form, headers=HTML)
            assert response.status_code == 400, response.text
            answered += 1
    return answered


async def _me_seconds(client: httpx.AsyncClient, times: int) -> list[float]:
    seconds = []
    for _ in range(times):
        began = time.perf_counter()
        assert (await client.get("/api/me")).status_code == 200
        seconds.append(time.perf_counter() - began)
        await asyncio.sleep(0.05)
    return seconds


async def test_eight_parallel_wrong_logins_keep_api_me_under_200_ms(
    relay_env: dict[str, str], tmp_path: Path
) -> None:
    """A real `relay serve` with production argon2; the throttle is lifted so that every
    attempt is checked: the load is the hashing, not the refusals."""
    token = add_user(relay_env, "ann@example.org")
    process, base = serve(relay_env, tmp_path / "serve.log", RELAY_LOGIN_MAX_FAILURES="10000")
    try:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
            quiet = statistics.median(await _me_seconds(client, 20))
            stop = asyncio.Event()
            logins = [asyncio.create_task(_wrong_logins(base, stop)) for _ in range(8)]
            try:
                await asyncio.sleep(1.0)  # every login client has its form and is hashing
                loaded = statistics.median(await _me_seconds(client, 40))
            finally:
                stop.set()
                answered = sum(await asyncio.gather(*logins))
    finally:
        process.stop()
    figures = f"GET /api/me median {quiet * 1000:.0f} ms quiet, {loaded * 1000:.0f} ms loaded"
    print(f"{figures}; {answered} wrong logins answered")
    assert answered >= 8, figures
    assert loaded < 0.2, figures
