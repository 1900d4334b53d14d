"""Upload quotas on both stacks: unfinished uploads per person (429) and a minimum of free
disk space (507), wherever an upload is made."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select, update

from relay.db import utcnow
from relay.models import Message, Upload
from relay.web.app import create_app
from tests.conftest import Person, World
from tests.support.threads import become_guest, start

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {"Content-Type": "application/offset+octet-stream"}


async def new_upload(world: World, person: Person, length: int = 10) -> httpx.Response:
    headers = {**person.headers, **TUS, "Upload-Length": str(length)}
    return await world.client.post("/api/uploads/", headers=headers)


async def count(world: World, model: type, owner_id: str) -> int:
    column = Upload.owner_id if model is Upload else Message.author_id
    async with world.services.sessions.begin() as session:
        return await session.scalar(
            select(func.count()).select_from(model).where(column == owner_id)
        )


async def test_eleventh_unfinished_upload_is_429_until_one_is_finished(world: World) -> None:
    assert world.services.settings.limits.open_uploads == 10
    urls = []
    for _ in range(10):
        response = await new_upload(world, world.author)
        assert response.status_code == 201, response.text
        urls.append(response.headers["Location"])
    refused = await new_upload(world, world.author)
    assert refused.status_code == 429
    assert refused.json()["detail"] == (
        "You have 10 unfinished uploads, the most allowed: finish or delete one first."
    )
    assert await count(world, Upload, world.author.id) == 10
    assert await count(world, Message, world.author.id) == 10
    assert (await new_upload(world, world.other)).status_code == 201  # one person's quota

    headers = {**world.author.headers, **TUS, **OCTETS, "Upload-Offset": "0"}
    assert (
        await world.client.patch(urls[0], content=b"0123456789", headers=headers)
    ).status_code == 204
    assert (
        await world.client.delete(urls[1], headers={**world.author.headers, **TUS})
    ).status_code == 204
    assert (await new_upload(world, world.author)).status_code == 201
    assert (await new_upload(world, world.author)).status_code == 201
    assert (await new_upload(world, world.author)).status_code == 429


async def test_message_with_media_over_the_quota_is_429_and_leaves_no_message(
    world: World,
) -> None:
    for _ in range(10):
        created = await world.client.post(
            "/api/messages", json={"kind": "audio"}, headers=world.author.headers
        )
        assert created.status_code == 201, created.text
    refused = await world.client.post(
        "/api/messages",
        json={"kind": "video", "title": "one too many"},
        headers=world.author.headers,
    )
    assert refused.status_code == 429 and "10 unfinished uploads" in refused.json()["detail"]
    assert await count(world, Message, world.author.id) == 10
    text = await world.client.post(
        "/api/messages", json={"kind": "text", "body": "still fine"}, headers=world.author.headers
    )
    assert text.status_code == 201


async def test_guest_reply_with_media_over_the_quota_is_429_and_leaves_no_message(
    world: World,
) -> None:
    first = await start(world)
    token = first["token"]
    async with world.anonymous() as guest:
        csrf = {"X-CSRF-Token": await become_guest(guest, token)}
        for _ in range(10):
            reply = await guest.post(f"/s/{token}/messages", json={"kind": "audio"}, headers=csrf)
            assert reply.status_code == 201, reply.text
        refused = await guest.post(f"/s/{token}/messages", json={"kind": "audio"}, headers=csrf)
    assert refused.status_code == 429 and "10 unfinished uploads" in refused.json()["detail"]
    async with world.services.sessions.begin() as session:
        in_thread = await session.scalar(
            select(func.count()).select_from(Message).where(Message.thread_id == first["id"])
        )
    assert in_thread == 11  # the first message and ten replies


async def test_expired_unfinished_uploads_do_not_count(world: World) -> None:
    for _ in range(10):
        assert (await new_upload(world, world.author)).status_code == 201
    async with world.services.sessions.begin() as session:
        await session.execute(
            update(Upload)
            .where(Upload.owner_id == world.author.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert (await new_upload(world, world.author)).status_code == 201


async def test_parallel_creations_cannot_pass_the_quota_together(world: World) -> None:
    for _ in range(7):
        assert (await new_upload(world, world.author)).status_code == 201
    answers = await asyncio.gather(*(new_upload(world, world.author) for _ in range(8)))
    assert sorted(a.status_code for a in answers) == [201] * 3 + [429] * 5
    assert await count(world, Upload, world.author.id) == 10


@asynccontextmanager
async def short_of_space(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """A second instance on the same database and store, whose minimum free space is more
    than the disk has."""
    free = shutil.disk_usage(world.services.settings.data_dir.parent).free
    limits = dataclasses.replace(world.services.settings.limits, min_free_bytes=free + 2**40)
    app = create_app(world.services.settings.replace(limits=limits))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://relay.test") as client:
            yield client


async def test_uploads_are_refused_with_507_below_the_minimum_free_space(world: World) -> None:
    created = await new_upload(world, world.author, 20)
    url = created.headers["Location"]
    headers = {**world.author.headers, **TUS, **OCTETS, "Upload-Offset": "0"}
    assert (
        await world.client.patch(url, content=b"0123456789", headers=headers)
    ).status_code == 204
    async with short_of_space(world) as client:
        headers["Upload-Offset"] = "10"
        patched = await client.patch(url, content=b"0123456789", headers=headers)
        assert patched.status_code == 507
        assert patched.json()["detail"] == (
            "The server is short of disk space and takes no uploads until some is freed."
        )
        head = await client.head(url, headers={**world.author.headers, **TUS})
        assert head.headers["Upload-Offset"] == "10"
        posted = await client.post(
            "/api/uploads/", headers={**world.author.headers, **TUS, "Upload-Length": "5"}
        )
        assert posted.status_code == 507
        message = await client.post(
            "/api/messages", json={"kind": "audio"}, headers=world.author.headers
        )
        assert message.status_code == 507
    assert await count(world, Upload, world.author.id) == 1
    assert await count(world, Message, world.author.id) == 1
    assert (
        await world.client.patch(url, content=b"0123456789", headers=headers)
    ).status_code == 204
