"""The access-control matrix's world: a thread with media, links in every state, a guest, and
how each kind of caller sends its requests (tests/test_access.py holds the matrix itself)."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx

from relay.db import utcnow
from relay.enums import MessageStatus
from relay.links import key_of
from relay.models import Message, Rendition, ShareLink
from tests.conftest import Person, World, add_person
from tests.support.server import on_uvicorn, stream_head

CALLERS = [
    "anonymous",  # no credentials and no link (an unknown link token)
    "other",  # another signed-in user, with ids but not the link
    "guest_view",  # no account, holding a view-only link
    "guest_reply",  # a named guest bound to the reply link (cookie + CSRF token)
    "revoked",
    "expired",
    "author",
    "admin",
    # A guest's cookie sent as a sign-in cookie: it must count for nothing outside its link.
    "guest_session",
    # A signed-in user who joined through the view link: a viewer, never more.
    "view_member",
]
NO_USER = ("anonymous", "guest_view", "guest_reply", "revoked", "expired", "guest_session")
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
    viewer: Person

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
            "view_member": self.view,
            "revoked": self.revoked,
            "expired": self.expired,
        }.get(caller, self.reply)


UNKNOWN_TOKEN = secrets.token_urlsafe(16)


async def build_fixture(world: World, tmp_path: Path) -> Fixture:
    # Each row opens an upload per caller: more than a person may keep open in real use.
    settings = world.services.settings
    limits = dataclasses.replace(settings.limits, open_uploads=1000)
    world.services.settings = settings.replace(limits=limits)
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
                ShareLink(key=key_of(revoked), revoked_at=utcnow(), **common),
                ShareLink(
                    key=key_of(expired), expires_at=utcnow() - timedelta(minutes=1), **common
                ),
            ]
        )
    view = await world.client.post(
        f"/api/threads/{thread_id}/links", json={"rights": "view"}, headers=world.author.headers
    )
    guest = await world.client.post(f"/s/{reply}/guest", json={"name": "Gast"})
    assert guest.status_code == 201, guest.text
    viewer = await add_person(world.services, "viewer@example.org")
    joined = await world.client.post(f"/s/{view.json()['token']}/join", headers=viewer.headers)
    assert joined.status_code == 303, joined.text
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
        viewer,
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


def headers_for(fixture: Fixture, caller: str) -> dict[str, str]:
    if caller == "guest_reply":
        # A browser would send the cookie only below /s/{token}; sending it everywhere
        # shows that nothing outside the link honours it.
        return fixture.guest_headers()
    if caller == "guest_session":
        cookie = f"relay_session={fixture.guest_cookie}"
        return {"Cookie": cookie, "X-CSRF-Token": fixture.guest_csrf}
    world = fixture.world
    person: Person | None = {
        "other": world.other,
        "author": world.author,
        "admin": world.admin,
        "view_member": fixture.viewer,
    }.get(caller)
    return person.headers if person else {}


async def first_bytes(world: World, method: str, path: str, headers: dict) -> httpx.Response:
    """The status and the first bytes of a server-sent event stream."""
    async with on_uvicorn(world.app) as base:
        response = await stream_head(base, path, headers, method)
    if response.status_code == 200:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.content.startswith(b"retry:"), response.content
    return response
