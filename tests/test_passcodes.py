"""Passcode links on both stacks: nothing before the passcode, and 10 guesses per link in 10
minutes, counted in the database so that every relay instance shares them."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from relay.models import ShareLink
from tests.conftest import World
from tests.pages_helpers import HTML
from tests.thread_helpers import add_media, auth, post, start


async def test_passcode_protects_page_json_and_media(world: World, tmp_path: Path) -> None:
    first = await start(world, "Salary review")
    await add_media(world, tmp_path, first["id"])
    link = await post(
        world,
        f"/api/threads/{first['thread_id']}/links",
        {"rights": "view", "passcode": "tulip-42"},
        auth(world),
    )
    token = link["token"]
    async with world.anonymous() as client:
        page = await client.get(f"/s/{token}", headers=HTML)
        assert page.status_code == 401 and 'name="passcode"' in page.text
        assert "Salary review" not in page.text
        assert 'property="og:title" content="A protected Relay thread"' not in page.text
        for path in (f"/s/{token}/thread", f"/s/{token}/media/{first['id']}/audio"):
            locked = await client.get(path)
            assert locked.status_code == 401 and locked.json()["error"] == "passcode_required"
        wrong = await client.post(f"/s/{token}/unlock", data={"passcode": "tulip-43"})
        assert wrong.status_code == 401 and "Salary review" not in wrong.text
        right = await client.post(f"/s/{token}/unlock", data={"passcode": "tulip-42"})
        assert right.status_code == 303
        assert (await client.get(f"/s/{token}/thread")).json()["title"] == "Salary review"
    async with world.anonymous() as client:
        for _ in range(10):  # MAX_GUESSES wrong ones within the window
            await client.post(f"/s/{token}/unlock", data={"passcode": "guess"})
        blocked = await client.post(f"/s/{token}/unlock", data={"passcode": "tulip-42"})
        assert blocked.status_code == 429 and 0 < int(blocked.headers["retry-after"]) <= 600
    # The count is in the database, so another relay instance refuses too; it ends with the
    # window, and the right passcode then clears it.
    async with world.services.sessions.begin() as session:
        row = await session.get(ShareLink, token)
        assert row is not None and row.guesses == 10 and row.guesses_since is not None
        row.guesses_since -= timedelta(minutes=11)
    async with world.anonymous() as client:
        right = await client.post(f"/s/{token}/unlock", data={"passcode": "tulip-42"})
        assert right.status_code == 303
    async with world.services.sessions.begin() as session:
        assert (await session.get(ShareLink, token)).guesses == 0


async def test_parallel_passcode_guesses_get_ten_between_them(world: World) -> None:
    first = await start(world)
    link = await post(
        world,
        f"/api/threads/{first['thread_id']}/links",
        {"rights": "view", "passcode": "tulip-42"},
        auth(world),
    )
    async with world.anonymous() as client:
        guesses = [
            client.post(f"/s/{link['token']}/unlock", data={"passcode": f"guess-{n}"})
            for n in range(16)
        ]
        answers = sorted(r.status_code for r in await asyncio.gather(*guesses))
    assert answers == [401] * 10 + [429] * 6
