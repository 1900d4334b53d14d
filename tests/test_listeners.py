"""Listening through a link without a name: counted per browser by a signed cookie of the
link, shown to the author as a number, named once the visitor gives a name, kept after the
link is revoked, and limited per link and hour."""

from __future__ import annotations

import asyncio
import dataclasses

from relay import listeners
from tests.conftest import World
from tests.support.threads import auth, post, start


def listen_url(first: dict, token: str | None = None) -> str:
    return f"/s/{token or first['token']}/messages/{first['id']}/listen"


async def author_view(world: World, first: dict) -> dict:
    thread = await world.client.get(f"/api/threads/{first['thread_id']}", headers=auth(world))
    return thread.json()["messages"][0]


async def test_nameless_listeners_are_counted_once_each_for_the_author(world: World) -> None:
    first = await start(world, duration=20.0)
    async with world.anonymous() as one, world.anonymous() as two:
        played = await one.put(listen_url(first), json={"position": 4})
        assert played.status_code == 200, played.text
        assert played.json() == {"message_id": first["id"], "position": 4.0, "heard": False}
        cookie = played.headers["set-cookie"]
        assert f"Path=/s/{first['token']}" in cookie
        assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
        # The same browser again: further, heard, and still one person.
        again = await one.put(listen_url(first), json={"position": 19})
        assert again.json()["heard"] is True and "set-cookie" not in again.headers
        assert (await two.put(listen_url(first), json={"position": 2})).status_code == 200
    message = await author_view(world, first)
    assert message["anonymous_listeners"] == {"count": 2, "heard": 1}
    assert message["seen_by"] == []


async def test_the_link_page_hands_out_the_cookie_before_the_first_report(world: World) -> None:
    first = await start(world)
    async with world.anonymous() as visitor:
        page = await visitor.get(f"/s/{first['token']}", headers={"Accept": "text/html"})
        assert "relay_listener=" in page.headers["set-cookie"]
        # Two reports sent at once by that page count one person.
        for position in (1, 2):
            played = await visitor.put(listen_url(first), json={"position": position})
            assert "set-cookie" not in played.headers
    assert (await author_view(world, first))["anonymous_listeners"]["count"] == 1


async def test_reports_sent_at_once_by_one_browser_make_one_row(world: World) -> None:
    first = await start(world)
    async with world.anonymous() as visitor:
        await visitor.get(f"/s/{first['token']}", headers={"Accept": "text/html"})
        reports = [visitor.put(listen_url(first), json={"position": p}) for p in (1, 2, 3)]
        assert [r.status_code for r in await asyncio.gather(*reports)] == [200, 200, 200]
    message = await author_view(world, first)
    assert message["anonymous_listeners"]["count"] == 1


async def test_made_up_or_other_links_cookies_count_as_new_listeners(world: World) -> None:
    first = await start(world)
    secret = world.services.secret
    other_link = listeners.mint(secret, "0" * 64)
    for cookie in ("made-up.0123", other_link):
        async with world.anonymous() as visitor:
            visitor.cookies.set("relay_listener", cookie, path=f"/s/{first['token']}")
            played = await visitor.put(listen_url(first), json={"position": 1})
            assert "relay_listener=" in played.headers["set-cookie"]
    assert (await author_view(world, first))["anonymous_listeners"]["count"] == 2


async def test_bad_listening_reports_400(world: World) -> None:
    first = await start(world, duration=20.0)
    async with world.anonymous() as visitor:
        for bad in ({"position": "x"}, {"position": -1}, {"position": 99}, {"heard": "yes"}):
            response = await visitor.put(listen_url(first), json=bad)
            assert response.status_code == 400, (bad, response.text)
        form = await visitor.put(listen_url(first), data={"position": "3"})
        assert form.status_code == 400
    assert (await author_view(world, first))["anonymous_listeners"]["count"] == 0


