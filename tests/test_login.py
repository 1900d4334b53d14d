"""The sign-in form (CSRF, redirects, wrong passwords) and signing out."""

from __future__ import annotations

import pytest

from relay import pages
from relay.http import SESSION_COOKIE
from tests.conftest import World
from tests.pages_helpers import HTML, assert_page_headers, login_page, session_csrf, sign_in


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
    assert world.author.email in home.text


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
        csrf = session_csrf((await client.get("/", headers=HTML)).text)
        response = await client.post("/logout", data={"csrf": csrf}, headers=HTML)
        assert response.status_code == 303
        assert response.headers["location"] == "/login"
        assert SESSION_COOKIE not in client.cookies
        client.cookies.set(SESSION_COOKIE, old_cookie)  # the old cookie is dead on the server
        again = await client.get("/", headers=HTML)
    assert again.status_code == 303
    assert again.headers["location"] == "/login"
