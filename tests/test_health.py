"""Liveness, readiness with real failures (a folder that cannot be created, an S3 or database
endpoint on a closed port), and an OpenAPI document that covers every JSON route."""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from starlette.routing import Route

from relay.db import create_engine
from relay.settings import S3Settings, Settings
from relay.storage import StorageError
from relay.storage.s3 import S3Storage
from relay.web.app import create_app, routes
from tests.conftest import World
from tests.support.server import free_port

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
EMBEDDED_ONLY = pytest.mark.parametrize("settings", ["embedded"], indirect=True)


@contextlib.contextmanager
def unreachable_storage(world: World) -> Iterator[None]:
    """Break the running app's store the way production breaks it."""
    services = world.services
    if services.settings.storage == "local":
        # The media folder was replaced by a file (a failed mount, a bad deploy).
        root = services.settings.media_dir
        shutil.rmtree(root)
        root.write_text("not a folder")
        yield
        return
    closed = f"http://127.0.0.1:{free_port()}"
    s3 = dataclasses.replace(services.settings.s3, endpoint_url=closed)
    original = services.storage
    services.storage = S3Storage(s3, spool_dir=services.settings.spool_dir)
    try:
        yield
    finally:
        services.storage = original


@contextlib.asynccontextmanager
async def unreachable_database(world: World) -> AsyncIterator[None]:
    services = world.services
    if services.settings.database_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{services.settings.data_dir / 'missing' / 'relay.db'}"
    else:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/relay"
    original, services.engine = services.engine, create_engine(url)
    try:
        yield
    finally:
        await services.engine.dispose()
        services.engine = original


async def test_healthz_and_readyz_ok(world: World) -> None:
    health = await world.client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = await world.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "storage": "ok"}


async def test_readyz_503_when_storage_unreachable(world: World) -> None:
    with unreachable_storage(world):
        ready = await world.client.get("/readyz")
        health = await world.client.get("/healthz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable" and body["database"] == "ok"
    assert body["storage"].startswith("error: ")
    assert health.status_code == 200  # alive, only not ready


async def test_readyz_503_when_database_unreachable(world: World) -> None:
    async with unreachable_database(world):
        ready = await world.client.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable" and body["storage"] == "ok"
    assert body["database"].startswith("error: ")
    assert (await world.client.get("/readyz")).status_code == 200


async def test_app_with_unreachable_s3_refuses_to_start(tmp_path: Path) -> None:
    # Readiness can only fail after start-up: the lifespan checks the store first.
    closed = S3Settings(
        endpoint_url=f"http://127.0.0.1:{free_port()}", access_key="a", secret_key="b"
    )
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}",
        storage="s3",
        spool_dir=tmp_path / "spool",
        workers=0,
        s3=closed,
    )
    with pytest.raises(StorageError, match="unreachable"):
        async with LifespanManager(create_app(settings)):
            pass


# -- OpenAPI ---------------------------------------------------------------------------


LINK = "/s/{token}/"
MEDIA = ("/media/{id}/{name}", "/s/{token}/media/{name}", "/s/{token}/media/{id}/{name}")


def is_json_path(path: str) -> bool:
    """Under /api/ (except the document), the probes, oEmbed, and the API behind a share link:
    not its HTML page /s/{token}, its passcode form or its media (bytes, like /media/)."""
    if path.startswith(LINK):
        return not path.startswith(LINK + "media/") and path != LINK + "unlock"
    if path == "/api/openapi.json":
        return False
    return path.startswith("/api/") or path in ("/healthz", "/readyz", "/oembed")


def json_routes() -> set[tuple[str, str]]:
    """(path, method) of every JSON route."""
    found: set[tuple[str, str]] = set()
    for route in routes():
        if not isinstance(route, Route) or not is_json_path(route.path):
            continue
        methods = set(route.methods or ())
        if "GET" in methods:
            methods.discard("HEAD")  # Starlette adds HEAD to every GET route
        found |= {(route.path, method.lower()) for method in methods}
    return found


def documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


@EMBEDDED_ONLY
async def test_openapi_is_3_1_and_well_formed(world: World) -> None:
    response = await world.client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert document["openapi"].startswith("3.1.")
    assert document["info"]["title"] and document["info"]["version"]
    schemes = document["components"]["securitySchemes"]
    assert {name for requirement in document["security"] for name in requirement} <= set(schemes)
    for ref in refs(document):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in document["components"]["schemas"], ref
    for path, item in document["paths"].items():
        shared = item.get("parameters", [])
        for method in set(item) & HTTP_METHODS:
            operation = item[method]
            assert operation["summary"] and operation["responses"], (path, method)
            assert all(len(code) == 3 and code.isdigit() for code in operation["responses"])
            parameters = [*shared, *operation.get("parameters", [])]
            in_path = {p["name"] for p in parameters if p["in"] == "path" and p["required"]}
            placeholders = {part[1:-1] for part in path.split("/") if part.startswith("{")}
            assert placeholders == in_path, (path, method)


@EMBEDDED_ONLY
async def test_openapi_documents_every_json_route_and_method(world: World) -> None:
    document = (await world.client.get("/api/openapi.json")).json()
    expected = json_routes()
    assert ("/api/messages", "post") in expected and ("/api/uploads/{id}", "patch") in expected
    assert {("/s/{token}/thread", "get"), ("/s/{token}/uploads/{id}", "head")} <= expected
    assert ("/oembed", "get") in expected
    assert not {path for path, _ in expected if path.startswith(("/s/{token}/media/", "/media/"))}
    assert not {("/s/{token}", "get"), ("/s/{token}/unlock", "post")} & expected
    # Media and the passcode form are documented too, with their bytes and pages.
    expected |= {
        ("/api/openapi.json", "get"),
        ("/s/{token}/unlock", "post"),
        ("/s/{token}/join", "post"),
        ("/sw.js", "get"),  # the service worker, a script the API's clients may fetch
        *((path, method) for path in MEDIA for method in ("get", "head")),
    }
    missing = expected - documented(document)
    extra = documented(document) - expected
    assert not missing, f"routes without documentation: {sorted(missing)}"
    assert not extra, f"documented operations without a route: {sorted(extra)}"
