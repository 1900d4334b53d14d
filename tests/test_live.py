"""Live updates: the event hub against real databases, and the SSE stream through uvicorn."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relay import events
from relay import hub as live_hub
from relay.context import Services
from relay.db import create_engine
from relay.errors import BadRequest
from relay.hub import EventHub, LiveEvent, Subscription, _Cursor
from relay.models import Event
from relay.web import sse as live_sse
from tests.support.server import free_port

POLL = 0.05


async def emit(services: Services, thread_id: str, kind: str = "message", n: int = 1) -> list[int]:
    """Commit n events in one transaction; their ids."""
    async with services.sessions.begin() as session:
        for _ in range(n):
            events.emit(session, thread_id, kind, "m1")
        added = [row for row in session.new if isinstance(row, Event)]
        await session.flush()
    return sorted(row.id for row in added)


async def emit_later(services: Services, thread_id: str, kind: str = "message") -> list[int]:
    await asyncio.sleep(0.3)
    return await emit(services, thread_id, kind)


@asynccontextmanager
async def running_hub(services: Services) -> AsyncIterator[EventHub]:
    hub = EventHub(services.engine, poll_seconds=POLL)
    await hub.start()
    try:
        yield hub
    finally:
        await hub.stop()


async def drain(subscription: Subscription, wait: float = 0.3) -> list[LiveEvent]:
    got = []
    while (event := await subscription.get(wait)) is not None:
        got.append(event)
    return got


# Cursor (pure) ------------------------------------------------------------------------------


def test_cursor_remembers_skipped_ids_until_they_expire() -> None:
    cursor = _Cursor(last=10)
    cursor.advance([11, 14], now=0.0)
    assert (cursor.last, set(cursor.gaps)) == (14, {12, 13})
    cursor.advance([12], now=1.0)
    assert set(cursor.gaps) == {13}
    cursor.advance([], now=live_hub.GAP_SECONDS + 1)
    assert (cursor.last, cursor.gaps) == (14, {})


def test_format_event_is_one_sse_block() -> None:
    text = live_sse.format_event(LiveEvent(7, "t1", "message", "m1"))
    assert text == (
        'id: 7\nevent: message\ndata: {"id":7,"thread_id":"t1","kind":"message",'
        '"message_id":"m1"}\n\n'
    )
    assert not live_sse.format_event(LiveEvent(7, "t1", "message"), with_id=False).startswith("id")


# Hub on real databases --------------------------------------------------------------------


async def test_event_reaches_subscriber_of_its_thread_only(services: Services) -> None:
    async with running_hub(services) as hub:
        mine = await hub.subscribe({"thread-a"})
        other = await hub.subscribe({"thread-b"})
        [event_id] = await emit(services, "thread-a")
        event = await mine.get(1.0)
        assert event == LiveEvent(event_id, "thread-a", "message", "m1")
        assert await other.get(3 * POLL) is None
        mine.close()
        other.close()
        assert hub.subscribers == 0


async def test_two_hubs_on_one_database_both_deliver(services: Services) -> None:
    second_engine = create_engine(services.settings.database_url)
    second = EventHub(second_engine, poll_seconds=POLL)
    await second.start()
    try:
        async with running_hub(services) as first:
            subscriptions = [await first.subscribe({"t"}), await second.subscribe({"t"})]
            [event_id] = await emit(services, "t")
            got = [await subscription.get(1.0) for subscription in subscriptions]
            assert [event.id for event in got if event] == [event_id, event_id]
    finally:
        await second.stop()
        await second_engine.dispose()


async def test_replay_gives_missed_events_once_then_live_ones(services: Services) -> None:
    async with running_hub(services) as hub:
        seen, *missed = await emit(services, "t", n=4)
        await emit(services, "elsewhere")
        # The poller has not run yet: the missed events come both from the replay and live.
        subscription = await hub.subscribe({"t"}, after_id=seen)
        got = await drain(subscription)
        assert [event.id for event in got] == missed
        later = await emit(services, "t", n=2)
        assert [event.id for event in await drain(subscription)] == later


async def test_replay_of_too_many_events_is_one_resync(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_hub, "REPLAY_LIMIT", 3)
    async with running_hub(services) as hub:
        seen, *missed = await emit(services, "t", n=6)
        subscription = await hub.subscribe({"t"}, after_id=seen)
        got = await drain(subscription)
        assert got == [LiveEvent(missed[-1], None, live_hub.RESYNC)]


async def test_slow_subscriber_overflows_into_resync(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_hub, "QUEUE_SIZE", 3)
    async with running_hub(services) as hub:
        subscription = await hub.subscribe({"t"})
        ids = await emit(services, "t", n=6)
        await asyncio.sleep(5 * POLL)
        got = await drain(subscription)
        # Four overflowed the queue of three: a resync at the fourth, then the rest.
        assert got == [
            LiveEvent(ids[3], None, live_hub.RESYNC),
            *(LiveEvent(id_, "t", "message", "m1") for id_ in ids[4:]),
        ]


async def test_hub_refuses_subscribers_beyond_its_cap(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_hub, "MAX_SUBSCRIBERS", 1)
    async with running_hub(services) as hub:
        first = await hub.subscribe({"t"})
        with pytest.raises(live_hub.HubFull):
            await hub.subscribe({"t"})
        first.close()
        (await hub.subscribe({"t"})).close()


# SSE through a real server ----------------------------------------------------------------


class Access:
    allowed = True

    async def check(self) -> bool:
        return self.allowed


def sse_app(database_url: str, access: Access) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, EventHub]]:
        engine = create_engine(database_url)
        hub = EventHub(engine, poll_seconds=POLL)
        await hub.start()
        yield {"hub": hub}
        await hub.stop()
        await engine.dispose()

    async def stream(request: Request) -> Response:
        thread_id = request.path_params["thread_id"]
        return await live_sse.sse_response(
            request, request.state.hub, {thread_id}, still_allowed=access.check
        )

    return Starlette(routes=[Route("/events/{thread_id}", stream)], lifespan=lifespan)


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """uvicorn on its own loop in a thread: httpx's ASGI transport buffers whole responses."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 10)


