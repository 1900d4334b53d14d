"""Helpers of the thread tests: a ready first message, posting, auth headers, media, guests."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from sqlalchemy import update

from relay.enums import MessageStatus
from relay.models import Message, Rendition
from tests.conftest import World

VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"x" * 4000


async def post(world: World, path: str, body: dict, headers: dict) -> dict:
    response = await world.client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def start(world: World, title: str = "Plan for Monday", duration: float = 30.0) -> dict:
    """A ready voice message with an audio rendition: the first message of a thread."""
    message = await post(world, "/api/messages", {"kind": "audio", "title": title}, auth(world))
    async with world.services.sessions.begin() as session:
        await session.execute(
            update(Message)
            .where(Message.id == message["id"])
            .values(status=MessageStatus.ready, duration=duration)
        )
    message["token"] = message["share_url"].rsplit("/", 1)[1]
    return message


def auth(world: World, who: str = "author") -> dict[str, str]:
    return getattr(world, who).headers


async def add_media(world: World, tmp_path: Path, message_id: str) -> str:
    key = f"renditions/{message_id}/audio.m4a"
    source = tmp_path / "audio.m4a"
    source.write_bytes(VIDEO)
    await world.services.storage.put_file(key, source, "audio/mp4")
    async with world.services.sessions.begin() as session:
        session.add(
            Rendition(
                message_id=message_id, name="audio", storage_key=key, mime="audio/mp4", bytes=4012
            )
        )
    return key


async def become_guest(client: httpx.AsyncClient, token: str, name: str = "Gast") -> str:
    response = await client.post(f"/s/{token}/guest", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()["csrf"]


async def join_through_page(client: httpx.AsyncClient, token: str) -> httpx.Response:
    """A signed-in visitor opens a link's page and presses its "Add to my inbox" button."""
    page = await client.get(f"/s/{token}", headers={"Accept": "text/html"})
    assert page.status_code == 200, page.text
    form = re.search(
        r'<form[^>]+action="(/s/[^"]+/join)".*?name="csrf" value="([^"]+)"', page.text, re.S
    )
    assert form is not None, "the page offers no 'Add to my inbox' form"
    return await client.post(form.group(1), data={"csrf": form.group(2)})
