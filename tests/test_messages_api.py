"""JSON API for messages on both stacks: validation, creation with share link and tus upload,
threads, listing, visibility and deletion of every stored byte."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from relay.messages import MAX_BODY, MAX_TITLE
from relay.web.http import MAX_JSON_BYTES
from tests.conftest import Person, World

TUS = {"Tus-Resumable": "1.0.0"}
EMBEDDED_ONLY = pytest.mark.parametrize("settings", ["embedded"], indirect=True)


async def post(world: World, person: Person, body: Any) -> Any:
    return await world.client.post("/api/messages", json=body, headers=person.headers)


async def create(world: World, person: Person, **body: Any) -> dict[str, Any]:
    response = await post(world, person, body)
    assert response.status_code == 201, response.text
    return response.json()


def token_of(message: dict[str, Any]) -> str:
    return message["share_url"].rsplit("/", 1)[1]


# -- validation (the rules do not depend on the stack) ---------------------------------


@EMBEDDED_ONLY
async def test_create_invalid_json_bodies_400(world: World) -> None:
    headers = {**world.author.headers, "Content-Type": "application/json"}
    for raw in [b"", b"{", b"not json", b"[]", b'["text"]', b"null", b'"text"', b"\xff\xfe"]:
        response = await world.client.post("/api/messages", content=raw, headers=headers)
        assert response.status_code == 400, raw
        assert response.json()["error"] == "bad_request"


@EMBEDDED_ONLY
async def test_create_deeply_nested_json_400_not_500(world: World) -> None:
    # Well under the 64 KiB limit, but deeper than json.loads can recurse.
    headers = {**world.author.headers, "Content-Type": "application/json"}
    response = await world.client.post("/api/messages", content=b"[" * 40_000, headers=headers)
    assert response.status_code == 400


@EMBEDDED_ONLY
async def test_create_without_json_content_type_400(world: World) -> None:
    for content_type in ["text/plain", "application/x-www-form-urlencoded", ""]:
        response = await world.client.post(
            "/api/messages",
            content=json.dumps({"kind": "text", "body": "hi"}),
            headers={**world.author.headers, "Content-Type": content_type},
        )
        assert response.status_code == 400, content_type
        assert "application/json" in response.json()["detail"]


@EMBEDDED_ONLY
async def test_create_missing_or_invalid_kind_400(world: World) -> None:
    for body in [{}, {"kind": "gif"}, {"kind": "Audio"}, {"kind": None}, {"kind": ["audio"]}]:
        response = await post(world, world.author, body)
        assert response.status_code == 400, body
        assert "'kind'" in response.json()["detail"]


@EMBEDDED_ONLY
async def test_create_body_over_64_kib_413(world: World) -> None:
    body = json.dumps({"kind": "text", "body": "x" * MAX_JSON_BYTES}).encode()
    response = await world.client.post(
        "/api/messages",
        content=body,
        headers={**world.author.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


@EMBEDDED_ONLY
async def test_create_title_too_long_or_not_text_400(world: World) -> None:
    too_long = await post(world, world.author, {"kind": "audio", "title": "t" * (MAX_TITLE + 1)})
    assert too_long.status_code == 400 and str(MAX_TITLE) in too_long.json()["detail"]
    not_text = await post(world, world.author, {"kind": "audio", "title": 42})
    assert not_text.status_code == 400 and "'title'" in not_text.json()["detail"]
    longest = await post(world, world.author, {"kind": "audio", "title": "t" * MAX_TITLE})
    assert longest.status_code == 201
    assert (await world.client.get("/api/messages", headers=world.author.headers)).json()[
        "messages"
    ][0]["title"] == "t" * MAX_TITLE


@EMBEDDED_ONLY
async def test_create_body_rules_by_kind_400(world: World) -> None:
    for body in [
        {"kind": "text"},
        {"kind": "text", "body": "   \n"},
        {"kind": "text", "body": "x" * (MAX_BODY + 1)},
        {"kind": "text", "body": 7},
        {"kind": "audio", "body": "audio has no body"},
    ]:
        response = await post(world, world.author, body)
        assert response.status_code == 400, body
    listed = await world.client.get("/api/messages", headers=world.author.headers)
    assert listed.json() == {"messages": []}


@EMBEDDED_ONLY
async def test_create_parent_id_not_a_string_400(world: World) -> None:
    response = await post(world, world.author, {"kind": "text", "body": "hi", "parent_id": 1})
    assert response.status_code == 400


# -- creation ----------------------------------------------------------------------------


async def test_text_message_201_ready_without_upload(world: World) -> None:
    response = await post(world, world.author, {"kind": "text", "title": " Hi ", "body": "Hello"})
    assert response.status_code == 201
    message = response.json()
    assert response.headers["location"] == f"/api/messages/{message['id']}"
    assert message["status"] == "ready" and message["kind"] == "text"
    assert (message["title"], message["body"]) == ("Hi", "Hello")
    assert message["thread_id"] == message["id"] and message["parent_id"] is None
    assert message["renditions"] == []
    assert "upload_url" not in message
    assert message["share_url"].startswith("http://relay.test/s/")
    async with world.anonymous() as anonymous:
        shared = await anonymous.get(f"/s/{token_of(message)}/status")
    assert shared.status_code == 200


async def test_audio_message_201_uploading_with_deferred_upload(world: World) -> None:
    message = await create(world, world.author, kind="audio", title="Voice note")
    assert message["status"] == "uploading" and message["kind"] == "audio"
    assert message["upload_url"].startswith("http://relay.test/api/uploads/")
    assert message["upload_offset"] == 0
    assert message["share_url"].startswith("http://relay.test/s/")
    upload = await world.client.head(message["upload_url"], headers=world.author.headers | TUS)
    assert upload.status_code == 200
    assert upload.headers["upload-offset"] == "0"
    assert upload.headers["upload-defer-length"] == "1"


async def test_reply_joins_parents_thread(world: World) -> None:
    root = await create(world, world.author, kind="text", body="root")
    reply = await create(world, world.author, kind="audio", parent_id=root["id"])
    reply_to_reply = await create(world, world.author, kind="text", body="b", parent_id=reply["id"])
    assert reply["parent_id"] == root["id"] and reply["thread_id"] == root["id"]
    assert reply_to_reply["parent_id"] == reply["id"]
    assert reply_to_reply["thread_id"] == root["id"]


async def test_reply_to_other_users_or_unknown_message_404(world: World) -> None:
    theirs = await create(world, world.other, kind="text", body="private")
    for parent_id in [theirs["id"], "no-such-message"]:
        response = await post(
            world, world.author, {"kind": "text", "body": "hi", "parent_id": parent_id}
        )
        assert response.status_code == 404, parent_id
    listed = await world.client.get("/api/messages", headers=world.author.headers)
    assert listed.json() == {"messages": []}


# -- reading -----------------------------------------------------------------------------


async def test_list_has_only_own_messages_newest_first(world: World) -> None:
    first = await create(world, world.author, kind="text", body="one")
    second = await create(world, world.author, kind="audio")
    await create(world, world.other, kind="text", body="not yours")
    listed = await world.client.get("/api/messages", headers=world.author.headers)
    assert listed.status_code == 200
    assert [m["id"] for m in listed.json()["messages"]] == [second["id"], first["id"]]
    admin = await world.client.get("/api/messages", headers=world.admin.headers)
    assert admin.json() == {"messages": []}


async def test_detail_own_200_other_404_admin_200(world: World) -> None:
    message = await create(world, world.author, kind="text", body="hello")
    path = f"/api/messages/{message['id']}"
    own = await world.client.get(path, headers=world.author.headers)
    assert own.status_code == 200 and own.json() == message
    other = await world.client.get(path, headers=world.other.headers)
    unknown = await world.client.get("/api/messages/no-such-id", headers=world.other.headers)
    assert other.status_code == unknown.status_code == 404
    assert other.json() == unknown.json()  # nothing tells a foreign id from a missing one
    admin = await world.client.get(path, headers=world.admin.headers)
    assert admin.status_code == 200 and admin.json()["id"] == message["id"]


async def test_anonymous_401_everywhere(world: World) -> None:
    message = await create(world, world.author, kind="text", body="hello")
    path = f"/api/messages/{message['id']}"
    async with world.anonymous() as anonymous:
        responses = [
            await anonymous.get("/api/messages"),
            await anonymous.post("/api/messages", json={"kind": "text", "body": "x"}),
            await anonymous.get(path),
            await anonymous.delete(path),
        ]
    assert [r.status_code for r in responses] == [401] * 4
    assert all(r.json()["error"] == "unauthorized" for r in responses)


# -- deletion ----------------------------------------------------------------------------


async def test_delete_by_author_204_removes_media_upload_and_link(
    world: World, tmp_path: Path
) -> None:
    message = await create(world, world.author, kind="video", title="Gone soon")
    storage = world.services.storage
    upload_url = message["upload_url"]
    sent = await world.client.patch(
        upload_url,
        content=b"partial recording",
        headers=world.author.headers
        | TUS
        | {"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"},
    )
    assert sent.status_code == 204
    source = tmp_path / "file"
    source.write_bytes(b"stored bytes")
    keys = [
        f"originals/{message['id']}/original.webm",
        f"renditions/{message['id']}/video.mp4",
        f"renditions/{message['id']}/poster.jpg",
    ]
    for key in keys:
        await storage.put_file(key, source, "application/octet-stream")
    neighbour = f"renditions/{message['id']}x/video.mp4"  # shares the prefix without the slash
    await storage.put_file(neighbour, source, "video/mp4")

    deleted = await world.client.delete(
        f"/api/messages/{message['id']}", headers=world.author.headers
    )
    assert deleted.status_code == 204 and deleted.content == b""
    for key in keys:
        assert await storage.size(key) is None, key
    assert await storage.size(neighbour) == len(b"stored bytes")
    gone = await world.client.get(f"/api/messages/{message['id']}", headers=world.author.headers)
    assert gone.status_code == 404
    upload = await world.client.head(upload_url, headers=world.author.headers | TUS)
    assert upload.status_code in (404, 410)
    async with world.anonymous() as anonymous:
        shared = await anonymous.get(f"/s/{token_of(message)}/status")
    assert shared.status_code in (404, 410)


async def test_delete_by_other_404_by_admin_403_message_kept(world: World) -> None:
    message = await create(world, world.author, kind="text", body="keep me")
    path = f"/api/messages/{message['id']}"
    by_other = await world.client.delete(path, headers=world.other.headers)
    assert by_other.status_code == 404
    by_admin = await world.client.delete(path, headers=world.admin.headers)
    assert by_admin.status_code == 403 and by_admin.json()["error"] == "forbidden"
    kept = await world.client.get(path, headers=world.author.headers)
    assert kept.status_code == 200
