"""Media at /media/{id}/{name} and /s/{token}/media/{name} on both stacks: byte ranges from
the local store, redirects to presigned URLs on S3, and who may fetch what."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import update

from relay.db import utcnow
from relay.enums import MessageKind, MessageStatus
from relay.links import key_of
from relay.messages import new_message
from relay.models import Rendition, ShareLink
from relay.storage.base import CHUNK_SIZE
from tests.conftest import World

SIZE = CHUNK_SIZE + 50_000  # more than one chunk of the local store's reader
EMBEDDED_ONLY = pytest.mark.parametrize("settings", ["embedded"], indirect=True)


@dataclass
class Video:
    message_id: str
    token: str
    data: bytes

    @property
    def path(self) -> str:
        return f"/media/{self.message_id}/video"

    @property
    def link_path(self) -> str:
        return f"/s/{self.token}/media/video"


async def add_video(world: World, tmp_path: Path, *, title: str = "Standup") -> Video:
    """A ready video message of the author with one stored `video` rendition."""
    data = os.urandom(SIZE)
    source = tmp_path / "video.mp4"
    source.write_bytes(data)
    async with world.services.sessions.begin() as session:
        message, token = await new_message(
            session, world.author.id, MessageKind.video, title=title, secret=world.services.secret
        )
        message.status = MessageStatus.ready
        key = f"renditions/{message.id}/video.mp4"
        await world.services.storage.put_file(key, source, "video/mp4")
        session.add(
            Rendition(
                message_id=message.id, name="video", storage_key=key, mime="video/mp4", bytes=SIZE
            )
        )
    assert token is not None
    return Video(message.id, token, data)


def on_s3(world: World) -> bool:
    return world.services.settings.storage == "s3"


async def fetch(
    world: World,
    client: httpx.AsyncClient,
    path: str,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """GET media as a browser would: on S3 follow the redirect to the presigned URL."""
    headers = headers or {}
    response = await client.get(path, headers=headers)
    if not on_s3(world):
        assert response.status_code != 302
        return response
    assert response.status_code == 302, response.text
    assert response.headers["cache-control"] == "no-store"
    location = response.headers["location"]
    endpoint = urlsplit(world.services.settings.s3.endpoint_url)
    assert urlsplit(location).netloc == endpoint.netloc
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=" in location
    async with httpx.AsyncClient(timeout=10) as direct:
        return await direct.get(location, headers=headers)


# -- bytes and ranges (both stacks; S3 answers ranges itself) ----------------------------


async def test_no_range_200_whole_file(world: World, tmp_path: Path) -> None:
    video = await add_video(world, tmp_path)
    response = await fetch(world, world.client, video.path, world.author.headers)
    assert response.status_code == 200
    assert response.content == video.data
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["content-disposition"] == 'inline; filename="Standup.mp4"'
    if not on_s3(world):
        assert response.headers["accept-ranges"] == "bytes"
        assert response.headers["content-length"] == str(SIZE)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "private, max-age=60"


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        pytest.param("bytes=0-1", 0, 2, id="first-two-bytes"),
        pytest.param(f"bytes={CHUNK_SIZE - 10}-{CHUNK_SIZE + 9}", CHUNK_SIZE - 10, CHUNK_SIZE + 10,
                     id="across-chunk-boundary"),
        pytest.param("bytes=-100", SIZE - 100, SIZE, id="suffix"),
        pytest.param(f"bytes={SIZE - 5}-", SIZE - 5, SIZE, id="open-ended"),
    ],
)  # fmt: skip
async def test_range_206_exact_bytes_and_content_range(
    world: World, tmp_path: Path, header: str, start: int, stop: int
) -> None:
    video = await add_video(world, tmp_path)
    response = await fetch(
        world, world.client, video.path, {**world.author.headers, "Range": header}
    )
    assert response.status_code == 206
    assert response.content == video.data[start:stop]
    assert response.headers["content-range"] == f"bytes {start}-{stop - 1}/{SIZE}"
    assert response.headers["content-length"] == str(stop - start)


@EMBEDDED_ONLY
async def test_range_beyond_end_416_with_star_content_range(world: World, tmp_path: Path) -> None:
    video = await add_video(world, tmp_path)
    headers = {**world.author.headers, "Range": "bytes=99999999-"}
    response = await world.client.get(video.path, headers=headers)
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{SIZE}"
    assert response.content == b""


@EMBEDDED_ONLY
async def test_malformed_or_multiple_ranges_get_whole_file(world: World, tmp_path: Path) -> None:
    video = await add_video(world, tmp_path)
    for header in ["bytes=0-1,5-9", "bytes=abc", "items=0-1", "bytes=9-3"]:
        headers = {**world.author.headers, "Range": header}
        response = await world.client.get(video.path, headers=headers)
        assert response.status_code == 200, header
        assert len(response.content) == SIZE and "content-range" not in response.headers


@EMBEDDED_ONLY
async def test_range_with_latin1_superscript_digit_gets_whole_file_not_500(
    world: World, tmp_path: Path
) -> None:
    # Header values arrive decoded as latin-1; "²" passes str.isdigit() but not int().
    video = await add_video(world, tmp_path)
    headers = {**world.author.headers, "Range": b"bytes=\xb2-"}
    response = await world.client.get(video.path, headers=headers)
    assert response.status_code == 200


@EMBEDDED_ONLY
async def test_head_gives_length_and_accept_ranges_without_body(
    world: World, tmp_path: Path
) -> None:
    video = await add_video(world, tmp_path)
    whole = await world.client.head(video.path, headers=world.author.headers)
    assert whole.status_code == 200 and whole.content == b""
    assert whole.headers["content-length"] == str(SIZE)
    assert whole.headers["accept-ranges"] == "bytes"
    part = await world.client.head(
        video.path, headers={**world.author.headers, "Range": "bytes=0-1"}
    )
    assert part.status_code == 206 and part.content == b""
    assert part.headers["content-length"] == "2"
    assert part.headers["content-range"] == f"bytes 0-1/{SIZE}"


async def test_title_outside_latin1_still_served(world: World, tmp_path: Path) -> None:
    # Titles come from users' file names; Content-Disposition must stay a valid header.
    video = await add_video(world, tmp_path, title="Réunion 会议")
    response = await fetch(world, world.client, video.path, world.author.headers)
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("inline; filename=")
    disposition.encode("latin-1")


# -- who may fetch -----------------------------------------------------------------------


async def test_other_user_404_anonymous_401_admin_allowed(world: World, tmp_path: Path) -> None:
    video = await add_video(world, tmp_path)
    other = await world.client.get(video.path, headers=world.other.headers)
    assert other.status_code == 404 and "location" not in other.headers
    async with world.anonymous() as anonymous:
        nobody = await anonymous.get(video.path)
    assert nobody.status_code == 401 and "location" not in nobody.headers
    admin = await fetch(world, world.client, video.path, world.admin.headers)
    assert admin.status_code == 200 and admin.content == video.data


async def test_unknown_rendition_or_message_404(world: World, tmp_path: Path) -> None:
    video = await add_video(world, tmp_path)
    author = world.author.headers
    for path in [
        f"/media/{video.message_id}/poster",
        "/media/no-such-message/video",
        f"/s/{video.token}/media/poster",
        "/s/no-such-link-token/media/video",
        "/s/short/media/video",
    ]:
        response = await world.client.get(path, headers=author)
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found"


async def test_share_link_serves_media_anonymously(world: World, tmp_path: Path) -> None:
    video = await add_video(world, tmp_path)
    async with world.anonymous() as anonymous:
        whole = await fetch(world, anonymous, video.link_path)
        part = await fetch(world, anonymous, video.link_path, {"Range": "bytes=0-1"})
    assert whole.status_code == 200 and whole.content == video.data
    assert part.status_code == 206 and part.content == video.data[:2]


@pytest.mark.parametrize("column", ["revoked_at", "expires_at"])
async def test_revoked_or_expired_share_link_410(world: World, tmp_path: Path, column: str) -> None:
    video = await add_video(world, tmp_path)
    async with world.services.sessions.begin() as session:
        await session.execute(
            update(ShareLink)
            .where(ShareLink.key == key_of(video.token))
            .values({column: utcnow() - timedelta(seconds=1)})
        )
    async with world.anonymous() as anonymous:
        response = await anonymous.get(video.link_path)
    assert response.status_code == 410 and "location" not in response.headers
    assert response.json()["error"] == "gone"
    # The owner still reaches the media directly.
    own = await world.client.get(video.path, headers=world.author.headers)
    assert own.status_code in (200, 302)
