"""Server-rendered pages: sign-in, the list, a message, share pages and their headers."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from starlette.requests import Request

from relay import pages
from relay.db import utcnow
from relay.http import SESSION_COOKIE
from relay.models import Message, MessageStatus, Rendition, ShareLink
from relay.settings import S3Settings, Settings
from tests.conftest import Person, World

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


async def create_message(world: World, title: str, *, kind: str = "audio") -> dict:
    body = {"kind": kind, "title": title}
    if kind == "text":
        body["body"] = f"The body of {title}"
    response = await world.client.post("/api/messages", json=body, headers=world.author.headers)
    assert response.status_code == 201, response.text
    data = response.json()
    data["token"] = data["share_url"].rsplit("/", 1)[1]
    return data


async def set_message(world: World, message_id: str, **values: object) -> None:
    async with world.services.sessions.begin() as session:
        await session.execute(update(Message).where(Message.id == message_id).values(**values))


async def add_renditions(world: World, message_id: str, *names: str) -> None:
    mimes = {"video": "video/mp4", "audio": "audio/mp4", "poster": "image/jpeg"}
    async with world.services.sessions.begin() as session:
        for name in names:
            session.add(
                Rendition(
                    message_id=message_id,
                    name=name,
                    storage_key=f"renditions/{message_id}/{name}",
                    mime=mimes[name],
                    bytes=1000,
                )
            )


async def login_page(client: httpx.AsyncClient, path: str = "/login") -> str:
    response = await client.get(path, headers=HTML)
    assert response.status_code == 200
    match = CSRF_FIELD.search(response.text)
    assert match
    return match.group(1)


@contextlib.asynccontextmanager
async def sign_in(world: World, person: Person) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client with a session cookie."""
    async with world.anonymous() as client:
        csrf = await login_page(client)
        form = {"csrf": csrf, "email": person.email, "password": person.password}
        response = await client.post("/login", data=form, headers=HTML)
        assert response.status_code == 303, response.text
        yield client


