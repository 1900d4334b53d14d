"""Numbers from outside (path ids, Last-Event-ID, JSON bodies) are checked before use: bad
ones answer 400 or 404, never 500."""

from __future__ import annotations

import asyncio

import pytest

from relay.inputs import MAX_ID, parse_id
from tests.conftest import World
from tests.support.threads import auth, become_guest, post, start

HUGE = "9" * 23  # past SQLite's and PostgreSQL's 64-bit integers


@pytest.mark.parametrize(
    "raw", ["²", "١٢", HUGE, str(MAX_ID + 1), "-1", "+1", " 1", "1_0", "0x1", "", "1.0"]
)
def test_parse_id_refuses_what_is_not_a_plain_bounded_number(raw: str) -> None:
    assert parse_id(raw) is None


def test_parse_id_reads_plain_numbers_up_to_64_bits() -> None:
    assert parse_id("0") == 0
    assert parse_id("42") == 42
    assert parse_id(str(MAX_ID)) == MAX_ID
    assert parse_id(None) is None


@pytest.mark.parametrize("reaction", ["%C2%B2", HUGE, "-1", "1e3"])
async def test_deleting_a_reaction_by_a_bad_id_is_404(world: World, reaction: str) -> None:
    first = await start(world)
    member = await world.client.delete(
        f"/api/messages/{first['id']}/reactions/{reaction}", headers=auth(world)
    )
    assert member.status_code == 404, member.text
    async with world.anonymous() as client:
        csrf = await become_guest(client, first["token"])
        guest = await client.delete(
            f"/s/{first['token']}/messages/{first['id']}/reactions/{reaction}",
            headers={"X-CSRF-Token": csrf},
        )
    assert guest.status_code == 404, guest.text


@pytest.mark.parametrize("value", ["%C2%B2", HUGE, "-5", "abc"])
async def test_events_with_a_bad_last_event_id_are_400(world: World, value: str) -> None:
    first = await start(world)
    async with world.anonymous() as client:
        by_link = await asyncio.wait_for(
            client.get(f"/s/{first['token']}/events?last_event_id={value}"), 10
        )
    member = await asyncio.wait_for(
        world.client.get(
            f"/api/threads/{first['thread_id']}/events",
            headers={**auth(world), "Last-Event-ID": value},
        ),
        10,
    )
    for response in (by_link, member):
        assert response.status_code == 400, response.text
        assert "Last-Event-ID" in response.json()["detail"]


@pytest.mark.parametrize(
    "raw",
    [
        '{"kind": "text", "body": "x", "at": ' + "9" * 5000 + "}",
        '{"kind": "text", "body": "x", "at": NaN}',
        '{"kind": "text", "body": "x", "at": -Infinity}',
        '{"kind": "text", "body": "x", "at": 1e999}',
        '{"kind": "text", "body": "x", "at": ' + HUGE + "}",
    ],
)
async def test_json_with_a_number_out_of_range_is_400(world: World, raw: str) -> None:
    first = await start(world)
    raw = raw.replace('"x"', f'"x", "parent_id": "{first["id"]}"')
    response = await world.client.post(
        "/api/messages",
        content=raw.encode(),
        headers={**auth(world), "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text


async def test_segment_position_out_of_range_is_400_or_404(world: World) -> None:
    first = await start(world)
    for position in (HUGE, "²", "-1"):
        response = await world.client.patch(
            f"/api/messages/{first['id']}/transcript/segments/{position}",
            json={"text": "hello"},
            headers=auth(world),
        )
        assert response.status_code in (400, 404), (position, response.text)


async def test_link_expiry_far_past_the_limit_is_400(world: World) -> None:
    first = await start(world)
    for expires_in in (10**30, 1e308):
        response = await world.client.post(
            f"/api/threads/{first['thread_id']}/links",
            json={"expires_in": expires_in},
            headers=auth(world),
        )
        assert response.status_code == 400, response.text
    made = await post(
        world, f"/api/threads/{first['thread_id']}/links", {"expires_in": 3600}, auth(world)
    )
    assert made["live"]
