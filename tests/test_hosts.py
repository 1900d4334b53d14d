"""Absolute URLs never follow a foreign Host header: RELAY_PUBLIC_URL decides when set, and only
the hosts of RELAY_ALLOWED_HOSTS (by default local names and the public URL's host) are
answered at all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from asgi_lifespan import LifespanManager

from relay.settings import Settings, SettingsError
from relay.web.app import create_app
from relay.web.middleware import host_allowed, host_name
from tests.conftest import World, add_person

EVIL = {"Host": "evil.example"}


def test_default_hosts_are_local_names_and_the_public_urls_host() -> None:
    assert Settings().trusted_hosts == ("localhost", "127.0.0.1", "::1")
    public = Settings(public_url="https://Relay.Example.org:8443/")
    assert public.trusted_hosts == ("localhost", "127.0.0.1", "::1", "relay.example.org")
    chosen = Settings(public_url="https://relay.example.org", allowed_hosts=("a.example",))
    assert chosen.trusted_hosts == ("a.example",)


def test_allowed_hosts_come_from_the_environment() -> None:
    env = {"RELAY_ALLOWED_HOSTS": " Relay.Example.org, *.corp.example ,"}
    assert Settings.from_env(env).allowed_hosts == ("relay.example.org", "*.corp.example")
    assert Settings.from_env({"RELAY_ALLOWED_HOSTS": "*"}).trusted_hosts == ("*",)
    assert Settings.from_env({}).allowed_hosts == ()


@pytest.mark.parametrize("value", ["https://relay.example.org", "relay.example.org/x", "a b"])
def test_allowed_hosts_refuse_urls_and_spaces(value: str) -> None:
    with pytest.raises(SettingsError, match="RELAY_ALLOWED_HOSTS"):
        Settings.from_env({"RELAY_ALLOWED_HOSTS": value})


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("relay.test", "relay.test"),
        ("Relay.Test:8000", "relay.test"),
        ("[::1]:8000", "::1"),
        ("[::1]", "::1"),
        ("example.org.", "example.org"),
        ("127.0.0.1:80", "127.0.0.1"),
    ],
)
def test_host_name_drops_port_brackets_and_case(header: str, host: str) -> None:
    assert host_name(header) == host


def test_host_patterns() -> None:
    assert host_allowed("relay.test", ["relay.test"])
    assert host_allowed("a.corp.example", ["*.corp.example"])
    assert not host_allowed("corp.example.evil", ["*.corp.example"])
    assert not host_allowed("evilcorp.example", ["*.corp.example"])
    assert host_allowed("anything", ["*"])
    assert not host_allowed("evil.example", ["relay.test", "localhost"])


async def test_foreign_host_is_refused_before_any_link_is_built(world: World) -> None:
    response = await world.client.post(
        "/api/messages",
        json={"kind": "text", "body": "hi"},
        headers={**world.author.headers, **EVIL},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert "host" in response.json()["detail"].lower()
    assert response.headers["x-content-type-options"] == "nosniff"
    page = await world.client.get("/login", headers=EVIL)
    assert page.status_code == 400 and "evil.example" not in page.text
    ours = await world.client.post(
        "/api/messages", json={"kind": "text", "body": "hi"}, headers=world.author.headers
    )
    assert ours.status_code == 201
    assert ours.json()["share_url"].startswith("http://relay.test/s/")


@asynccontextmanager
async def app_with(
    settings: Settings, base_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, dict]]:
    async with LifespanManager(create_app(settings)) as manager:
        person = await add_person(manager._state["relay"], "ann@example.org")
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client, person.headers


async def test_public_url_alone_decides_absolute_links(settings: Settings) -> None:
    public = settings.replace(public_url="https://relay.example.org", allowed_hosts=())
    async with app_with(public, "http://127.0.0.1:8000") as (client, headers):
        made = await client.post("/api/messages", json={"kind": "audio"}, headers=headers)
        assert made.status_code == 201
        assert made.json()["share_url"].startswith("https://relay.example.org/s/")
        assert made.json()["upload_url"].startswith("https://relay.example.org/api/uploads/")
        behind_proxy = await client.get("/healthz", headers={"Host": "relay.example.org"})
        assert behind_proxy.status_code == 200
        assert (await client.get("/healthz", headers=EVIL)).status_code == 400


async def test_any_host_when_asked_for_with_a_star(settings: Settings) -> None:
    anything = settings.replace(allowed_hosts=("*",))
    async with app_with(anything, "http://relay.test") as (client, headers):
        made = await client.post(
            "/api/messages", json={"kind": "text", "body": "x"}, headers={**headers, **EVIL}
        )
        assert made.status_code == 201
        # Documented as unsafe: links then follow whatever Host the request names.
        assert made.json()["share_url"].startswith("http://evil.example/s/")
