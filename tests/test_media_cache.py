"""Local media at the speed of the disk: validators and conditional requests (304, If-Range),
ranges read from the page cache, and X-Accel-Redirect to nginx when RELAY_ACCEL_REDIRECT
is set, only after the access check."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from relay.ranges import not_modified, range_applies
from relay.settings import Settings, SettingsError
from tests.conftest import World
from tests.test_media_serving import SIZE, add_video

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
