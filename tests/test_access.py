"""Access-control matrix: every route × every kind of caller has an expected status, and a
refused cell leaks nothing of the message. A route without a row here fails the test."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.routing import Mount, Route

from relay.app import routes
from relay.db import utcnow
from relay.models import Message, MessageStatus, Rendition, ShareLink
from tests.conftest import Person, World
from tests.server import free_port

CALLERS = [
    "anonymous",  # no credentials and no link (an unknown link token)
    "other",  # another signed-in user, with ids but not the link
    "guest_view",  # no account, holding a view-only link
    "guest_reply",  # a named guest bound to the reply link (cookie + CSRF token)
    "revoked",
    "expired",
    "author",
    "admin",
]
NO_USER = ("anonymous", "guest_view", "guest_reply", "revoked", "expired")
MEDIA = "media"  # 200 from the local store, 302 to a presigned URL from S3
SECRET_TITLE = "Quarterly numbers " + secrets.token_hex(4)
VIDEO = b"\x00\x00\x00\x18ftypmp42" + secrets.token_bytes(2000)
AUDIO_UPLOAD = {"kind": "audio"}


@dataclass
class Fixture:
    world: World
    message_id: str
    thread_id: str
    reply: str  # the thread's first link (view + reply)
    view: str
    revoked: str
    expired: str
    guest_cookie: str
    guest_csrf: str

    async def post(self, path: str, body: dict[str, object], **headers: str) -> dict:
        response = await self.world.client.post(path, json=body, headers=headers)
        assert response.status_code == 201, response.text
        return response.json()

    async def fresh_message(self) -> str:
        return (await self.post("/api/messages", {"kind": "video"}, **self.world.author.headers))[
            "id"
        ]

    async def fresh_reply(self) -> str:
        body = {"kind": "text", "body": "a reply", "parent_id": self.message_id}
        return (await self.post("/api/messages", body, **self.world.author.headers))["id"]

    async def fresh_reaction(self) -> str:
        path = f"/api/messages/{self.message_id}/reactions"
        return str((await self.post(path, {"emoji": "👍"}, **self.world.author.headers))["id"])

    async def fresh_link(self) -> str:
        path = f"/api/threads/{self.thread_id}/links"
        return (await self.post(path, {"rights": "view"}, **self.world.author.headers))["token"]

    async def fresh_upload(self) -> str:
        response = await self.world.client.post(
            "/api/uploads/",
            headers={**self.world.author.headers, "Tus-Resumable": "1.0.0", "Upload-Length": "10"},
        )
        return response.headers["Location"].split("/api/uploads/")[1]

    async def fresh_guest_upload(self) -> str:
        created = await self.post(f"/s/{self.reply}/messages", AUDIO_UPLOAD, **self.guest_headers())
        return created["upload_url"].rsplit("/", 1)[1]

    def guest_headers(self) -> dict[str, str]:
        return {"Cookie": f"relay_guest={self.guest_cookie}", "X-CSRF-Token": self.guest_csrf}

    def token(self, caller: str) -> str:
        return {
            "anonymous": UNKNOWN_TOKEN,
            "other": UNKNOWN_TOKEN,
            "guest_view": self.view,
            "revoked": self.revoked,
            "expired": self.expired,
        }.get(caller, self.reply)


UNKNOWN_TOKEN = secrets.token_urlsafe(16)


async def _setup(world: World, tmp_path: Path) -> Fixture:
    created = await world.client.post(
        "/api/messages", json={"kind": "video", "title": SECRET_TITLE}, headers=world.author.headers
    )
    message_id, thread_id = created.json()["id"], created.json()["thread_id"]
    reply = created.json()["share_url"].rsplit("/", 1)[1]
    source = tmp_path / "video.mp4"
    source.write_bytes(VIDEO)
    key = f"renditions/{message_id}/video.mp4"
    await world.services.storage.put_file(key, source, "video/mp4")
    revoked, expired = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    async with world.services.sessions.begin() as session:
        message = await session.get(Message, message_id)
        message.status = MessageStatus.ready
        message.duration = 10.0
        session.add(
            Rendition(
                message_id=message_id,
                name="video",
                storage_key=key,
                mime="video/mp4",
                bytes=len(VIDEO),
            )
        )
        common = {"thread_id": thread_id, "message_id": message_id, "created_by": world.author.id}
        session.add_all(
            [
                ShareLink(token=revoked, revoked_at=utcnow(), **common),
                ShareLink(token=expired, expires_at=utcnow() - timedelta(minutes=1), **common),
            ]
        )
    view = await world.client.post(
        f"/api/threads/{thread_id}/links", json={"rights": "view"}, headers=world.author.headers
    )
    guest = await world.client.post(f"/s/{reply}/guest", json={"name": "Gast"})
    assert guest.status_code == 201, guest.text
    return Fixture(
        world,
        message_id,
        thread_id,
        reply,
        view.json()["token"],
        revoked,
        expired,
        guest.cookies["relay_guest"],
        guest.json()["csrf"],
    )


Arg = Callable[[Fixture, str], Awaitable[tuple[str, ...]]]


async def msg(f: Fixture, caller: str) -> tuple[str, ...]:
    return (f.message_id,)


async def thread(f: Fixture, caller: str) -> tuple[str, ...]:
    return (f.thread_id,)


async def link(f: Fixture, caller: str) -> tuple[str, ...]:
    return (f.token(caller),)


async def link_msg(f: Fixture, caller: str) -> tuple[str, ...]:
    return (f.token(caller), f.message_id)


async def link_fresh_reply(f: Fixture, caller: str) -> tuple[str, ...]:
    return (f.token(caller), await f.fresh_reply())


async def link_fresh_reaction(f: Fixture, caller: str) -> tuple[str, ...]:
    return (f.token(caller), f.message_id, await f.fresh_reaction())


async def link_guest_upload(f: Fixture, caller: str) -> tuple[str, ...]:
    return (f.token(caller), await f.fresh_guest_upload())


async def link_url(f: Fixture, caller: str) -> tuple[str, ...]:
    return (f"http://relay.test/s/{f.token(caller)}",)


async def fresh_msg(f: Fixture, caller: str) -> tuple[str, ...]:
    return (await f.fresh_message(),)


async def fresh_reaction(f: Fixture, caller: str) -> tuple[str, ...]:
    return (f.message_id, await f.fresh_reaction())


async def fresh_link(f: Fixture, caller: str) -> tuple[str, ...]:
    return (await f.fresh_link(),)


async def upload(f: Fixture, caller: str) -> tuple[str, ...]:
    return (await f.fresh_upload(),)


def row(
    method: str, template: str, expect: dict[str, object], arg: Arg | None = None, **kw: object
):  # type: ignore[no-untyped-def]
    """One route's expectations; callers not named get expect['*']."""
    cells = {c: expect.get(c, expect.get("*")) for c in CALLERS}
    return (method, template, cells, arg, kw)


