"""What a link gives, and nothing more: guest sessions stay below their link and die with it,
nobody is shown a link with more rights than they hold, link members cannot make links,
opening a link joins nothing, tokens are stored hashed, and guests are held to quotas."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from relay import links
from relay.models import ShareLink, WebSession
from tests.conftest import World
from tests.support.pages import HTML, sign_in
from tests.support.threads import auth, become_guest, join_through_page, post, start


async def test_guest_cookie_sent_as_sign_in_cookie_is_no_account_401(world: World) -> None:
    first = await start(world)
    async with world.anonymous() as guest:
        csrf = await become_guest(guest, first["token"])
        cookie = guest.cookies["relay_guest"]
    as_session = {"Cookie": f"relay_session={cookie}", "X-CSRF-Token": csrf}
    async with world.anonymous() as client:
        calls = [
            ("GET", "/api/me", None),
            ("GET", "/api/threads", None),
            ("POST", "/api/messages", {"kind": "text", "body": "hi"}),
            ("POST", f"/api/threads/{first['thread_id']}/links", {"rights": "reply"}),
        ]
        for method, path, body in calls:
            response = await client.request(method, path, json=body, headers=as_session)
            assert response.status_code == 401, (method, path, response.text)
        tus = {**as_session, "Tus-Resumable": "1.0.0", "Upload-Length": "5"}
        assert (await client.post("/api/uploads/", headers=tus)).status_code == 401
        page = await client.get("/", headers={**as_session, **HTML})
        assert page.status_code == 303 and page.headers["location"].startswith("/login")


async def test_revoking_a_link_ends_its_guest_sessions(world: World) -> None:
    first = await start(world)
    async with world.anonymous() as guest:
        await become_guest(guest, first["token"])
        seat = (await guest.get(f"/s/{first['token']}/thread")).json()["me"]
        assert seat["role"] == "guest"
        key = links.key_of(first["token"])
        async with world.services.sessions.begin() as session:
            rows = await session.scalars(select(WebSession).where(WebSession.link_key == key))
            assert len(rows.all()) == 1
        revoked = await world.client.delete(f"/api/links/{first['token']}", headers=auth(world))
        assert revoked.status_code == 204
        async with world.services.sessions.begin() as session:
            rows = await session.scalars(select(WebSession).where(WebSession.link_key == key))
            assert rows.all() == []
        assert (await guest.get(f"/s/{first['token']}/thread")).status_code == 410


async def test_guest_session_lasts_no_longer_than_its_link(world: World) -> None:
    first = await start(world)
    body = {"rights": "reply", "expires_in": 3600}
    link = await post(world, f"/api/threads/{first['thread_id']}/links", body, auth(world))
    async with world.anonymous() as guest:
        await become_guest(guest, link["token"])
    async with world.services.sessions.begin() as session:
        row = await session.scalar(
            select(WebSession).where(WebSession.link_key == links.key_of(link["token"]))
        )
        stored = await session.get(ShareLink, links.key_of(link["token"]))
        assert row is not None and stored is not None
        assert row.expires_at == stored.expires_at


async def test_view_link_visitor_is_never_shown_the_reply_link(world: World) -> None:
    first = await start(world)
    view = await post(
        world,
        f"/api/threads/{first['thread_id']}/links",
        {"rights": "view", "expires_in": 3600, "passcode": "correct horse"},
        auth(world),
    )
    other = auth(world, "other")
    async with sign_in(world, world.other) as colleague:
        unlocked = await colleague.post(
            f"/s/{view['token']}/unlock", data={"passcode": "correct horse"}
        )
        assert unlocked.status_code == 303
        assert (await join_through_page(colleague, view["token"])).status_code == 303
        page = await colleague.get(f"/t/{first['thread_id']}", headers=HTML)
        assert page.status_code == 200 and first["token"] not in page.text
    thread = (await world.client.get(f"/api/threads/{first['thread_id']}", headers=other)).json()
    assert thread["me"]["role"] == "viewer" and thread["me"]["can_share"] is False
    assert [m["share_url"] for m in thread["messages"]] == [view["url"]]
    message = (await world.client.get(f"/api/messages/{first['id']}", headers=other)).json()
    assert message["share_url"] == view["url"]
    # The view link dies: so does everything it gave.
    await world.client.delete(f"/api/links/{view['token']}", headers=auth(world))
    gone = await world.client.get(f"/api/threads/{first['thread_id']}", headers=other)
    assert gone.status_code == 404
    assert (
        await world.client.get(f"/api/messages/{first['id']}", headers=other)
    ).status_code == 404


async def test_member_through_a_link_cannot_make_links_until_they_reply_403(
    world: World,
) -> None:
    first = await start(world)
    other = auth(world, "other")
    async with sign_in(world, world.other) as colleague:
        assert (await join_through_page(colleague, first["token"])).status_code == 303
    links_url = f"/api/threads/{first['thread_id']}/links"
    seat = (await world.client.get(f"/api/threads/{first['thread_id']}", headers=other)).json()
    assert seat["me"]["role"] == "member" and seat["me"]["can_share"] is False
    refused = await world.client.post(links_url, json={"rights": "view"}, headers=other)
    assert refused.status_code == 403
    assert (await world.client.get(links_url, headers=other)).status_code == 403
    # Replying makes the membership permanent, and a permanent member may share.
    reply = {"kind": "text", "body": "count me in", "parent_id": first["id"]}
    await post(world, "/api/messages", reply, other)
    made = await world.client.post(links_url, json={"rights": "view"}, headers=other)
    assert made.status_code == 201


async def test_opening_a_link_joins_nothing_but_listening_does(world: World) -> None:
    first = await start(world, duration=20.0)
    other = auth(world, "other")
    async with sign_in(world, world.other) as colleague:
        assert (await colleague.get(f"/s/{first['token']}", headers=HTML)).status_code == 200
        assert (await colleague.get(f"/s/{first['token']}/thread")).status_code == 200
        assert (await world.client.get("/api/threads", headers=other)).json()["threads"] == []
        thread = (await colleague.get(f"/s/{first['token']}/thread")).json()
        listen = await colleague.put(
            f"/s/{first['token']}/messages/{first['id']}/listen",
            json={"position": 3},
            headers={"X-CSRF-Token": thread["csrf"]},
        )
        assert listen.status_code == 200
    (item,) = (await world.client.get("/api/threads", headers=other)).json()["threads"]
    assert item["id"] == first["thread_id"]


async def test_join_without_the_csrf_token_403(world: World) -> None:
    first = await start(world)
    async with sign_in(world, world.other) as colleague:
        forged = await colleague.post(f"/s/{first['token']}/join", data={"csrf": "forged"})
        assert forged.status_code == 403
    assert (await world.client.get("/api/threads", headers=auth(world, "other"))).json() == {
        "threads": []
    }


async def test_share_tokens_are_stored_hashed_and_shown_only_to_sharers(world: World) -> None:
    first = await start(world)
    made = await post(
        world, f"/api/threads/{first['thread_id']}/links", {"rights": "view"}, auth(world)
    )
    async with world.services.sessions.begin() as session:
        stored = list(await session.scalars(select(ShareLink)))
    assert {link.key for link in stored} == {
        links.key_of(first["token"]),
        links.key_of(made["token"]),
    }
    columns = ShareLink.__table__.columns
    dumped = repr([{c.key: getattr(link, c.key) for c in columns} for link in stored])
    assert first["token"] not in dumped and made["token"] not in dumped
    listing = f"/api/threads/{first['thread_id']}/links"
    owner = (await world.client.get(listing, headers=auth(world))).json()["links"]
    assert [link["token"] for link in owner] == [first["token"], made["token"]]
    admin = (await world.client.get(listing, headers=auth(world, "admin"))).json()["links"]
    assert [link["token"] for link in admin] == [None, None]
    assert [link["id"] for link in admin] == [link["id"] for link in owner]
    # The id (the token's hash) names a link for revoking; it opens nothing itself.
    async with world.anonymous() as client:
        assert (await client.get(f"/s/{owner[1]['id']}/thread")).status_code == 404
    assert (
        await world.client.delete(f"/api/links/{owner[1]['id']}", headers=auth(world))
    ).status_code == 204
    async with world.anonymous() as client:
        assert (await client.get(f"/s/{made['token']}/thread")).status_code == 410


async def test_a_server_with_another_secret_key_shows_no_link_it_cannot_derive(
    world: World,
) -> None:
    first = await start(world)
    secret, world.services.secret = world.services.secret, b"another key"
    try:
        thread = await world.client.get(f"/api/threads/{first['thread_id']}", headers=auth(world))
        assert thread.json()["messages"][0]["share_url"] is None
        async with world.anonymous() as client:  # the link itself still opens
            assert (await client.get(f"/s/{first['token']}/thread")).status_code == 200
    finally:
        world.services.secret = secret


def _limits(world: World, **changes: int) -> None:
    settings = world.services.settings
    world.services.settings = settings.replace(
        limits=dataclasses.replace(settings.limits, **changes)
    )


async def test_new_guests_per_link_per_hour_429(world: World) -> None:
    _limits(world, guests_per_link_hour=2)
    first = await start(world)
    for name in ("Ann", "Bob"):
        async with world.anonymous() as guest:
            await become_guest(guest, first["token"], name)
    async with world.anonymous() as guest:
        refused = await guest.post(f"/s/{first['token']}/guest", json={"name": "Cy"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 3000
    assert "new names" in refused.json()["detail"]


async def test_guest_messages_and_reactions_per_hour_429(world: World) -> None:
    _limits(world, guest_messages_hour=2, guest_reactions_hour=2)
    first = await start(world)
    base = f"/s/{first['token']}"
    async with world.anonymous() as guest:
        csrf = {"X-CSRF-Token": await become_guest(guest, first["token"])}
        for n in range(2):
            sent = await guest.post(
                f"{base}/messages", json={"kind": "text", "body": f"#{n}"}, headers=csrf
            )
            assert sent.status_code == 201
        refused = await guest.post(
            f"{base}/messages", json={"kind": "text", "body": "#3"}, headers=csrf
        )
        assert refused.status_code == 429 and "Retry-After" in refused.headers
        react = f"{base}/messages/{first['id']}/reactions"
        for emoji in ("👍", "🎉"):
            assert (await guest.post(react, json={"emoji": emoji}, headers=csrf)).status_code == 201
        assert (await guest.post(react, json={"emoji": "🙂"}, headers=csrf)).status_code == 429
    # Members are not guests: the author's reactions are not counted.
    for emoji in ("👍", "🎉", "🙂"):
        mine = await world.client.post(
            f"/api/messages/{first['id']}/reactions", json={"emoji": emoji}, headers=auth(world)
        )
        assert mine.status_code == 201
