"""tus 1.0 at /api/uploads/ on both stacks: protocol, errors, locking, expiry, resumption."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import select, update

from relay.db import utcnow
from relay.enums import MessageStatus
from relay.models import Job, Message, Upload
from relay.upload_service import sweep_expired
from relay.web.app import create_app
from tests.conftest import Person, World

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {"Content-Type": "application/offset+octet-stream"}


def meta(**pairs: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def h(person: Person, **extra: str) -> dict[str, str]:
    return {**person.headers, **TUS, **extra}


async def create(world: World, person: Person, length: int | None, **metadata: str) -> str:
    headers = h(person)
    if length is None:
        headers["Upload-Defer-Length"] = "1"
    else:
        headers["Upload-Length"] = str(length)
    if metadata:
        headers["Upload-Metadata"] = meta(**metadata)
    response = await world.client.post("/api/uploads/", headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert "Upload-Expires" in response.headers
    return response.headers["Location"]


async def patch(
    client: httpx.AsyncClient, url: str, person: Person, offset: int, data: bytes, **extra: str
) -> httpx.Response:
    headers = h(person, **(OCTETS | {"Upload-Offset": str(offset)} | extra))
    return await client.patch(url, content=data, headers=headers)


async def stored_digest(world: World, upload_url: str) -> str:
    async with world.services.sessions.begin() as session:
        upload = await session.get(Upload, upload_url.rsplit("/", 1)[1])
        key = upload.store_state["key"]
    digest = hashlib.sha256()
    async for chunk in world.services.storage.read(key):
        digest.update(chunk)
    return digest.hexdigest()


async def message_of(world: World, upload_url: str) -> Message:
    async with world.services.sessions.begin() as session:
        upload = await session.get(Upload, upload_url.rsplit("/", 1)[1])
        return await session.get(Message, upload.message_id)


async def test_options_advertises_version_extensions_and_limit(world: World) -> None:
    response = await world.client.options("/api/uploads/")
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    extensions = set(response.headers["Tus-Extension"].split(","))
    assert {
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "termination",
        "expiration",
    } <= extensions
    assert int(response.headers["Tus-Max-Size"]) == world.services.settings.max_upload_bytes


async def test_upload_in_chunks_completes_and_enqueues_media_job(world: World) -> None:
    data = os.urandom(700_000)
    url = await create(
        world, world.author, len(data), filename="standup_notes.webm", filetype="video/webm"
    )
    offset = 0
    for size in (1, 99_999, 300_000, 300_000):
        head = await world.client.head(url, headers=h(world.author))
        assert head.status_code == 200 and int(head.headers["Upload-Offset"]) == offset
        assert head.headers["Upload-Length"] == str(len(data))
        assert head.headers["Cache-Control"] == "no-store"
        response = await patch(
            world.client, url, world.author, offset, data[offset : offset + size]
        )
        assert response.status_code == 204, response.text
        offset += size
        assert int(response.headers["Upload-Offset"]) == offset
    assert await stored_digest(world, url) == hashlib.sha256(data).hexdigest()
    message = await message_of(world, url)
    assert message.status is MessageStatus.processing
    assert message.title == "standup notes" and message.kind.value == "video"
    async with world.services.sessions.begin() as session:
        job = await session.scalar(select(Job).where(Job.message_id == message.id))
    assert job is not None and job.kind == "media" and job.owner_id == world.author.id
    assert world.services.wakeup.is_set()


async def test_deferred_length_from_create_message_then_final_patch_sets_length(
    world: World,
) -> None:
    created = await world.client.post(
        "/api/messages", json={"kind": "audio"}, headers=world.author.headers
    )
    assert created.status_code == 201
    body = created.json()
    assert body["share_url"].startswith("http://relay.test/s/") and body["status"] == "uploading"
    url = body["upload_url"]
    head = await world.client.head(url, headers=h(world.author))
    assert head.headers["Upload-Defer-Length"] == "1"
    chunks = [os.urandom(50_000) for _ in range(4)]
    offset = 0
    for chunk in chunks[:-1]:
        assert (await patch(world.client, url, world.author, offset, chunk)).status_code == 204
        offset += len(chunk)
    total = offset + len(chunks[-1])
    last = await patch(
        world.client, url, world.author, offset, chunks[-1], **{"Upload-Length": str(total)}
    )
    assert last.status_code == 204 and last.headers["Upload-Offset"] == str(total)
    assert await stored_digest(world, url) == hashlib.sha256(b"".join(chunks)).hexdigest()
    detail = await world.client.get(f"/api/messages/{body['id']}", headers=world.author.headers)
    assert detail.json()["status"] == "processing"


async def test_creation_with_upload_stores_the_first_bytes(world: World) -> None:
    data = os.urandom(10_000)
    response = await world.client.post(
        "/api/uploads/",
        content=data[:4000],
        headers=h(world.author, **OCTETS, **{"Upload-Length": str(len(data))}),
    )
    assert response.status_code == 201 and response.headers["Upload-Offset"] == "4000"
    url = response.headers["Location"]
    assert (await patch(world.client, url, world.author, 4000, data[4000:])).status_code == 204
    assert await stored_digest(world, url) == hashlib.sha256(data).hexdigest()


async def test_upload_for_existing_message_via_metadata(world: World) -> None:
    created = await world.client.post(
        "/api/messages", json={"kind": "video"}, headers=world.author.headers
    )
    message_id = created.json()["id"]
    url = await create(world, world.author, 5, message=message_id, filename="x.webm")
    assert (await patch(world.client, url, world.author, 0, b"12345")).status_code == 204
    assert (await message_of(world, url)).id == message_id
    again = await world.client.post(
        "/api/uploads/",
        headers=h(
            world.author, **{"Upload-Length": "5", "Upload-Metadata": meta(message=message_id)}
        ),
    )
    assert again.status_code == 400 and "has its media already" in again.json()["detail"]


async def test_metadata_naming_another_users_message_is_404(world: World) -> None:
    created = await world.client.post(
        "/api/messages", json={"kind": "video"}, headers=world.author.headers
    )
    response = await world.client.post(
        "/api/uploads/",
        headers=h(
            world.other,
            **{"Upload-Length": "5", "Upload-Metadata": meta(message=created.json()["id"])},
        ),
    )
    assert response.status_code == 404


async def test_wrong_offset_is_409_and_names_the_right_one(world: World) -> None:
    url = await create(world, world.author, 100)
    assert (await patch(world.client, url, world.author, 0, b"a" * 10)).status_code == 204
    response = await patch(world.client, url, world.author, 5, b"b" * 10)
    assert response.status_code == 409
    assert response.headers["Upload-Offset"] == "10"
    assert response.json() == {
        "error": "conflict",
        "detail": "Upload-Offset must be 10, the number of bytes received.",
    }
    assert (await world.client.head(url, headers=h(world.author))).headers["Upload-Offset"] == "10"


async def test_protocol_errors_have_precise_codes(world: World) -> None:
    url = await create(world, world.author, 100)
    no_version = await world.client.patch(
        url, content=b"x", headers={**world.author.headers, **OCTETS, "Upload-Offset": "0"}
    )
    assert no_version.status_code == 412 and no_version.headers["Tus-Version"] == "1.0.0"
    wrong_type = await world.client.patch(
        url,
        content=b"x",
        headers=h(world.author, **{"Upload-Offset": "0", "Content-Type": "text/plain"}),
    )
    assert wrong_type.status_code == 415
    no_offset = await world.client.patch(url, content=b"x", headers=h(world.author, **OCTETS))
    assert no_offset.status_code == 400
    bad_offset = await patch(world.client, url, world.author, 0, b"x", **{"Upload-Offset": "-1"})
    assert bad_offset.status_code == 400
    both = await world.client.post(
        "/api/uploads/",
        headers=h(world.author, **{"Upload-Length": "5", "Upload-Defer-Length": "1"}),
    )
    assert both.status_code == 400
    neither = await world.client.post("/api/uploads/", headers=h(world.author))
    assert neither.status_code == 400
    bad_meta = await world.client.post(
        "/api/uploads/",
        headers=h(
            world.author, **{"Upload-Length": "5", "Upload-Metadata": "filename !!notbase64"}
        ),
    )
    assert bad_meta.status_code == 400 and "base64" in bad_meta.json()["detail"]
    changed = await patch(world.client, url, world.author, 0, b"x", **{"Upload-Length": "50"})
    assert changed.status_code == 400 and "cannot change" in changed.json()["detail"]


async def test_zero_and_oversized_lengths_are_refused(world: World) -> None:
    zero = await world.client.post(
        "/api/uploads/", headers=h(world.author, **{"Upload-Length": "0"})
    )
    assert zero.status_code == 400 and "empty" in zero.json()["detail"]
    limit = world.services.settings.max_upload_bytes
    huge = await world.client.post(
        "/api/uploads/", headers=h(world.author, **{"Upload-Length": str(limit + 1)})
    )
    assert huge.status_code == 413 and str(limit) in huge.json()["detail"]
    url = await create(world, world.author, None)
    final = await patch(world.client, url, world.author, 0, b"", **{"Upload-Length": "0"})
    assert final.status_code == 400


async def test_body_beyond_declared_length_is_413_and_nothing_is_half_written(world: World) -> None:
    url = await create(world, world.author, 10)
    response = await patch(world.client, url, world.author, 0, b"z" * 11)
    assert response.status_code == 413
    head = await world.client.head(url, headers=h(world.author))
    assert head.headers["Upload-Offset"] == "0"
    assert (await patch(world.client, url, world.author, 0, b"z" * 10)).status_code == 204


async def streamed(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A body without Content-Length: httpx sends it chunked."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_chunked_body_beyond_declared_length_is_413_and_nothing_is_kept_or_processed(
    world: World,
) -> None:
    data = os.urandom(6 * 1024 * 1024)  # the rejected PATCH fills a whole S3 part
    url = await create(world, world.author, len(data), filename="a.webm", filetype="video/webm")
    first = 1024 * 1024
    assert (await patch(world.client, url, world.author, 0, data[:first])).status_code == 204
    headers = h(world.author, **OCTETS, **{"Upload-Offset": str(first)})
    response = await world.client.patch(url, content=streamed(data[first:] + b"x"), headers=headers)
    assert response.status_code == 413, response.text
    assert response.headers["Upload-Offset"] == str(first)
    head = await world.client.head(url, headers=h(world.author))
    assert head.headers["Upload-Offset"] == str(first)
    async with world.services.sessions.begin() as session:
        upload = await session.get(Upload, url.rsplit("/", 1)[1])
        assert upload.completed_at is None and upload.lock_token is None
        assert (await session.scalars(select(Job))).all() == []
    assert (await message_of(world, url)).status is MessageStatus.uploading
    if world.services.settings.storage == "local":
        assert await world.services.storage.size(upload.store_state["key"]) == first
    rest = await patch(world.client, url, world.author, first, data[first:])
    assert rest.status_code == 204
    assert await stored_digest(world, url) == hashlib.sha256(data).hexdigest()
    assert (await message_of(world, url)).status is MessageStatus.processing


async def test_creation_with_a_too_long_chunked_body_is_413_and_leaves_nothing(
    world: World,
) -> None:
    headers = h(world.author, **OCTETS, **{"Upload-Length": "100000"})
    response = await world.client.post(
        "/api/uploads/", content=streamed(os.urandom(100_001)), headers=headers
    )
    assert response.status_code == 413 and "Location" not in response.headers
    async with world.services.sessions.begin() as session:
        assert (await session.scalars(select(Upload))).all() == []
        assert (await session.scalars(select(Message))).all() == []
        assert (await session.scalars(select(Job))).all() == []


async def test_locked_upload_is_423_and_expired_lock_is_taken_over(world: World) -> None:
    url = await create(world, world.author, 20)
    upload_id = url.rsplit("/", 1)[1]
    async with world.services.sessions.begin() as session:
        await session.execute(
            update(Upload)
            .where(Upload.id == upload_id)
            .values(lock_token="other-request", locked_until=utcnow() + timedelta(minutes=1))
        )
    locked = await patch(world.client, url, world.author, 0, b"a" * 5)
    assert locked.status_code == 423 and "retry" in locked.json()["detail"]
    async with world.services.sessions.begin() as session:
        await session.execute(
            update(Upload)
            .where(Upload.id == upload_id)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
    assert (await patch(world.client, url, world.author, 0, b"a" * 5)).status_code == 204


async def test_expired_upload_is_410_and_swept_with_its_bytes(world: World) -> None:
    created = await world.client.post(
        "/api/messages", json={"kind": "audio"}, headers=world.author.headers
    )
    url = created.json()["upload_url"]
    assert (await patch(world.client, url, world.author, 0, os.urandom(1000))).status_code == 204
    upload_id = url.rsplit("/", 1)[1]
    async with world.services.sessions.begin() as session:
        await session.execute(
            update(Upload)
            .where(Upload.id == upload_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        key = (await session.get(Upload, upload_id)).store_state["key"]
    assert (await world.client.head(url, headers=h(world.author))).status_code == 410
    assert (await patch(world.client, url, world.author, 1000, b"x")).status_code == 410
    assert await sweep_expired(world.services) == 1
    detail = (
        await world.client.get(
            f"/api/messages/{created.json()['id']}", headers=world.author.headers
        )
    ).json()
    assert detail["status"] == "failed" and "expired" in detail["error"]
    assert await world.services.storage.size(key) is None
    assert (await world.client.head(url, headers=h(world.author))).status_code == 404


async def test_termination_removes_upload_and_stored_bytes(world: World) -> None:
    url = await create(world, world.author, 100)
    assert (await patch(world.client, url, world.author, 0, b"q" * 50)).status_code == 204
    async with world.services.sessions.begin() as session:
        key = (await session.get(Upload, url.rsplit("/", 1)[1])).store_state["key"]
    response = await world.client.delete(url, headers=h(world.author))
    assert response.status_code == 204
    assert (await world.client.head(url, headers=h(world.author))).status_code == 404
    assert await world.services.storage.size(key) is None


async def test_other_users_and_anonymous_cannot_touch_an_upload(world: World) -> None:
    url = await create(world, world.author, 100)
    assert (await world.client.head(url, headers=h(world.other))).status_code == 404
    assert (await patch(world.client, url, world.other, 0, b"x")).status_code == 404
    assert (await world.client.delete(url, headers=h(world.other))).status_code == 404
    async with world.anonymous() as anonymous:
        assert (await anonymous.head(url, headers=TUS)).status_code == 401
        assert (
            await anonymous.post("/api/uploads/", headers={**TUS, "Upload-Length": "5"})
        ).status_code == 401
    bad_token = {**TUS, "Authorization": "Bearer rl_not-a-token"}
    assert (await world.client.head(url, headers=bad_token)).status_code == 401
    assert (await world.client.head(url, headers=h(world.author))).headers["Upload-Offset"] == "0"


async def test_a_second_instance_resumes_the_upload(world: World) -> None:
    """State lives in the database and storage, so another relay process can take over."""
    data = os.urandom(300_000)
    url = await create(world, world.author, len(data))
    assert (await patch(world.client, url, world.author, 0, data[:120_000])).status_code == 204
    second = create_app(world.services.settings)
    async with LifespanManager(second) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://relay.test") as client:
            head = await client.head(url, headers=h(world.author))
            assert head.headers["Upload-Offset"] == "120000"
            assert (
                await patch(client, url, world.author, 120_000, data[120_000:])
            ).status_code == 204
    assert await stored_digest(world, url) == hashlib.sha256(data).hexdigest()


async def test_expired_spare_upload_does_not_fail_a_message_another_upload_serves(
    world: World,
) -> None:
    """tus-js-client makes its own upload for a message; the unused one expires quietly."""
    created = await world.client.post(
        "/api/messages", json={"kind": "audio"}, headers=world.author.headers
    )
    spare = created.json()["upload_url"].rsplit("/", 1)[1]
    await create(world, world.author, 100, message=created.json()["id"])
    async with world.services.sessions.begin() as session:
        await session.execute(
            update(Upload)
            .where(Upload.id == spare)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert await sweep_expired(world.services) == 1
    detail = await world.client.get(
        f"/api/messages/{created.json()['id']}", headers=world.author.headers
    )
    assert detail.json()["status"] == "uploading"


async def test_repeating_the_final_empty_patch_of_a_complete_upload_is_204(world: World) -> None:
    url = await create(world, world.author, None)
    assert (await patch(world.client, url, world.author, 0, b"abc")).status_code == 204
    final = {"Upload-Length": "3"}
    assert (await patch(world.client, url, world.author, 3, b"", **final)).status_code == 204
    again = await patch(world.client, url, world.author, 3, b"", **final)
    assert again.status_code == 204 and again.headers["Upload-Offset"] == "3"
    more = await patch(world.client, url, world.author, 3, b"x")
    assert more.status_code == 409 and "complete" in more.json()["detail"]