TUS_PATCH = {
    "headers": {
        "Tus-Resumable": "1.0.0",
        "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": "0",
    },
    "content": b"0123456789",
}
TUS = {"headers": {"Tus-Resumable": "1.0.0"}}
TUS_CREATE = {"headers": {"Tus-Resumable": "1.0.0", "Upload-Length": "5"}}
ANON_401 = {c: 401 for c in NO_USER}
ANON_303 = {c: 303 for c in NO_USER}
# Behind a link: no link at all is 404, a dead link 410, whoever else holds a live one gets in.
LINK = {"anonymous": 404, "other": 404, "revoked": 410, "expired": 410}
# ... and acting there needs a name (a guest) or an account.
LINK_ACT = {**LINK, "guest_view": 403}
TEXT = {"kind": "text", "body": "hello"}

MATRIX = [
    row("GET", "/healthz", {"*": 200}),
    row("GET", "/readyz", {"*": 200}),
    row("GET", "/api/openapi.json", {"*": 200}),
    row("GET", "/login", {"*": 200}),
    row("POST", "/login", {"*": 403}, data={"email": "x@example.org", "password": "wrong"}),
    row("POST", "/logout", {"*": 303}),  # anonymous: redirected to /login
    row("GET", "/", {**ANON_303, "*": 200}),
    row("GET", "/record", {**ANON_303, "*": 200}),
    row("GET", "/m/{}", {**ANON_303, "other": 404, "*": 200}, msg),
    row("GET", "/t/{}", {**ANON_303, "other": 404, "*": 200}, thread),
    row("POST", "/api/messages", {**ANON_401, "*": 201}, json={"kind": "audio"}),
    row("GET", "/api/messages", {**ANON_401, "*": 200}),
    row("GET", "/api/messages/{}", {**ANON_401, "other": 404, "*": 200}, msg),
    row(
        "DELETE",
        "/api/messages/{}",
        {**ANON_401, "other": 404, "admin": 403, "author": 204},
        fresh_msg,
    ),
    row("GET", "/api/messages/{}/transcript", {**ANON_401, "other": 404, "*": 200}, msg),
    row(
        "PATCH",
        "/api/messages/{}/transcript/segments/0",
        {**ANON_401, "other": 404, "admin": 403, "author": 404},  # 404: no transcript yet
        msg,
        json={"text": "corrected"},
    ),
    row(
        "PUT",
        "/api/messages/{}/listen",
        {**ANON_401, "other": 404, "admin": 403, "author": 200},
        msg,
        json={"position": 2.5},
    ),
    row(
        "POST",
        "/api/messages/{}/reactions",
        {**ANON_401, "other": 404, "admin": 403, "author": 201},
        msg,
        json={"emoji": "👍", "at": 1.5},
    ),
    row(
        "DELETE",
        "/api/messages/{}/reactions/{}",
        {**ANON_401, "other": 404, "admin": 403, "author": 204},
        fresh_reaction,
    ),
    row("GET", "/api/threads", {**ANON_401, "*": 200}),
    row("GET", "/api/threads/{}", {**ANON_401, "other": 404, "*": 200}, thread),
    row("GET", "/api/threads/{}/events", {**ANON_401, "other": 404, "*": 200}, thread, stream=True),
    row("GET", "/api/threads/{}/links", {**ANON_401, "other": 404, "*": 200}, thread),
    row(
        "POST",
        "/api/threads/{}/links",
        {**ANON_401, "other": 404, "admin": 403, "author": 201},
        thread,
        json={"rights": "view", "expires_in": 3600},
    ),
    row(
        "DELETE",
        "/api/links/{}",
        {**ANON_401, "other": 404, "admin": 204, "author": 204},
        fresh_link,
    ),
    row("GET", "/api/search", {**ANON_401, "*": 200}, params={"q": "numbers"}),
    row("GET", "/api/me", {**ANON_401, "*": 200}),
    row("PATCH", "/api/me", {**ANON_401, "*": 200}, json={"language": "en"}),
    row("OPTIONS", "/api/uploads/", {"*": 204}),
    row("POST", "/api/uploads/", {**ANON_401, "*": 201}, **TUS_CREATE),
    row("OPTIONS", "/api/uploads/{}", {"*": 204}, upload),
    row(
        "HEAD",
        "/api/uploads/{}",
        {**ANON_401, "other": 404, "admin": 404, "author": 200},
        upload,
        **TUS,
    ),
    row(
        "PATCH",
        "/api/uploads/{}",
        {**ANON_401, "other": 404, "admin": 404, "author": 204},
        upload,
        **TUS_PATCH,
    ),
    row(
        "DELETE",
        "/api/uploads/{}",
        {**ANON_401, "other": 404, "admin": 404, "author": 204},
        upload,
        **TUS,
    ),
    row("GET", "/media/{}/video", {**ANON_401, "other": 404, "*": MEDIA}, msg),
    row("HEAD", "/media/{}/video", {**ANON_401, "other": 404, "*": MEDIA}, msg),
    row("GET", "/s/{}", {**LINK, "*": 200}, link),
    row("POST", "/s/{}/unlock", {**LINK, "*": 303}, link, data={"passcode": "whatever"}),
    row("GET", "/s/{}/status", {**LINK, "*": 200}, link),
    row("GET", "/s/{}/transcript", {**LINK, "*": 200}, link),
    row("GET", "/s/{}/thread", {**LINK, "*": 200}, link),
    row("GET", "/s/{}/events", {**LINK, "*": 200}, link, stream=True),
    row("GET", "/s/{}/media/video", {**LINK, "*": MEDIA}, link),
    row("HEAD", "/s/{}/media/video", {**LINK, "*": MEDIA}, link),
    row("GET", "/s/{}/media/{}/video", {**LINK, "*": MEDIA}, link_msg),
    row("HEAD", "/s/{}/media/{}/video", {**LINK, "*": MEDIA}, link_msg),
    row("GET", "/s/{}/messages/{}/transcript", {**LINK, "*": 200}, link_msg),
    row("POST", "/s/{}/guest", {**LINK_ACT, "*": 201}, link, json={"name": "Ann"}),
    row("POST", "/s/{}/messages", {**LINK_ACT, "*": 201}, link, json=TEXT),
    row(
        "DELETE",
        "/s/{}/messages/{}",
        {**LINK_ACT, "guest_reply": 403, "admin": 403, "author": 204},
        link_fresh_reply,
    ),
    row(
        "PUT",
        "/s/{}/messages/{}/listen",
        {**LINK_ACT, "*": 200},
        link_msg,
        json={"position": 3, "heard": False},
    ),
    row(
        "POST",
        "/s/{}/messages/{}/reactions",
        {**LINK_ACT, "*": 201},
        link_msg,
        json={"emoji": "🎉"},
    ),
    row(
        "DELETE",
        "/s/{}/messages/{}/reactions/{}",
        {**LINK_ACT, "guest_reply": 403, "admin": 403, "author": 204},
        link_fresh_reaction,
    ),
    row("OPTIONS", "/s/{}/uploads/{}", {"*": 204}, link_guest_upload),
    row(
        "HEAD",
        "/s/{}/uploads/{}",
        {**LINK, "guest_view": 401, "author": 404, "admin": 404, "guest_reply": 200},
        link_guest_upload,
        **TUS,
    ),
    row(
        "PATCH",
        "/s/{}/uploads/{}",
        {**LINK, "guest_view": 401, "author": 404, "admin": 404, "guest_reply": 204},
        link_guest_upload,
        **TUS_PATCH,
    ),
    row(
        "DELETE",
        "/s/{}/uploads/{}",
        {**LINK, "guest_view": 401, "author": 404, "admin": 404, "guest_reply": 204},
        link_guest_upload,
        **TUS,
    ),
    row(
        "GET",
        "/oembed",
        {"anonymous": 404, "other": 404, "revoked": 404, "expired": 404, "*": 200},
        params_from=link_url,
    ),
]


