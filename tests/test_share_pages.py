"""Public share pages, their status JSON and their headers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from relay.db import utcnow
from relay.models import MessageStatus, Rendition, ShareLink
from tests.conftest import World
from tests.pages_helpers import HTML, assert_page_headers, create_message, set_message


async def add_renditions(world: World, message_id: str, *names: str) -> None:
    mimes = {"video": "video/mp4", "audio": "audio/mp4", "poster": "image/jpeg"}
    async with world.services.sessions.begin() as session:
        for name in names:
            session.add(
                Rendition(
                    message_id=message_id,
                    name=name,
                    storage_key=f"renditions/{message_id}/{name}",
                    mime=mimes[name],
                    bytes=1000,
                )
            )


async def test_share_page_anonymous_200_private_headers(world: World) -> None:
    message = await create_message(world, "Hello from the train", kind="video")
    await set_message(world, message["id"], status=MessageStatus.ready, duration=65.2)
    await add_renditions(world, message["id"], "video", "poster")
    token = message["token"]
    async with world.anonymous() as client:
        response = await client.get(f"/s/{token}", headers=HTML)
    assert response.status_code == 200
    assert_page_headers(response, world.services.settings, share=True)
    assert '<meta name="robots" content="noindex">' in response.text
    assert "Hello from the train" in response.text
    assert "From author" in response.text
    assert "1:05" in response.text
    assert (
        f'<video class="media" controls playsinline preload="metadata" '
        f'poster="/s/{token}/media/poster" src="/s/{token}/media/video"></video>'
    ) in response.text


async def test_share_page_ready_audio_has_audio_player(world: World) -> None:
    message = await create_message(world, "Voice memo")
    await set_message(world, message["id"], status=MessageStatus.ready)
    await add_renditions(world, message["id"], "audio")
    token = message["token"]
    async with world.anonymous() as client:
        response = await client.get(f"/s/{token}", headers=HTML)
    assert (
        f'<audio class="media" controls preload="metadata" src="/s/{token}/media/audio">'
        in response.text
    )


async def test_share_page_failed_shows_reason(world: World) -> None:
    message = await create_message(world, "Broken")
    await set_message(world, message["id"], status=MessageStatus.failed, error="No audio <here>.")
    async with world.anonymous() as client:
        response = await client.get(f"/s/{message['token']}", headers=HTML)
    assert response.status_code == 200
    assert "No audio &lt;here&gt;." in response.text
    assert "data-status-url" in response.text and 'data-status="failed"' in response.text


async def test_share_page_text_message_shows_body(world: World) -> None:
    message = await create_message(world, "A note", kind="text")
    async with world.anonymous() as client:
        response = await client.get(f"/s/{message['token']}", headers=HTML)
    assert response.status_code == 200
    assert "The body of A note" in response.text
    assert "data-player" not in response.text


async def test_share_page_unknown_token_404(world: World) -> None:
    async with world.anonymous() as client:
        response = await client.get("/s/AAAAAAAAAAAAAAAAAAAAAA", headers=HTML)
    assert response.status_code == 404
    assert response.headers["x-robots-tag"] == "noindex"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_share_page_revoked_410_reveals_nothing(world: World) -> None:
    message = await create_message(world, "Secret plans")
    async with world.services.sessions.begin() as session:
        await session.execute(
            update(ShareLink).where(ShareLink.token == message["token"]).values(revoked_at=utcnow())
        )
    async with world.anonymous() as client:
        page = await client.get(f"/s/{message['token']}", headers=HTML)
        status = await client.get(f"/s/{message['token']}/status")
    assert page.status_code == 410
    assert "Secret plans" not in page.text and "author" not in page.text
    assert_page_headers(page, world.services.settings, share=True)
    assert status.status_code == 410
    assert "Secret plans" not in status.text


async def test_share_page_expired_410(world: World) -> None:
    message = await create_message(world, "Old news")
    async with world.services.sessions.begin() as session:
        await session.execute(
            update(ShareLink)
            .where(ShareLink.token == message["token"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    async with world.anonymous() as client:
        response = await client.get(f"/s/{message['token']}", headers=HTML)
    assert response.status_code == 410
    assert "Old news" not in response.text


async def test_share_status_json_follows_processing(world: World) -> None:
    message = await create_message(world, "Polling", kind="video")
    token = message["token"]
    async with world.anonymous() as client:
        page = await client.get(f"/s/{token}", headers=HTML)
        assert f'data-status-url="/s/{token}/status"' in page.text
        waiting = await client.get(f"/s/{token}/status")
        await set_message(world, message["id"], status=MessageStatus.ready)
        await add_renditions(world, message["id"], "video", "poster")
        ready = await client.get(f"/s/{token}/status")
    assert waiting.status_code == 200
    assert waiting.json()["status"] == "uploading"
    assert waiting.headers["x-robots-tag"] == "noindex"
    assert waiting.headers["cache-control"] == "no-store"
    body = ready.json()
    assert body["id"] == message["id"] and body["status"] == "ready"
    assert body["share_url"] == message["share_url"]
    urls = {r["name"]: r["url"] for r in body["renditions"]}
    assert urls == {"video": f"/s/{token}/media/video", "poster": f"/s/{token}/media/poster"}


async def test_share_status_unknown_token_404_json(world: World) -> None:
    async with world.anonymous() as client:
        response = await client.get("/s/AAAAAAAAAAAAAAAAAAAAAA/status", headers=HTML)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
