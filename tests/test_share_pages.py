"""Public share pages, their status JSON and their headers."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from relay.db import utcnow
from relay.enums import MessageStatus
from relay.links import key_of
from relay.models import Rendition, ShareLink
from tests.conftest import World
from tests.support.pages import HTML, assert_page_headers, create_message, set_message


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
    assert re.search(r'class="thread-names">.*Author</p>', response.text)
    assert "1:05" in response.text
    media = f"/s/{token}/media/{message['id']}"
    assert (
        f'<video class="tm-media" controls playsinline preload="none" '
        f'src="{media}/video" poster="{media}/poster"></video>'
    ) in response.text
    # The page embeds its thread for the script, without any executable inline script.
    assert '<script type="application/json" id="thread-data">' in response.text
    assert "<script>" not in response.text


async def test_share_page_ready_audio_has_audio_player(world: World) -> None:
    message = await create_message(world, "Voice memo")
    await set_message(world, message["id"], status=MessageStatus.ready)
    await add_renditions(world, message["id"], "audio")
    token = message["token"]
    async with world.anonymous() as client:
        response = await client.get(f"/s/{token}", headers=HTML)
    assert (
        f'<audio class="tm-media" controls preload="none" '
        f'src="/s/{token}/media/{message["id"]}/audio"></audio>'
    ) in response.text


async def test_share_page_failed_shows_reason(world: World) -> None:
    message = await create_message(world, "Broken")
    await set_message(world, message["id"], status=MessageStatus.failed, error="No audio <here>.")
    async with world.anonymous() as client:
        response = await client.get(f"/s/{message['token']}", headers=HTML)
    assert response.status_code == 200
    assert "No audio &lt;here&gt;." in response.text
    assert "No audio <here>" not in response.text.split('id="thread-data"')[0]


async def test_share_page_text_message_shows_body(world: World) -> None:
    message = await create_message(world, "A note", kind="text")
    async with world.anonymous() as client:
        response = await client.get(f"/s/{message['token']}", headers=HTML)
    assert response.status_code == 200
    assert '<div class="tm-body">The body of A note</div>' in response.text
    assert "tm-media" not in response.text


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
            update(ShareLink)
            .where(ShareLink.key == key_of(message["token"]))
            .values(revoked_at=utcnow())
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
            .where(ShareLink.key == key_of(message["token"]))
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


def og(html: str) -> dict[str, str]:
    """Open Graph and Twitter card tags of a page."""
    found = re.findall(
        r'<meta (?:property|name)="((?:og|twitter|video):[a-z_:]+)" content="([^"]*)"', html
    )
    return dict(found)


async def test_link_preview_tags_and_oembed_then_nothing_once_revoked(world: World) -> None:
    message = await create_message(world, "Roadmap <v2>", kind="video")
    await set_message(world, message["id"], status=MessageStatus.ready, duration=42.4)
    await add_renditions(world, message["id"], "video", "poster")
    token = message["token"]
    url = f"http://relay.test/s/{token}"
    async with world.anonymous() as client:
        page = await client.get(f"/s/{token}", headers=HTML)
        tags = og(page.text)
        assert tags["og:title"] == "Roadmap &lt;v2&gt;"
        assert tags["og:description"] == "Video message · 0:42 · from Author"
        assert tags["og:image"] == f"{url}/media/{message['id']}/poster"
        assert tags["og:url"] == url and tags["og:type"] == "video.other"
        assert tags["twitter:card"] == "summary_large_image"
        assert tags["video:duration"] == "42"
        oembed_link = re.search(
            r'<link rel="alternate" type="application/json\+oembed" href="([^"]+)"', page.text
        )
        assert oembed_link
        embed = await client.get("/oembed", params={"url": url, "format": "json"})
        assert embed.status_code == 200
        assert embed.json() == {
            "version": "1.0",
            "type": "link",
            "provider_name": "Relay",
            "provider_url": "http://relay.test",
            "title": "Roadmap <v2>",
            "author_name": "Author",
            "cache_age": 300,
            "thumbnail_url": f"{url}/media/{message['id']}/poster",
        }
        for params, status in [
            ({"url": url, "format": "xml"}, 501),
            ({"url": "http://elsewhere.test/s/" + token}, 404),
            ({"url": url + "/thread"}, 404),
            ({}, 400),
        ]:
            response = await client.get("/oembed", params=params)
            assert response.status_code == status, params
            assert "Roadmap" not in response.text
            # Errors too come in the one shape, and no cache keeps them.
            assert set(response.json()) == {"error", "detail"}, params
            assert response.headers["cache-control"] == "no-store"
        await world.client.delete(f"/api/links/{token}", headers=world.author.headers)
        gone = await client.get(f"/s/{token}", headers=HTML)
        assert gone.status_code == 410 and og(gone.text) == {} and "Roadmap" not in gone.text
        embed = await client.get("/oembed", params={"url": url})
        assert embed.status_code == 404 and "Roadmap" not in embed.text


async def test_protected_link_previews_reveal_nothing(world: World) -> None:
    message = await create_message(world, "Reorganisation", kind="video")
    link = await world.client.post(
        f"/api/threads/{message['thread_id']}/links",
        json={"passcode": "12345678"},
        headers=world.author.headers,
    )
    token = link.json()["token"]
    async with world.anonymous() as client:
        page = await client.get(f"/s/{token}", headers=HTML)
        embed = await client.get("/oembed", params={"url": f"http://relay.test/s/{token}"})
    assert page.status_code == 401 and "Reorganisation" not in page.text and og(page.text) == {}
    assert embed.status_code == 401 and "Reorganisation" not in embed.text