def session_csrf(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match
    return match.group(1)


def assert_page_headers(response: httpx.Response, settings: Settings, *, share: bool) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == ("no-referrer" if share else "same-origin")
    csp = dict(
        (part.strip().split(" ", 1) + [""])[:2]
        for part in response.headers["content-security-policy"].split(";")
    )
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["base-uri"] == "'none'"
    assert csp["form-action"] == "'self'"
    allowed = {"'self'", *pages.media_origins(settings)}
    for directive in ("img-src", "media-src"):
        assert set(csp[directive].split()) <= allowed
    if share:
        assert response.headers["x-robots-tag"] == "noindex"
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in response.text
    assert "<script>" not in response.text and "style=" not in response.text


# -- pure helpers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/m/abc", "/m/abc"),
        ("/m/abc?x=1", "/m/abc?x=1"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("evil", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_safe_next_keeps_only_local_paths(given: str | None, expected: str) -> None:
    assert pages.safe_next(given) == expected


def test_duration_text_formats_minutes_and_hours() -> None:
    assert pages.duration_text(None) == ""
    assert pages.duration_text(4.4) == "0:04"
    assert pages.duration_text(65) == "1:05"
    assert pages.duration_text(3723) == "1:02:03"


def test_media_origins_local_store_is_only_self() -> None:
    assert pages.media_origins(Settings()) == []
    assert "media-src 'self';" in pages.content_security_policy(Settings())


def test_media_origins_s3_prefers_public_endpoint() -> None:
    s3 = S3Settings(endpoint_url="http://swift:8080", public_endpoint_url="https://Media.Example")
    assert pages.media_origins(Settings(storage="s3", s3=s3)) == ["https://media.example"]
    virtual = S3Settings(endpoint_url="https://s3.example", bucket="b", addressing="virtual")
    assert pages.media_origins(Settings(storage="s3", s3=virtual)) == ["https://b.s3.example"]


def _request(path: str, accept: str) -> Request:
    headers = [(b"accept", accept.encode())]
    return Request({"type": "http", "method": "GET", "path": path, "headers": headers})


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", True),
        ("/m/abc", True),
        ("/s/tok", True),
        ("/api/messages", False),
        ("/media/abc/video", False),
        ("/s/tok/media/video", False),
        ("/s/tok/status", False),
    ],
)
def test_wants_html_by_path(path: str, expected: bool) -> None:
    assert pages.wants_html(_request(path, "text/html")) is expected
    assert pages.wants_html(_request(path, "application/json")) is False


# -- sign-in and sign-out --------------------------------------------------------------


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


# -- the list and one message ----------------------------------------------------------


async def test_home_anonymous_redirects_to_login(world: World) -> None:
    async with world.anonymous() as client:
        response = await client.get("/", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"


async def test_home_lists_own_messages_newest_first(world: World) -> None:
    first = await create_message(world, "First note")
    second = await create_message(world, "")
    other = await world.client.post(
        "/api/messages", json={"kind": "video", "title": "Not yours"}, headers=world.other.headers
    )
    assert other.status_code == 201
    await set_message(world, first["id"], created_at=utcnow() - timedelta(minutes=5))
    async with sign_in(world, world.author) as client:
        response = await client.get("/", headers=HTML)
    assert response.status_code == 200
    text = response.text
    assert "Not yours" not in text
    assert text.index(f"/m/{second['id']}") < text.index(f"/m/{first['id']}")
    assert "Untitled voice message" in text
    assert first["share_url"] in text and second["share_url"] in text
    assert_page_headers(response, world.services.settings, share=False)


async def test_message_page_other_user_404_author_and_admin_200(world: World) -> None:
    message = await create_message(world, "Private thoughts")
    path = f"/m/{message['id']}"
    for person, expected in [(world.other, 404), (world.author, 200), (world.admin, 200)]:
        async with sign_in(world, person) as client:
            response = await client.get(path, headers=HTML)
        assert response.status_code == expected, person.email
        assert ("Private thoughts" in response.text) is (expected == 200)
    assert message["share_url"] in response.text


async def test_message_page_anonymous_redirects_with_next(world: World) -> None:
    async with world.anonymous() as client:
        response = await client.get("/m/abc?x=1", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fm%2Fabc%3Fx%3D1"


async def test_processing_message_page_has_polling_hook(world: World) -> None:
    message = await create_message(world, "Still cooking", kind="video")
    await set_message(world, message["id"], status=MessageStatus.processing)
    async with sign_in(world, world.author) as client:
        response = await client.get(f"/m/{message['id']}", headers=HTML)
    assert response.status_code == 200
    assert f'data-status-url="/api/messages/{message["id"]}"' in response.text
    assert 'data-status="processing"' in response.text
    assert "Processing…" in response.text
    assert '<script type="module" src="/static/player.js"></script>' in response.text
    assert "<video" not in response.text


# -- share pages -----------------------------------------------------------------------


async def test_share_page_anonymous_200_private_headers(world: World) -> None:
    message = await create_message(world, "Hello from the train", kind="video")
    await set_message(world, message["id"], status=MessageStatus.ready, duration=65.2)
    await add_renditions(world, message["id"], "video", "poster")
    token = message["token"]
    async with world.anonymous() as client:
        response = await client.get(f"/s/{token}", headers=HTML)
    assert response.status_code == 200
    assert_page_headers(response, world.services.settings, share=True)
    assert '<meta name="robots" content="noindex">' in response.text
    assert "Hello from the train" in response.text
    assert "From author" in response.text
    assert "1:05" in response.text
    assert (
        f'<video class="media" controls playsinline preload="metadata" '
        f'poster="/s/{token}/media/poster" src="/s/{token}/media/video"></video>'
    ) in response.text


async def test_share_page_ready_audio_has_audio_player(world: World) -> None:
    message = await create_message(world, "Voice memo")
    await set_message(world, message["id"], status=MessageStatus.ready)
    await add_renditions(world, message["id"], "audio")
    token = message["token"]
    async with world.anonymous() as client:
        response = await client.get(f"/s/{token}", headers=HTML)
    assert (
        f'<audio class="media" controls preload="metadata" src="/s/{token}/media/audio">'
        in response.text
    )


async def test_share_page_failed_shows_reason(world: World) -> None:
    message = await create_message(world, "Broken")
    await set_message(world, message["id"], status=MessageStatus.failed, error="No audio <here>.")
    async with world.anonymous() as client:
        response = await client.get(f"/s/{message['token']}", headers=HTML)
    assert response.status_code == 200
    assert "No audio &lt;here&gt;." in response.text
    assert "data-status-url" in response.text and 'data-status="failed"' in response.text


async def test_share_page_text_message_shows_body(world: World) -> None:
    message = await create_message(world, "A note", kind="text")
    async with world.anonymous() as client:
        response = await client.get(f"/s/{message['token']}", headers=HTML)
    assert response.status_code == 200
    assert "The body of A note" in response.text
    assert "data-player" not in response.text


async def test_share_page_unknown_token_404(world: World) -> None:
    async with world.anonymous() as client:
        response = await client.get("/s/AAAAAAAAAAAAAAAAAAAAAA", headers=HTML)
    assert response.status_code == 404
    assert response.headers["x-robots-tag"] == "noindex"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_share_page_revoked_410_reveals_nothing(world: World) -> None:
    message = await create_message(world, "Secret plans")
    async with world.services.sessions.begin() as session:
        await session.execute(
            update(ShareLink).where(ShareLink.token == message["token"]).values(revoked_at=utcnow())
        )
    async with world.anonymous() as client:
        page = await client.get(f"/s/{message['token']}", headers=HTML)
        status = await client.get(f"/s/{message['token']}/status")
    assert page.status_code == 410
    assert "Secret plans" not in page.text and "author" not in page.text
    assert_page_headers(page, world.services.settings, share=True)
    assert status.status_code == 410
    assert "Secret plans" not in status.text


async def test_share_page_expired_410(world: World) -> None:
    message = await create_message(world, "Old news")
    async with world.services.sessions.begin() as session:
        await session.execute(
            update(ShareLink)
            .where(ShareLink.token == message["token"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    async with world.anonymous() as client:
        response = await client.get(f"/s/{message['token']}", headers=HTML)
    assert response.status_code == 410
    assert "Old news" not in response.text


async def test_share_status_json_follows_processing(world: World) -> None:
    message = await create_message(world, "Polling", kind="video")
    token = message["token"]
    async with world.anonymous() as client:
        page = await client.get(f"/s/{token}", headers=HTML)
        assert f'data-status-url="/s/{token}/status"' in page.text
        waiting = await client.get(f"/s/{token}/status")
        await set_message(world, message["id"], status=MessageStatus.ready)
        await add_renditions(world, message["id"], "video", "poster")
        ready = await client.get(f"/s/{token}/status")
    assert waiting.status_code == 200
    assert waiting.json()["status"] == "uploading"
    assert waiting.headers["x-robots-tag"] == "noindex"
    assert waiting.headers["cache-control"] == "no-store"
    body = ready.json()
    assert body["id"] == message["id"] and body["status"] == "ready"
    assert body["share_url"] == message["share_url"]
    urls = {r["name"]: r["url"] for r in body["renditions"]}
    assert urls == {"video": f"/s/{token}/media/video", "poster": f"/s/{token}/media/poster"}


async def test_share_status_unknown_token_404_json(world: World) -> None:
    async with world.anonymous() as client:
        response = await client.get("/s/AAAAAAAAAAAAAAAAAAAAAA/status", headers=HTML)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
