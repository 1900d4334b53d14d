"""Live streams per client address: at most RELAY_STREAMS_PER_CLIENT open at once from one
address per process; the next gets 429 with Retry-After, and a closed stream frees its place.
Real streams through uvicorn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import pytest
from asgi_lifespan import LifespanManager

from relay.context import Services
from relay.hub import ClientFull, EventHub
from relay.settings import LimitSettings, Settings
from relay.web.app import create_app
from tests.conftest import Person, add_person
from tests.support.server import on_uvicorn

LIMIT = 3


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[tuple[str, Person, str]]:
    """The app with a small stream limit behind uvicorn on this loop; a person and a thread."""
    limited = settings.replace(limits=LimitSettings(streams_per_client=LIMIT))
    async with LifespanManager(create_app(limited)) as manager:
        person = await add_person(manager._state["relay"], "ann@example.org")
        async with on_uvicorn(manager.app) as base:
            async with httpx.AsyncClient(base_url=base, headers=person.headers) as client:
                made = await client.post("/api/messages", json={"kind": "text", "body": "hi"})
                assert made.status_code == 201, made.text
            yield base, person, made.json()["thread_id"]


@asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient, path: str
) -> AsyncIterator[tuple[httpx.Response, bytes]]:
    """A live stream held open; yields its response and first bytes (or its error body)."""
    async with client.stream("GET", path) as response:
        if response.status_code != 200:
            yield response, await response.aread()
            return
        async for chunk in response.aiter_bytes():
            yield response, chunk
            return


async def test_streams_beyond_the_limit_from_one_address_get_429_until_one_closes(
    settings: Settings,
) -> None:
    async with served(settings) as (base, person, thread_id):
        path = f"/api/threads/{thread_id}/events"
        async with (
            httpx.AsyncClient(base_url=base, headers=person.headers, timeout=10) as client,
            AsyncExitStack() as streams,
        ):
            for _ in range(LIMIT):
                response, first = await streams.enter_async_context(open_stream(client, path))
                assert response.status_code == 200 and first.startswith(b"retry:")
            async with open_stream(client, path) as (refused, body):
                assert refused.status_code == 429
                assert int(refused.headers["retry-after"]) > 0
                assert refused.headers["content-type"] == "application/json"
            detail = httpx.Response(429, content=body).json()["detail"]
            assert f"at most {LIMIT}" in detail
            # One closes: its place is free again (the server notices the closed connection).
            await streams.aclose()
            for _ in range(50):
                async with open_stream(client, path) as (again, _):
                    if again.status_code == 200:
                        break
                await asyncio.sleep(0.1)
            assert again.status_code == 200


@pytest.mark.parametrize("settings", ["embedded"], indirect=True)
async def test_other_addresses_keep_their_own_streams(settings: Settings) -> None:
    async with served(settings) as (base, person, thread_id):
        path = f"/api/threads/{thread_id}/events"
        async with (
            httpx.AsyncClient(base_url=base, headers=person.headers, timeout=10) as client,
            AsyncExitStack() as streams,
        ):
            for _ in range(LIMIT):
                await streams.enter_async_context(open_stream(client, path))
            # Connections from another loopback address are another client.
            transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
            async with (
                httpx.AsyncClient(
                    transport=transport, base_url=base, headers=person.headers, timeout=10
                ) as second,
                open_stream(second, path) as (response, _),
            ):
                assert response.status_code == 200
            async with open_stream(client, path) as (refused, _):
                assert refused.status_code == 429


async def test_hub_counts_listeners_per_client_and_frees_a_place_on_close(
    services: Services,
) -> None:
    hub = EventHub(services.engine, per_client=2)
    await hub.start()
    try:
        held = [await hub.subscribe({"t"}, client="10.0.0.1") for _ in range(2)]
        with pytest.raises(ClientFull):
            await hub.subscribe({"t"}, client="10.0.0.1")
        (await hub.subscribe({"t"}, client="10.0.0.2")).close()
        (await hub.subscribe({"t"})).close()  # no address known: not counted
        held[0].close()
        held[0].close()  # twice frees one place only
        again = await hub.subscribe({"t"}, client="10.0.0.1")
        with pytest.raises(ClientFull):
            await hub.subscribe({"t"}, client="10.0.0.1")
        for subscription in (again, held[1]):
            subscription.close()
        assert hub.subscribers == 0 and hub._by_client == {}
    finally:
        await hub.stop()