async def test_unknown_link_404_revoked_link_410_and_past_counts_stay(world: World) -> None:
    first = await start(world)
    async with world.anonymous() as visitor:
        unknown = await visitor.put(listen_url(first, "unknown-token-123"), json={"position": 1})
        assert unknown.status_code == 404
        assert (await visitor.put(listen_url(first), json={"position": 1})).status_code == 200
        revoked = await world.client.delete(f"/api/links/{first['token']}", headers=auth(world))
        assert revoked.status_code == 204
        gone = await visitor.put(listen_url(first), json={"position": 2})
        assert gone.status_code == 410
    assert (await author_view(world, first))["anonymous_listeners"]["count"] == 1


async def test_new_listeners_per_link_and_hour_are_limited_429(world: World) -> None:
    settings = world.services.settings
    limits = dataclasses.replace(settings.limits, listeners_per_link_hour=2)
    world.services.settings = settings.replace(limits=limits)
    first = await start(world)
    visitors = [world.anonymous() for _ in range(3)]
    try:
        for visitor in visitors[:2]:
            assert (await visitor.put(listen_url(first), json={"position": 1})).status_code == 200
        refused = await visitors[2].put(listen_url(first), json={"position": 1})
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["Retry-After"]) > 0
        # Those already counted keep reporting.
        assert (await visitors[0].put(listen_url(first), json={"position": 5})).status_code == 200
    finally:
        for visitor in visitors:
            await visitor.aclose()
    assert (await author_view(world, first))["anonymous_listeners"]["count"] == 2


async def test_giving_a_name_turns_the_count_into_a_name(world: World) -> None:
    first = await start(world, duration=20.0)
    async with world.anonymous() as visitor:
        assert (await visitor.put(listen_url(first), json={"position": 19})).status_code == 200
        named = await visitor.post(f"/s/{first['token']}/guest", json={"name": "Gast Jansen"})
        assert named.status_code == 201
        assert 'relay_listener=""' in named.headers.get("set-cookie", "")
    message = await author_view(world, first)
    assert message["anonymous_listeners"] == {"count": 0, "heard": 0}
    (seen,) = message["seen_by"]
    assert (seen["name"], seen["guest"], seen["heard"]) == ("Gast Jansen", True, True)


async def test_the_links_list_says_who_used_each_link(world: World) -> None:
    first = await start(world)
    links_url = f"/api/threads/{first['thread_id']}/links"
    view = await post(world, links_url, {"rights": "view", "label": "Team"}, auth(world))
    assert view["used_by"] == {"names": [], "anonymous": 0} and view["can_revoke"] is True
    async with world.anonymous() as guest, world.anonymous() as nameless:
        assert (await guest.post(f"/s/{first['token']}/guest", json={"name": "Ann"})).is_success
        path = f"/s/{view['token']}/messages/{first['id']}/listen"
        assert (await nameless.put(path, json={"position": 1})).status_code == 200
    found = (await world.client.get(links_url, headers=auth(world))).json()["links"]
    used = {link["id"]: link["used_by"] for link in found}
    assert used[view["id"]] == {"names": [], "anonymous": 1}
    assert {"names": ["Ann"], "anonymous": 0} in used.values()
    theirs = await world.client.get(links_url, headers=auth(world, "other"))
    assert theirs.status_code == 404


def test_cookies_are_signed_for_one_link() -> None:
    secret = b"k" * 32
    cookie = listeners.mint(secret, "a" * 64)
    assert listeners.listener_of(secret, "a" * 64, cookie) is not None
    assert listeners.listener_of(secret, "b" * 64, cookie) is None
    assert listeners.listener_of(b"x" * 32, "a" * 64, cookie) is None
    forged = cookie[:-1] + ("1" if cookie.endswith("0") else "0")
    assert listeners.listener_of(secret, "a" * 64, forged) is None
    assert listeners.listener_of(secret, "a" * 64, None) is None