def _headers(fixture: Fixture, caller: str) -> dict[str, str]:
    if caller == "guest_reply":
        # A browser would send the cookie only below /s/{token}; sending it everywhere
        # shows that nothing outside the link honours it.
        return fixture.guest_headers()
    world = fixture.world
    person: Person | None = {
        "other": world.other,
        "author": world.author,
        "admin": world.admin,
    }.get(caller)
    return person.headers if person else {}


async def _first_bytes(world: World, method: str, path: str, headers: dict) -> httpx.Response:
    """A server-sent event stream never ends, and httpx's ASGI transport waits for the end:
    serve the app with uvicorn and read the status and the first bytes only."""
    port = free_port()
    config = uvicorn.Config(
        world.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            async with client.stream(method, path, headers=headers) as response:
                first = b""
                async for chunk in response.aiter_bytes():
                    first = chunk
                    break
                if response.status_code == 200:
                    assert response.headers["content-type"].startswith("text/event-stream")
                    assert first.startswith(b"retry:"), first
                return httpx.Response(response.status_code, headers=response.headers, content=first)
    finally:
        server.should_exit = True
        await task


def test_every_route_has_a_row() -> None:
    covered = {(method, template) for method, template, *_ in MATRIX}
    missing = []
    for route in routes():
        if isinstance(route, Mount):
            continue  # static files: public by design
        assert isinstance(route, Route)
        path = route.path.replace("{name}", "video").replace("{position}", "0")
        for name in route.param_convertors:
            path = path.replace("{" + name + "}", "{}")
        for method in route.methods or []:
            # Starlette answers HEAD on every GET route; GET's row speaks for it.
            if (method, path) not in covered and not (
                method == "HEAD" and ("GET", path) in covered
            ):
                missing.append(f"{method} {route.path}")
    assert not missing, f"routes without access-control cells: {missing}"


@pytest.mark.parametrize(
    ("method", "template", "cells", "arg", "kw"), MATRIX, ids=[f"{m} {t}" for m, t, *_ in MATRIX]
)
async def test_access_matrix(
    world: World, tmp_path: Path, method, template, cells, arg, kw
) -> None:  # type: ignore[no-untyped-def]
    fixture = await _setup(world, tmp_path)
    media_ok = 302 if world.services.settings.storage == "s3" else 200
    failures = []
    for caller in CALLERS:
        path = template.format(*await arg(fixture, caller)) if arg else template
        headers = {**_headers(fixture, caller), **kw.get("headers", {})}
        extra = {k: v for k, v in kw.items() if k not in ("headers", "params_from", "stream")}
        if "params_from" in kw:
            (url,) = await kw["params_from"](fixture, caller)
            extra["params"] = {"url": url, "format": "json"}
        if kw.get("stream"):
            response = await _first_bytes(world, method, path, headers)
        else:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=world.app), base_url="http://relay.test"
            ) as client:
                response = await client.request(method, path, headers=headers, **extra)
        expected = media_ok if cells[caller] == MEDIA else cells[caller]
        if response.status_code != expected:
            failures.append(
                f"{caller}: {response.status_code} != {expected} ({response.text[:120]})"
            )
        if response.status_code >= 400 and (
            SECRET_TITLE in response.text or VIDEO[8:40] in response.content
        ):
            failures.append(f"{caller}: a refused response leaks the message")
    assert not failures, "\n".join(failures)
