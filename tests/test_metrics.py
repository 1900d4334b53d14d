"""GET /metrics: Prometheus's text format, requests counted by route template (never by a
path with ids in it), the queue and uploads read at scrape time; open to the configured
networks or a bearer token only."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from relay.settings import Settings
from tests.conftest import World
from tests.support.server import TUS, free_port, stack_env, worker
from tests.support.threads import auth, start

TOKEN = "scrape-me-" + "x" * 20


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(metrics_token=TOKEN, metrics_networks=("127.0.0.1/32", "10.0.0.0/8"))


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series, e.g. sample(text, "relay_http_requests_total", route=...)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_requests_are_counted_by_route_template(world: World) -> None:
    first = await start(world)
    before = (await world.client.get("/metrics")).text
    await world.client.get(f"/api/threads/{first['thread_id']}", headers=auth(world))
    await world.client.get("/no/such/page")
    upload = await world.client.post("/api/messages", json={"kind": "audio"}, headers=auth(world))
    await world.client.patch(
        httpx.URL(upload.json()["upload_url"]).path,
        content=b"x" * 1000,
        headers={
            **auth(world),
            **TUS,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": "0",
        },
    )
    response = await world.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    text = response.text
    thread = {"route": "/api/threads/{id}", "method": "GET", "status": "200"}
    assert sample(text, "relay_http_requests_total", **thread) == (
        sample(before, "relay_http_requests_total", **thread) + 1
    )
    assert first["thread_id"] not in text  # no path with an id becomes a series
    assert sample(text, "relay_http_requests_total", route="unmatched", status="404") >= 1
    assert sample(text, "relay_upload_bytes_total") - sample(
        before, "relay_upload_bytes_total"
    ) == (1000)
    assert sample(text, "relay_open_uploads") >= 1
    assert "relay_http_request_seconds_bucket" in text
    assert "relay_live_listeners 0.0" in text


def _client_at(world: World, address: str) -> httpx.AsyncClient:
    """A client whose requests come from `address`."""
    transport = httpx.ASGITransport(app=world.app, client=(address, 4000))
    return httpx.AsyncClient(transport=transport, base_url="http://relay.test")


async def test_metrics_are_for_the_configured_networks_or_the_token(world: World) -> None:
    outside = _client_at(world, "203.0.113.7")
    async with outside:
        refused = await outside.get("/metrics")
        wrong = await outside.get("/metrics", headers={"Authorization": "Bearer nope"})
        allowed = await outside.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert refused.status_code == 403 and "RELAY_METRICS_TOKEN" in refused.json()["detail"]
    assert wrong.status_code == 403
    assert allowed.status_code == 200 and "relay_http_requests_total" in allowed.text


async def test_metrics_through_an_ingress_are_refused_even_from_its_network(
    world: World,
) -> None:
    # An ingress controller's address is inside the cluster's networks; the caller it
    # relays is not, and only says so in a header the server does not trust.
    ingress = _client_at(world, "10.1.2.3")
    async with ingress:
        scraped = await ingress.get("/metrics")
        relayed = await ingress.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
        standard = await ingress.get("/metrics", headers={"Forwarded": "for=203.0.113.7"})
        with_token = await ingress.get(
            "/metrics",
            headers={"X-Forwarded-For": "203.0.113.7", "Authorization": f"Bearer {TOKEN}"},
        )
    assert scraped.status_code == 200  # Prometheus, scraping the pod directly
    assert relayed.status_code == 403 and standard.status_code == 403
    assert with_token.status_code == 200


def test_a_worker_serves_its_own_metrics(tmp_path: Path) -> None:
    env = stack_env(tmp_path / "var", f"sqlite+aiosqlite:///{tmp_path}/relay.db", None)
    port = free_port()
    process = worker(env, tmp_path / "worker.log", "--metrics", f"127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, process.tail()
                time.sleep(0.2)
        assert scraped.status_code == 200 and "relay_job_seconds" in scraped.text
    finally:
        process.stop()
