"""Server-rendered pages: pure page functions, the list of messages and one message."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import update
from starlette.requests import Request

from relay import humanize
from relay.db import utcnow
from relay.models import Thread
from relay.settings import S3Settings, Settings
from relay.web import middleware, page_render, pages
from tests.conftest import World
from tests.support.pages import HTML, assert_page_headers, create_message, sign_in

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


def test_clock_formats_minutes_and_hours() -> None:
    assert humanize.clock(None) == ""
    assert humanize.clock(4.9) == "0:04"
    assert humanize.clock(65) == "1:05"
    assert humanize.clock(3723) == "1:02:03"


def test_media_origins_local_store_is_only_self() -> None:
    assert middleware.media_origins(Settings()) == []
    assert "media-src 'self' blob:;" in middleware.content_security_policy(Settings())


def test_media_origins_s3_prefers_public_endpoint() -> None:
    s3 = S3Settings(endpoint_url="http://swift:8080", public_endpoint_url="https://Media.Example")
    assert middleware.media_origins(Settings(storage="s3", s3=s3)) == ["https://media.example"]
    virtual = S3Settings(endpoint_url="https://s3.example", bucket="b", addressing="virtual")
    assert middleware.media_origins(Settings(storage="s3", s3=virtual)) == ["https://b.s3.example"]


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
    assert page_render.wants_html(_request(path, "text/html")) is expected
    assert page_render.wants_html(_request(path, "application/json")) is False


# -- the list and one message ----------------------------------------------------------


async def test_home_anonymous_redirects_to_login(world: World) -> None:
    async with world.anonymous() as client:
        response = await client.get("/", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"


async def test_home_is_the_inbox_newest_activity_first(world: World) -> None:
    first = await create_message(world, "First note")
    second = await create_message(world, "")
    other = await world.client.post(
        "/api/messages", json={"kind": "video", "title": "Not yours"}, headers=world.other.headers
    )
    assert other.status_code == 201
    async with world.services.sessions.begin() as session:
        await session.execute(
            update(Thread)
            .where(Thread.id == first["thread_id"])
            .values(last_activity_at=utcnow() - timedelta(minutes=5))
        )
    async with sign_in(world, world.author) as client:
        response = await client.get("/", headers=HTML)
    assert response.status_code == 200
    text = response.text
    assert "Not yours" not in text
    assert text.index(f"/t/{second['thread_id']}") < text.index(f"/t/{first['thread_id']}")
    assert "First note" in text and "Untitled thread" in text
    assert_page_headers(response, world.services.settings, share=False)


async def test_message_address_redirects_members_to_the_thread_at_the_message(
    world: World,
) -> None:
    """/m/<id> is the thread page at that message (303: the answer depends on who asks);
    a stranger still gets 404 and learns nothing."""
    message = await create_message(world, "Private thoughts")
    at_message = f"/t/{message['thread_id']}#m-{message['id']}"
    for person, expected in [(world.other, 404), (world.author, 303), (world.admin, 303)]:
        async with sign_in(world, person) as client:
            response = await client.get(f"/m/{message['id']}", headers=HTML)
        assert response.status_code == expected, person.email
        assert "Private thoughts" not in response.text
        if expected == 303:
            assert response.headers["location"] == at_message
            assert response.headers["cache-control"] == "no-store"
    async with sign_in(world, world.author) as client:
        moment = await client.get(f"/m/{message['id']}?t=12.5", headers=HTML)
        nonsense = await client.get(f"/m/{message['id']}?t=inf", headers=HTML)
        page = await client.get(at_message.split("#")[0], headers=HTML)
    assert moment.headers["location"] == f"/t/{message['thread_id']}?t=12.5#m-{message['id']}"
    assert nonsense.headers["location"] == at_message
    assert f'id="m-{message["id"]}"' in page.text and "Private thoughts" in page.text


async def test_message_page_anonymous_redirects_with_next(world: World) -> None:
    async with world.anonymous() as client:
        response = await client.get("/m/abc?x=1", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fm%2Fabc%3Fx%3D1"


async def test_reply_page_links_its_parent_in_the_thread(world: World) -> None:
    message = await create_message(world, "Kick-off", kind="text")
    async with sign_in(world, world.author) as client:
        record = await client.get(f"/record?reply_to={message['id']}", headers=HTML)
    href = f"/t/{message['thread_id']}#m-{message['id']}"
    assert f'href="{href}">Kick-off</a>' in record.text


async def test_recorders_stop_at_the_configured_maximum_duration(world: World) -> None:
    """The recorder's limit is the one the media pipeline enforces (RELAY_MAX_DURATION_SECONDS),
    on /record and inline in a thread."""
    message = await create_message(world, "Kick-off", kind="text")
    settings = world.services.settings
    media = dataclasses.replace(settings.media, max_duration_seconds=90)
    world.services.settings = dataclasses.replace(settings, media=media)
    try:
        async with sign_in(world, world.author) as client:
            record = await client.get("/record", headers=HTML)
            thread = await client.get(f"/t/{message['thread_id']}", headers=HTML)
    finally:
        world.services.settings = settings
    assert 'data-max-seconds="90"' in record.text
    assert 'data-max-seconds="90"' in thread.text and 'data-follow="thread"' in thread.text
