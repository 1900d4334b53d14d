"""A thread costs a fixed number of SQL statements to read or to reply to, however long."""

from __future__ import annotations

import re

from sqlalchemy import event

from tests.conftest import World
from tests.support.threads import auth, become_guest, post, start


class Statements:
    """Counts the SQL statements the database is sent while the block runs, apart from the
    live-event poller's reads, which run in the background on their own clock."""

    def __init__(self, world: World) -> None:
        # Reads have an engine of their own on SQLite (relay.db.create_read_engine).
        binds = {world.services.sessions.kw["bind"], world.services.reads.kw["bind"]}
        self.engines = [bind.sync_engine for bind in binds]
        self.count = 0

    def _seen(self, _conn: object, _cursor: object, statement: str, *_: object) -> None:
        if not re.match(r"\s*SELECT\b.*\bFROM events\b", statement, re.S):
            self.count += 1

    def __enter__(self) -> Statements:
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_: object) -> None:
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._seen)


async def test_a_long_thread_costs_no_more_queries_to_read_or_reply_to(world: World) -> None:
    first = await start(world)
    token = first["token"]
    csrf = await become_guest(world.client, token)
    guest = {"X-CSRF-Token": csrf}
    thread_url = f"/api/threads/{first['thread_id']}"

    async def costs() -> tuple[int, int]:
        with Statements(world) as read:
            assert (await world.client.get(thread_url, headers=auth(world))).status_code == 200
        with Statements(world) as reply:
            await post(world, f"/s/{token}/messages", {"kind": "text", "body": "ok"}, guest)
        return read.count, reply.count

    short = await costs()
    # Reading: (BEGIN on SQLite,) the token, the seat, the share link, the messages with their
    # transcripts, the members, renditions, listens, nameless listeners, reactions, people.
    assert short[0] <= 11, short
    assert short[1] <= 25, short
    for n in range(25):
        body = {"kind": "text", "body": f"reply {n}", "parent_id": first["id"]}
        await post(world, "/api/messages", body, auth(world))
    assert await costs() == short
