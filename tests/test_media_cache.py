"""Local media at the speed of the disk: validators and conditional requests (304, If-Range),
ranges read from the page cache, and X-Accel-Redirect to nginx when RELAY_ACCEL_REDIRECT
is set, only after the access check."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from relay.ranges import not_modified, range_applies
from relay.settings import Settings, SettingsError
from tests.conftest import World
from tests.support.server import add_user, front_conf, nginx, serve
from tests.test_media_serving import SIZE, add_video

# nginx keeps a yes for X-Accel-Expires (1) whole seconds of its clock: under 2 s.
KEPT_BY_NGINX = 2.05
EMBEDDED_ONLY = pytest.mark.parametrize("settings", ["embedded"], indirect=True)
ETAG = '"65f0a1b2-1000"'
DATE = "Tue, 12 Mar 2024 18:30:10 GMT"
MTIME = 1710268210  # DATE as a timestamp


def test_if_none_match_decides_before_if_modified_since() -> None:
    assert not_modified(ETAG, None, ETAG, MTIME)
    assert not_modified(f'"other", W/{ETAG}', None, ETAG, MTIME)
    assert not_modified("*", None, ETAG, MTIME)
    assert not not_modified('"other"', DATE, ETAG, MTIME)
    assert not_modified(None, DATE, ETAG, MTIME)
    assert not not_modified(None, "Tue, 12 Mar 2024 18:30:09 GMT", ETAG, MTIME)
    assert not not_modified(None, "not a date", ETAG, MTIME)
    assert not not_modified(None, None, ETAG, MTIME)


def test_if_range_needs_a_strong_match() -> None:
    assert range_applies(None, ETAG, DATE)
    assert range_applies(ETAG, ETAG, DATE)
    assert range_applies(DATE, ETAG, DATE)
    assert not range_applies(f"W/{ETAG}", ETAG, DATE)
    assert not range_applies('"older"', ETAG, DATE)
    assert not range_applies("Tue, 12 Mar 2024 18:30:11 GMT", ETAG, DATE)


@EMBEDDED_ONLY
async def test_ranges_carry_validators_and_answer_conditional_requests(
    world: World, tmp_path: Path
) -> None:
    video = await add_video(world, tmp_path)
    headers = world.author.headers
    whole = await world.client.get(video.path, headers=headers)
    assert whole.status_code == 200 and whole.content == video.data
    etag, modified = whole.headers["etag"], whole.headers["last-modified"]
    assert whole.headers["cache-control"].startswith("private")
    assert "x-accel-redirect" not in whole.headers

    part = await world.client.get(video.path, headers={**headers, "Range": "bytes=65536-131071"})
    assert part.status_code == 206 and part.content == video.data[65536:131072]
    assert part.headers["content-range"] == f"bytes 65536-131071/{SIZE}"
    assert part.headers["etag"] == etag

    tail = await world.client.get(video.path, headers={**headers, "Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == video.data[-100:]
    beyond = await world.client.get(video.path, headers={**headers, "Range": f"bytes={SIZE}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{SIZE}"

    for asked in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
        again = await world.client.get(video.path, headers={**headers, **asked})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag and "content-type" not in again.headers
    changed = await world.client.get(video.path, headers={**headers, "If-None-Match": '"x"'})
    assert changed.status_code == 200 and len(changed.content) == SIZE

    ranged = {**headers, "Range": "bytes=0-9"}
    same = await world.client.get(video.path, headers={**ranged, "If-Range": etag})
    assert same.status_code == 206 and same.content == video.data[:10]
    stale = await world.client.get(video.path, headers={**ranged, "If-Range": '"old"'})
    assert stale.status_code == 200 and stale.content == video.data

    head = await world.client.head(video.path, headers=ranged)
    assert head.status_code == 206 and head.content == b""
    assert head.headers["content-length"] == "10"


@EMBEDDED_ONLY
async def test_accel_redirect_hands_the_file_to_nginx_after_the_access_check(
    world: World, tmp_path: Path
) -> None:
    video = await add_video(world, tmp_path)
    svc = world.services
    svc.settings = replace(svc.settings, accel_redirect="/internal-media/")

    answer = await world.client.get(
        video.path, headers={**world.author.headers, "Range": "bytes=0-9"}
    )
    assert answer.status_code == 200 and answer.content == b""
    assert answer.headers["x-accel-redirect"] == (
        f"/internal-media/renditions/{video.message_id}/video.mp4"
    )
    assert answer.headers["content-type"] == "video/mp4"
    assert answer.headers["cache-control"].startswith("private")

    stranger = await world.client.get(video.path, headers=world.other.headers)
    assert stranger.status_code == 404 and "x-accel-redirect" not in stranger.headers
    async with world.anonymous() as anonymous:
        nobody = await anonymous.get(video.link_path.replace(video.token, "x" * 20))
    assert "x-accel-redirect" not in nobody.headers


@pytest.mark.parametrize("value", ["internal-media/", "/internal-media", "x"])
def test_accel_redirect_must_be_a_location_path(value: str) -> None:
    with pytest.raises(SettingsError, match="RELAY_ACCEL_REDIRECT"):
        Settings(accel_redirect=value)


@pytest.mark.parametrize("relay_env", ["embedded"], indirect=True)
async def test_nginx_keeps_the_relays_yes_for_a_second_and_never_a_no(
    relay_env: dict[str, str], tmp_path: Path
) -> None:
    """Through infra/nginx.conf: a player's range requests cost the relay one access check a
    second, another caller's request is checked for itself, and a revoked link's or a deleted
    message's file is refused within 2 seconds."""
    env = relay_env | {"RELAY_ACCEL_REDIRECT": "/internal-media/", "RELAY_WORKERS": "0"}
    kim, lou = (
        {"Authorization": f"Bearer {add_user(env, f'{name}@example.org')}"}
        for name in ("kim", "lou")
    )
    web, base = serve(env, tmp_path / "web.log")
    try:
        async with httpx.AsyncClient(base_url=base, headers=kim) as http:
            created = (await http.post("/api/messages", json={"kind": "video"})).json()
        message_id, token = created["id"], created["share_url"].rsplit("/", 1)[1]
        data = os.urandom(256 * 1024)
        _store_video(env, message_id, data)
        media_dir = Path(env["RELAY_DATA_DIR"]) / "media"
        conf, port = front_conf(tmp_path, [int(base.rsplit(":", 1)[1])], media_dir)
        with nginx(conf, tmp_path):
            url = f"http://127.0.0.1:{port}/media/{message_id}/video"
            ranged = {"Range": "bytes=1000-1999"}
            async with httpx.AsyncClient(timeout=10) as front:
                for _ in range(5):
                    played = await front.get(url, headers=kim | ranged)
                    assert played.status_code == 206, played.text
                    assert played.content == data[1000:2000]
                    assert played.headers["content-type"] == "video/mp4"
                    assert "x-accel-expires" not in played.headers
                assert _media_requests(tmp_path / "web.log") == 1

                stranger = await front.get(url, headers=lou | ranged)
                assert stranger.status_code == 404 and stranger.content != data[1000:2000]
                nobody = await front.get(url, headers=ranged)
                assert nobody.status_code == 401
                # Each refusal asked the relay twice: the check, then the relay's own answer.
                assert _media_requests(tmp_path / "web.log") == 5

                message_url = f"http://127.0.0.1:{port}/api/messages/{message_id}"
                # A link's visitor: kept likewise, and refused within 2 s of a revoke.
                link_media = f"http://127.0.0.1:{port}/s/{token}/media/video"
                for _ in range(3):
                    visited = await front.get(link_media, headers=ranged)
                    assert visited.status_code == 206 and visited.content == data[1000:2000]
                revoked = await front.delete(
                    f"http://127.0.0.1:{port}/api/links/{token}", headers=kim
                )
                assert revoked.status_code == 204, revoked.text
                await asyncio.sleep(KEPT_BY_NGINX)
                assert (await front.get(link_media, headers=ranged)).status_code == 410

                deleted = await front.delete(message_url, headers=kim)
                assert deleted.status_code == 204, deleted.text
                await asyncio.sleep(KEPT_BY_NGINX)
                gone = await front.get(url, headers=kim | ranged)
                assert gone.status_code == 404
    finally:
        web.stop()


def _store_video(env: dict[str, str], message_id: str, data: bytes) -> None:
    """A video rendition of the message, written into the store and the database."""
    key = f"renditions/{message_id}/video.mp4"
    path = Path(env["RELAY_DATA_DIR"]) / "media" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    database = env["RELAY_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as db, db:
        db.execute("UPDATE messages SET status = 'ready' WHERE id = ?", (message_id,))
        db.execute(
            "INSERT INTO renditions (message_id, name, storage_key, mime, bytes, created_at)"
            " VALUES (?, 'video', ?, 'video/mp4', ?, datetime('now'))",
            (message_id, key, len(data)),
        )


def _media_requests(log: Path) -> int:
    return sum("GET /media/" in line for line in log.read_text().splitlines())
