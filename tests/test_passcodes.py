"""Passcode links on both stacks: nothing before the passcode; 10 wrong guesses per link and
client address and 100 per link in 10 minutes, counted in the database so that every relay
instance shares them; passcodes have at least 8 characters."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select, update

from relay.db import utcnow
from relay.models import Throttle
from tests.conftest import World
from tests.support.pages import HTML
from tests.support.threads import add_media, auth, post, start

PASSCODE = "tulip-42"


async def protected_link(world: World, title: str = "Plan for Monday") -> str:
    first = await start(world, title)
    link = await post(
        world,
        f"/api/threads/{first['thread_id']}/links",
        {"rights": "view", "passcode": PASSCODE},
        auth(world),
    )
    return link["token"]


def from_address(world: World, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=world.app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://relay.test")


async def guess(
    client: httpx.AsyncClient, token: str, passcode: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post(f"/s/{token}/unlock", data={"passcode": passcode}, headers=headers)


async def guess_wrong(client: httpx.AsyncClient, token: str, times: int) -> None:
    for n in range(times):
        assert (await guess(client, token, f"guess-{n}")).status_code == 401


async def counts(world: World) -> dict[str, int]:
    async with world.services.sessions.begin() as session:
        return {row.key: row.count for row in await session.scalars(select(Throttle))}


async def test_passcode_protects_page_json_and_media(world: World, tmp_path: Path) -> None:
    first = await start(world, "Salary review")
    await add_media(world, tmp_path, first["id"])
    link = await post(
        world,
        f"/api/threads/{first['thread_id']}/links",
        {"rights": "view", "passcode": PASSCODE},
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
        wrong = await guess(client, token, "tulip-43")
        assert wrong.status_code == 401 and "Salary review" not in wrong.text
        right = await guess(client, token, PASSCODE)
        assert right.status_code == 303
        assert (await client.get(f"/s/{token}/thread")).json()["title"] == "Salary review"


async def test_eleventh_guess_from_one_address_429_counted_in_database(world: World) -> None:
    token = await protected_link(world)
    async with from_address(world, "198.51.100.1") as client:
        await guess_wrong(client, token, 10)
        blocked = await guess(client, token, PASSCODE, headers=HTML)
    assert blocked.status_code == 429 and 0 < int(blocked.headers["retry-after"]) <= 600
    assert "Too many wrong passcodes from here. Wait 10 min and try again." in blocked.text
    # The count is in the database, so another relay instance refuses too; it ends with the
    # window, and the right passcode then clears it.
    # Keyed by the token's digest: the database never holds a token readable.
    digest = hashlib.sha256(token.encode()).hexdigest()
    address, link = f"passcode:{digest}:198.51.100.1", f"passcode:{digest}"
    assert await counts(world) == {address: 10, link: 10}
    async with world.services.sessions.begin() as session:
        await session.execute(update(Throttle).values(since=utcnow() - timedelta(minutes=11)))
    async with from_address(world, "198.51.100.1") as client:
        assert (await guess(client, token, PASSCODE)).status_code == 303
    assert await counts(world) == {link: 0}


async def test_wrong_guesses_from_one_address_leave_the_holder_free(world: World) -> None:
    token = await protected_link(world)
    async with from_address(world, "198.51.100.1") as stranger:
        await guess_wrong(stranger, token, 10)
        assert (await guess(stranger, token, PASSCODE)).status_code == 429
    async with from_address(world, "203.0.113.9") as holder:
        assert (await guess(holder, token, "typo-42")).status_code == 401
        assert (await guess(holder, token, PASSCODE)).status_code == 303
        assert (await holder.get(f"/s/{token}/thread")).status_code == 200


async def test_link_refuses_every_address_after_a_hundred_wrong_guesses(world: World) -> None:
    token = await protected_link(world)
    for n in range(10):
        async with from_address(world, f"198.51.100.{n + 1}") as client:
            await guess_wrong(client, token, 10)
    async with from_address(world, "203.0.113.9") as holder:
        blocked = await guess(holder, token, PASSCODE, headers=HTML)
    assert blocked.status_code == 429 and 0 < int(blocked.headers["retry-after"]) <= 600
    assert "Too many wrong passcodes for this link. Wait 10 min and try again." in blocked.text


async def test_right_passcode_clears_the_addresses_wrong_guesses(world: World) -> None:
    token = await protected_link(world)
    async with from_address(world, "198.51.100.1") as client:
        await guess_wrong(client, token, 9)
        assert (await guess(client, token, PASSCODE)).status_code == 303
        await guess_wrong(client, token, 10)
        assert (await guess(client, token, PASSCODE)).status_code == 429


async def test_parallel_passcode_guesses_get_ten_between_them(world: World) -> None:
    token = await protected_link(world)
    async with world.anonymous() as client:
        guesses = [guess(client, token, f"guess-{n}") for n in range(16)]
        answers = sorted(r.status_code for r in await asyncio.gather(*guesses))
    assert answers == [401] * 10 + [429] * 6


async def test_passcode_429_page_reads_in_dutch(world: World) -> None:
    token = await protected_link(world)
    dutch = {**HTML, "Accept-Language": "nl"}
    async with world.anonymous() as client:
        await guess_wrong(client, token, 10)
        blocked = await guess(client, token, PASSCODE, headers=dutch)
    assert blocked.status_code == 429 and '<html lang="nl">' in blocked.text
    assert "Te veel verkeerde toegangscodes vanaf hier. Wacht 10 min" in blocked.text
    assert 'name="passcode"' in blocked.text


async def test_passcode_under_8_characters_400_with_a_readable_reason(world: World) -> None:
    first = await start(world)
    links = f"/api/threads/{first['thread_id']}/links"
    for passcode in ("1234567", "x" * 129):
        response = await world.client.post(links, json={"passcode": passcode}, headers=auth(world))
        assert response.status_code == 400
        assert response.json()["detail"] == "A passcode must have 8 to 128 characters."
    await post(world, links, {"passcode": "12345678"}, auth(world))
