"""The thread page offers its Share sheet only to those who may share: the thread's owner and
members for good; never view-only members, admins reading, or visitors of a link."""

from __future__ import annotations

from tests.conftest import World
from tests.support.threads import auth, post, start

HTML = {"Accept": "text/html"}


async def test_only_members_who_may_share_get_the_share_button(world: World) -> None:
    first = await start(world)
    view = await post(
        world, f"/api/threads/{first['thread_id']}/links", {"rights": "view"}, auth(world)
    )
    joined = await world.client.post(f"/s/{view['token']}/join", headers=auth(world, "other"))
    assert joined.status_code == 303
    page = f"/t/{first['thread_id']}"
    owner = await world.client.get(page, headers={**HTML, **auth(world)})
    assert 'id="share-open"' in owner.text and 'id="share-sheet"' in owner.text
    viewer = await world.client.get(page, headers={**HTML, **auth(world, "other")})
    assert viewer.status_code == 200 and 'id="share-open"' not in viewer.text
    admin = await world.client.get(page, headers={**HTML, **auth(world, "admin")})
    assert admin.status_code == 200 and 'id="share-open"' not in admin.text
    async with world.anonymous() as visitor:
        link_page = await visitor.get(f"/s/{first['token']}", headers=HTML)
        assert 'id="share-open"' not in link_page.text
