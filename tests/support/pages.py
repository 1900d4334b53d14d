"""Helpers for the page tests: a browser-like client, messages to show, header checks."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

import httpx
from sqlalchemy import update

from relay.models import Message
from relay.settings import Settings
from relay.web import middleware
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
    allowed = {"'self'", *middleware.media_origins(settings)}
    assert set(csp["img-src"].split()) <= allowed
    assert set(csp["media-src"].split()) <= allowed | {"blob:"}
    if share:
        assert response.headers["x-robots-tag"] == "noindex"
    assert (
        '<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">'
        in response.text
    )
    assert "<script>" not in response.text and "style=" not in response.text