async def sse_lines(
    base: str, path: str, until: Callable[[list[str]], bool], **headers: str
) -> tuple[httpx.Response, list[str]]:
    lines: list[str] = []
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        async with client.stream("GET", path, headers=headers) as response:
            if response.status_code != 200:
                await response.aread()
                return response, lines
            async for line in response.aiter_lines():
                lines.append(line)
                if until(lines):
                    break
    return response, lines


def blocks(lines: list[str]) -> list[str]:
    return "\n".join(lines).split("\n\n")


@pytest.fixture
async def sse(services: Services) -> AsyncIterator[tuple[str, Access]]:
    access = Access()
    async with serving(sse_app(services.settings.database_url, access)) as base:
        yield base, access


async def test_sse_streams_replay_then_live_events_in_wire_format(
    services: Services, sse: tuple[str, Access]
) -> None:
    base, _ = sse
    seen, missed = await emit(services, "t", n=2)

    later = asyncio.create_task(emit_later(services, "t"))
    response, lines = await sse_lines(
        base,
        "/events/t",
        lambda got: sum(line.startswith("data:") for line in got) == 2,
        **{"Last-Event-ID": str(seen)},
    )
    [live_id] = await later
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-accel-buffering"] == "no"
    assert lines[0] == "retry: 3000"
    data = {"thread_id": "t", "kind": "message", "message_id": "m1"}
    assert lines[2:5] == [
        f"id: {missed}",
        "event: message",
        "data: " + json.dumps({"id": missed} | data, separators=(",", ":")),
    ]
    assert lines[6:8] == [f"id: {live_id}", "event: message"]


def _request(query: str = "", **headers: str) -> Request:
    raw = [
        (name.lower().replace("_", "-").encode(), value.encode()) for name, value in headers.items()
    ]
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "query_string": query.encode(),
            "headers": raw,
        }
    )


def test_last_event_id_comes_from_the_header_or_the_query_and_refuses_other_text() -> None:
    assert live_sse.last_event_id(_request()) is None
    assert live_sse.last_event_id(_request("last_event_id=7")) == 7
    assert live_sse.last_event_id(_request(last_event_id="9")) == 9
    for bad in ["nope", "%C2%B2", "-1", "9" * 23]:
        with pytest.raises(BadRequest, match="Last-Event-ID"):
            live_sse.last_event_id(_request(f"last_event_id={bad}"))
    assert live_sse.last_event_id(_request("last_event_id=3", last_event_id="9")) == 9
    with pytest.raises(BadRequest, match="Last-Event-ID"):
        live_sse.last_event_id(_request("last_event_id=-427", last_event_id="8"))


async def test_sse_sends_revoked_and_ends_when_access_is_gone(
    services: Services, sse: tuple[str, Access]
) -> None:
    base, access = sse

    access.allowed = False  # checked again when a link event comes
    task = asyncio.create_task(emit_later(services, "t", "link"))
    _, lines = await sse_lines(base, "/events/t", lambda _: False)  # reads to the end
    await task
    assert lines[-3:-1] == ["event: revoked", 'data: {"kind":"revoked"}']


async def test_sse_pings_while_idle(
    services: Services, sse: tuple[str, Access], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, _ = sse
    monkeypatch.setattr(live_sse, "HEARTBEAT_SECONDS", 0.1)
    _, lines = await sse_lines(base, "/events/t", lambda got: ": ping" in got)
    assert ": ping" in lines


async def test_sse_full_server_answers_503(
    services: Services, sse: tuple[str, Access], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, _ = sse
    monkeypatch.setattr(live_hub, "MAX_SUBSCRIBERS", 0)
    response, _ = await sse_lines(base, "/events/t", lambda _: True)
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"
