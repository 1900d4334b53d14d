"""Threads on both stacks: replies in order, share links with rights, expiry and revocation,
guests bound to their link, listening state, reactions, the inbox, deletion. (Passcodes are in
test_passcodes.py, statement counts in test_thread_queries.py.)"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select

from relay.models import Event
from tests.conftest import World
from tests.support.pages import HTML, sign_in
from tests.support.threads import add_media, auth, become_guest, join_through_page, post, start


async def test_replies_form_one_thread_in_time_order(world: World) -> None:
    first = await start(world)
    reply = await post(
        world,
        "/api/messages",
        {"kind": "text", "body": "Sounds good", "parent_id": first["id"], "at": 12.5},
        auth(world),
    )
    assert reply["thread_id"] == first["thread_id"]
    thread = await world.client.get(f"/api/threads/{first['thread_id']}", headers=auth(world))
    body = thread.json()
    assert [m["id"] for m in body["messages"]] == [first["id"], reply["id"]]
    assert body["messages"][1]["at"] == 12.5 and body["messages"][1]["parent_id"] == first["id"]
    assert body["title"] == "Plan for Monday"
    assert body["me"]["role"] == "owner" and body["me"]["can_share"]
    # A moment past the end of the parent, and another user's message as parent.
    late = await world.client.post(
        "/api/messages",
        json={"kind": "text", "body": "x", "parent_id": first["id"], "at": 31},
        headers=auth(world),
    )
    assert late.status_code == 400 and "within the parent" in late.json()["detail"]
    foreign = await world.client.post(
        "/api/messages",
        json={"kind": "text", "body": "x", "parent_id": first["id"]},
        headers=auth(world, "other"),
    )
    assert foreign.status_code == 404
    assert "Plan for Monday" not in foreign.text


async def test_links_have_rights_expiry_and_can_be_revoked(world: World, tmp_path: Path) -> None:
    first = await start(world)
    await add_media(world, tmp_path, first["id"])
    links_url = f"/api/threads/{first['thread_id']}/links"
    view = await post(world, links_url, {"rights": "view", "expires_in": 3600}, auth(world))
    assert view["rights"] == "view" and view["expires_at"] and view["live"]
    for bad, detail in [
        ({"rights": "admin"}, "'rights'"),
        ({"expires_in": 10}, "'expires_in'"),
        ({"expires_in": "soon"}, "'expires_in'"),
        ({"passcode": "12"}, "passcode"),
        ({"label": "x" * 201}, "'label'"),
        ({"message_id": "nope"}, "No such message"),
    ]:
        response = await world.client.post(links_url, json=bad, headers=auth(world))
        assert response.status_code in (400, 404), (bad, response.text)
        assert detail in response.json()["detail"], bad
    listed = (await world.client.get(links_url, headers=auth(world))).json()["links"]
    assert {link["token"] for link in listed} == {first["token"], view["token"]}
    async with world.anonymous() as client:
        thread = await client.get(f"/s/{view['token']}/thread")
        assert thread.status_code == 200
        assert thread.json()["me"] == {
            "id": None,
            "name": None,
            "role": "visitor",
            "can_reply": False,
            "can_share": False,
            "needs_name": False,
        }
        media = f"/s/{view['token']}/media/{first['id']}/audio"
        assert (await client.get(media)).status_code in (200, 302)
        reply = await client.post(f"/s/{view['token']}/guest", json={"name": "Ann"})
        assert reply.status_code == 403
        revoked = await world.client.delete(f"/api/links/{view['token']}", headers=auth(world))
        assert revoked.status_code == 204
        for path in (f"/s/{view['token']}/thread", media, f"/s/{view['token']}"):
            gone = await client.get(path, headers=HTML)
            assert gone.status_code == 410, path
            assert "Plan for Monday" not in gone.text
    # Revoking twice is fine; revoking someone else's link is not.
    again = await world.client.delete(f"/api/links/{view['token']}", headers=auth(world))
    assert again.status_code == 204
    foreign = await world.client.delete(
        f"/api/links/{first['token']}", headers=auth(world, "other")
    )
    assert foreign.status_code == 404


async def test_guest_replies_only_through_their_link(world: World) -> None:
    first = await start(world)
    other_thread = await start(world, "Another thread")
    token = first["token"]
    async with world.anonymous() as client:
        for bad in ["", " " * 5, "x" * 61, "Ann\x00", "Bob\u202e"]:
            response = await client.post(f"/s/{token}/guest", json={"name": bad})
            assert response.status_code == 400, repr(bad)
        form = await client.post(f"/s/{token}/guest", data={"name": "Ann"})
        assert form.status_code == 400
        before = (await client.get(f"/s/{token}/thread")).json()["me"]
        assert before["needs_name"] and not before["can_reply"]
        csrf = await become_guest(client, token, "Anna de Vries")
        cookie = client.cookies.jar
        assert all(c.path == f"/s/{token}" for c in cookie if c.name == "relay_guest")
        no_csrf = await client.post(f"/s/{token}/messages", json={"kind": "text", "body": "hoi"})
        assert no_csrf.status_code == 403
        reply = await client.post(
            f"/s/{token}/messages",
            json={"kind": "text", "body": "Prima, tot maandag"},
            headers={"X-CSRF-Token": csrf},
        )
        assert reply.status_code == 201, reply.text
        assert reply.json()["author"] == {
            "id": reply.json()["author"]["id"],
            "name": "Anna de Vries",
            "guest": True,
        }
        guest_cookie = next(c.value for c in cookie if c.name == "relay_guest")
    # The guest's cookie means nothing on another link or on the API.
    spoofed = {"Cookie": f"relay_guest={guest_cookie}", "X-CSRF-Token": csrf}
    async with world.anonymous() as client:
        elsewhere = await client.get(f"/s/{other_thread['token']}/thread", headers=spoofed)
        assert elsewhere.json()["me"]["role"] == "visitor"
        api = await client.get("/api/threads", headers=spoofed)
        assert api.status_code == 401
        post_elsewhere = await client.post(
            f"/s/{other_thread['token']}/messages",
            json={"kind": "text", "body": "x"},
            headers=spoofed,
        )
        assert post_elsewhere.status_code == 403
    thread = await world.client.get(f"/api/threads/{first['thread_id']}", headers=auth(world))
    names = [m["author"]["name"] for m in thread.json()["messages"]]
    assert names == ["Author", "Anna de Vries"]
    # Revoking the link ends the guest's part at once.
    await world.client.delete(f"/api/links/{token}", headers=auth(world))
    async with world.anonymous() as client:
        late = await client.post(
            f"/s/{token}/messages", json={"kind": "text", "body": "x"}, headers=spoofed
        )
        assert late.status_code == 410


async def test_guest_voice_reply_uploads_through_the_link(world: World) -> None:
    first = await start(world)
    token = first["token"]
    async with world.anonymous() as client:
        csrf = await become_guest(client, token)
        created = await client.post(
            f"/s/{token}/messages", json={"kind": "audio"}, headers={"X-CSRF-Token": csrf}
        )
        assert created.status_code == 201
        upload = created.json()["upload_url"]
        assert f"/s/{token}/uploads/" in upload
        tus = {"Tus-Resumable": "1.0.0", "X-CSRF-Token": csrf}
        patch = await client.patch(
            upload,
            content=b"\x1a\x45\xdf\xa3" + b"0" * 100,
            headers={
                **tus,
                "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": "0",
                "Upload-Length": "104",
            },
        )
        assert patch.status_code == 204 and patch.headers["upload-offset"] == "104"
    # The upload belongs to the guest: the author cannot touch it through the API.
    upload_id = upload.rsplit("/", 1)[1]
    head = await world.client.head(
        f"/api/uploads/{upload_id}", headers={**auth(world), "Tus-Resumable": "1.0.0"}
    )
    assert head.status_code == 404
    message = await world.client.get(f"/api/messages/{created.json()['id']}", headers=auth(world))
    assert message.json()["status"] == "processing"


async def test_listening_state_seen_by_unread_and_waiting(world: World) -> None:
    first = await start(world, duration=20.0)
    link = first["token"]
    async with sign_in(world, world.other) as colleague:
        page = await colleague.get(f"/s/{link}", headers=HTML)
        assert page.status_code == 200
        csrf = re.search(r'"csrf": "([^"]+)"', page.text)
        # Opening a link adds nothing to an inbox (any site can make a browser open one) ...
        inbox = (await world.client.get("/api/threads", headers=auth(world, "other"))).json()
        assert inbox["threads"] == []
        assert csrf is not None
        # ... the page's "Add to my inbox" does.
        joined = await join_through_page(colleague, link)
        assert joined.status_code == 303
        assert joined.headers["location"] == f"/t/{first['thread_id']}"
    inbox = (await world.client.get("/api/threads", headers=auth(world, "other"))).json()
    (item,) = inbox["threads"]
    assert item["id"] == first["thread_id"] and item["unread"] == 1 and item["waiting_on_you"]
    thread_url = f"/api/threads/{first['thread_id']}"
    listen_url = f"/api/messages/{first['id']}/listen"
    listen = auth(world, "other")
    for bad in [{"position": -1}, {"position": 25}, {"position": "x"}, {"heard": "yes"}]:
        response = await world.client.put(listen_url, json=bad, headers=listen)
        assert response.status_code == 400, bad
    assert (await world.client.put(listen_url, json={"position": 8}, headers=listen)).json() == {
        "message_id": first["id"],
        "position": 8.0,
        "heard": False,
    }
    # Progress never goes back, and 90 % counts as heard.
    await world.client.put(listen_url, json={"position": 3}, headers=listen)
    seen = (await world.client.get(thread_url, headers=auth(world))).json()["messages"][0]
    assert [(s["name"], s["position"], s["heard"]) for s in seen["seen_by"]] == [
        ("Other", 8.0, False)
    ]
    heard = await world.client.put(listen_url, json={"position": 18.5}, headers=listen)
    assert heard.json()["heard"] is True
    theirs = (await world.client.get(thread_url, headers=listen)).json()
    assert theirs["messages"][0]["seen_by"] == [] and theirs["messages"][0]["new"] is False
    assert theirs["first_unheard"] is None
    # The listener is never told the thread waits on them, nor on the author of the latest.
    assert theirs["waiting_on"] == []
    inbox = (await world.client.get("/api/threads", headers=listen)).json()["threads"]
    assert inbox[0]["unread"] == 0
    # The colleague replies: their membership no longer depends on the link.
    await post(
        world, "/api/messages", {"kind": "text", "body": "ok", "parent_id": first["id"]}, listen
    )
    after = (await world.client.get(thread_url, headers=auth(world))).json()
    assert after["waiting_on"] == []
    replied = (await world.client.get(thread_url, headers=listen)).json()
    assert [w["name"] for w in replied["waiting_on"]] == ["Author"]
    await world.client.delete(f"/api/links/{link}", headers=auth(world))
    assert (await world.client.get(thread_url, headers=listen)).status_code == 200


async def test_link_membership_ends_with_the_link(world: World) -> None:
    first = await start(world)
    view = await post(
        world, f"/api/threads/{first['thread_id']}/links", {"rights": "view"}, auth(world)
    )
    async with sign_in(world, world.other) as colleague:
        assert (await join_through_page(colleague, view["token"])).status_code == 303
    thread_url = f"/api/threads/{first['thread_id']}"
    seat = (await world.client.get(thread_url, headers=auth(world, "other"))).json()["me"]
    assert seat["role"] == "viewer" and not seat["can_reply"]
    await world.client.delete(f"/api/links/{view['token']}", headers=auth(world))
    gone = await world.client.get(thread_url, headers=auth(world, "other"))
    assert gone.status_code == 404
    assert (await world.client.get("/api/threads", headers=auth(world, "other"))).json() == {
        "threads": []
    }


async def test_reactions_are_emoji_within_the_message(world: World) -> None:
    first = await start(world, duration=10.0)
    url = f"/api/messages/{first['id']}/reactions"
    for bad in [
        {"emoji": "lol"},
        {"emoji": "<b>👍</b>"},
        {"emoji": "👍" * 11},
        {"emoji": 5},
        {"emoji": "👍", "at": 11},
        {"emoji": "👍", "at": True},
    ]:
        response = await world.client.post(url, json=bad, headers=auth(world))
        assert response.status_code == 400, bad
    made = await post(world, url, {"emoji": "👩🏽‍💻", "at": 4.5}, auth(world))
    thread = await world.client.get(f"/api/threads/{first['thread_id']}", headers=auth(world))
    (reaction,) = thread.json()["messages"][0]["reactions"]
    assert reaction["emoji"] == "👩🏽‍💻" and reaction["at"] == 4.5 and reaction["mine"]
    async with world.anonymous() as client:
        csrf = await become_guest(client, first["token"])
        stolen = await client.delete(
            f"/s/{first['token']}/messages/{first['id']}/reactions/{made['id']}",
            headers={"X-CSRF-Token": csrf},
        )
        assert stolen.status_code == 403
    gone = await world.client.delete(f"{url}/{made['id']}", headers=auth(world))
    assert gone.status_code == 204
    missing = await world.client.delete(f"{url}/{made['id']}", headers=auth(world))
    assert missing.status_code == 404


async def test_deleting_a_message_removes_its_media_and_keeps_the_thread(
    world: World, tmp_path: Path
) -> None:
    first = await start(world)
    key = await add_media(world, tmp_path, first["id"])
    reply = await post(
        world,
        "/api/messages",
        {"kind": "text", "body": "later", "parent_id": first["id"]},
        auth(world),
    )
    deleted = await world.client.delete(f"/api/messages/{first['id']}", headers=auth(world))
    assert deleted.status_code == 204
    assert await world.services.storage.size(key) is None
    async with world.anonymous() as client:
        thread = await client.get(f"/s/{first['token']}/thread")
        assert [m["id"] for m in thread.json()["messages"]] == [reply["id"]]
        media = await client.get(f"/s/{first['token']}/media/{first['id']}/audio")
        assert media.status_code == 404
    # The last message takes the thread, its links and memberships with it.
    await world.client.delete(f"/api/messages/{reply['id']}", headers=auth(world))
    async with world.anonymous() as client:
        assert (await client.get(f"/s/{first['token']}/thread")).status_code == 404
    assert (
        await world.client.get(f"/api/threads/{first['thread_id']}", headers=auth(world))
    ).status_code == 404


async def test_changes_are_written_as_events(world: World) -> None:
    first = await start(world)
    await post(
        world,
        "/api/messages",
        {"kind": "text", "body": "hi", "parent_id": first["id"]},
        auth(world),
    )
    await post(world, f"/api/messages/{first['id']}/reactions", {"emoji": "🎉"}, auth(world))
    async with world.services.sessions.begin() as session:
        kinds = list(
            await session.scalars(
                select(Event.kind).where(Event.thread_id == first["thread_id"]).order_by(Event.id)
            )
        )
        total = await session.scalar(select(func.count()).select_from(Event))
    assert kinds == ["message", "message", "reaction"] and total == 3


async def test_search_covers_threads_one_takes_part_in(world: World) -> None:
    first = await post(
        world, "/api/messages", {"kind": "text", "body": "Budget for the zeppelin"}, auth(world)
    )
    search = {"params": {"q": "zeppelin"}, "headers": auth(world, "other")}
    assert (await world.client.get("/api/search", **search)).json()["hits"] == []
    async with sign_in(world, world.other) as colleague:
        await join_through_page(colleague, first["share_url"].rsplit("/", 1)[1])
    # Through a link only: not yet searchable. After replying: a member for good.
    assert (await world.client.get("/api/search", **search)).json()["hits"] == []
    body = {"kind": "text", "body": "ok", "parent_id": first["id"]}
    await post(world, "/api/messages", body, auth(world, "other"))
    hits = (await world.client.get("/api/search", **search)).json()["hits"]
    assert [h["message_id"] for h in hits] == [first["id"]]
