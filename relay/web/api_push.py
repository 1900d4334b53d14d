"""Web Push for the caller's browsers: the server's public VAPID key to subscribe with, the
browser's PushSubscription stored and removed, and the service worker that shows the pushes,
served from the root so that its scope is the whole site."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from relay.notify import subscriptions, vapid
from relay.web.http import json_body, require_user, services

SERVICE_WORKER = Path(__file__).resolve().parents[2] / "web" / "static" / "sw.js"


def routes() -> list[Route]:
    return [
        Route("/sw.js", service_worker, methods=["GET"]),
        Route("/api/push/key", key, methods=["GET"]),
        Route("/api/push/subscriptions", subscribe, methods=["POST"]),
        Route("/api/push/subscriptions", unsubscribe, methods=["DELETE"]),
    ]


async def service_worker(request: Request) -> Response:
    # no-cache: the browser asks again on every update check, so a new worker is picked up.
    headers = {"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"}
    return FileResponse(SERVICE_WORKER, media_type="text/javascript", headers=headers)


async def key(request: Request) -> Response:
    await require_user(request)
    async with services(request).sessions.begin() as session:
        private = await vapid.private_key(session)
    return JSONResponse({"key": vapid.public_key(private)})


async def subscribe(request: Request) -> Response:
    who = await require_user(request)
    data = await json_body(request)
    endpoint = subscriptions.endpoint(data.get("endpoint"))
    p256dh, auth = subscriptions.keys(data.get("keys"))
    async with services(request).sessions.begin() as session:
        saved = await subscriptions.save(session, who.user.id, endpoint, p256dh, auth)
        created = saved.created_at
    return JSONResponse({"endpoint": endpoint, "created_at": created.isoformat()}, status_code=201)


async def unsubscribe(request: Request) -> Response:
    who = await require_user(request)
    data = await json_body(request)
    endpoint = subscriptions.endpoint(data.get("endpoint"))
    async with services(request).sessions.begin() as session:
        await subscriptions.remove(session, who.user.id, endpoint)
    return Response(status_code=204)
