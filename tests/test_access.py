"""Access-control matrix: every route × every kind of caller has an expected status, and a
refused cell leaks nothing of the message. A route without a row here fails the test."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from starlette.routing import Mount, Route

from relay.app import routes
from relay.db import utcnow
from relay.models import Message, MessageStatus, Rendition, ShareLink
from tests.conftest import Person, World

CALLERS = ["anonymous", "other", "author", "admin", "revoked", "expired"]
MEDIA = "media"  # 200 from the local store, 302 to a presigned URL from S3
SECRET_TITLE = "Quarterly numbers " + secrets.token_hex(4)
VIDEO = b"\x00\x00\x00\x18ftypmp42" + secrets.token_bytes(2000)


@dataclass
class Fixture:
    world: World
    message_id: str
    live: str
    revoked: str
    expired: str

    async def fresh_message(self) -> str:
        response = await self.world.client.post(
            "/api/messages", json={"kind": "video"}, headers=self.world.author.headers
        )
        return response.json()["id"]

    async def fresh_upload(self) -> str:
        response = await self.world.client.post(
            "/api/uploads/",
            headers={**self.world.author.headers, "Tus-Resumable": "1.0.0", "Upload-Length": "10"},
        )
        return response.headers["Location"].split("/api/uploads/")[1]


async def _setup(world: World, tmp_path: Path) -> Fixture:
    created = await world.client.post(
        "/api/messages", json={"kind": "video", "title": SECRET_TITLE}, headers=world.author.headers
    )
    message_id = created.json()["id"]
    live = created.json()["share_url"].rsplit("/", 1)[1]
    source = tmp_path / "video.mp4"
    source.write_bytes(VIDEO)
    key = f"renditions/{message_id}/video.mp4"
    await world.services.storage.put_file(key, source, "video/mp4")
    revoked, expired = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    async with world.services.sessions.begin() as session:
        message = await session.get(Message, message_id)
        message.status = MessageStatus.ready
        session.add(
            Rendition(
                message_id=message_id,
                name="video",
                storage_key=key,
                mime="video/mp4",
                bytes=len(VIDEO),
            )
        )
        session.add_all(
            [
                ShareLink(
                    token=revoked,
                    message_id=message_id,
                    created_by=world.author.id,
                    revoked_at=utcnow(),
                ),
                ShareLink(
                    token=expired,
                    message_id=message_id,
                    created_by=world.author.id,
                    expires_at=utcnow() - timedelta(minutes=1),
                ),
            ]
        )
    return Fixture(world, message_id, live, revoked, expired)


Path_ = Callable[[Fixture, str], Awaitable[str]]


async def msg(f: Fixture, caller: str) -> str:
    return f.message_id


async def link(f: Fixture, caller: str) -> str:
    return {"revoked": f.revoked, "expired": f.expired}.get(caller, f.live)


async def fresh_msg(f: Fixture, caller: str) -> str:
    return await f.fresh_message()


async def upload(f: Fixture, caller: str) -> str:
    return await f.fresh_upload()


def row(
    method: str, template: str, expect: dict[str, object], arg: Path_ | None = None, **kw: object
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
ANON_401 = {"anonymous": 401, "revoked": 401, "expired": 401}

MATRIX = [
    row("GET", "/healthz", {"*": 200}),
    row("GET", "/readyz", {"*": 200}),
    row("GET", "/api/openapi.json", {"*": 200}),
    row("GET", "/login", {"*": 200}),
    row("POST", "/login", {"*": 403}, data={"email": "x@example.org", "password": "wrong"}),
    row("POST", "/logout", {"*": 303}),  # anonymous: redirected to /login
    row("GET", "/", {"anonymous": 303, "revoked": 303, "expired": 303, "*": 200}),
    row("GET", "/record", {"anonymous": 303, "revoked": 303, "expired": 303, "*": 200}),
    row(
        "GET",
        "/m/{}",
        {"anonymous": 303, "revoked": 303, "expired": 303, "other": 404, "*": 200},
        msg,
    ),
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
    row("GET", "/api/search", {**ANON_401, "*": 200}, params={"q": "numbers"}),
    row("GET", "/api/me", {**ANON_401, "*": 200}),
    row("PATCH", "/api/me", {**ANON_401, "*": 200}, json={"language": "en"}),
    row("GET", "/s/{}/transcript", {"revoked": 410, "expired": 410, "*": 200}, link),
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
    row("GET", "/s/{}", {"revoked": 410, "expired": 410, "*": 200}, link),
    row("GET", "/s/{}/status", {"revoked": 410, "expired": 410, "*": 200}, link),
    row("GET", "/s/{}/media/video", {"revoked": 410, "expired": 410, "*": MEDIA}, link),
    row("HEAD", "/s/{}/media/video", {"revoked": 410, "expired": 410, "*": MEDIA}, link),
]


def _headers(world: World, caller: str) -> dict[str, str]:
    person: Person | None = {
        "other": world.other,
        "author": world.author,
        "admin": world.admin,
    }.get(caller)
    return person.headers if person else {}


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
        path = template.format(await arg(fixture, caller)) if arg else template
        headers = {**_headers(world, caller), **kw.get("headers", {})}
        extra = {k: v for k, v in kw.items() if k != "headers"}
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
