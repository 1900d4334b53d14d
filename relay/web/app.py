"""The Starlette application: routes, middleware and lifespan in one place."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from relay import tus, wakeups
from relay.context import Services
from relay.db import is_sqlite
from relay.errors import RelayError
from relay.hub import EventHub
from relay.services import start_services
from relay.settings import Settings
from relay.web import (
    api_links,
    api_me,
    api_messages,
    api_push,
    api_reactions,
    api_threads,
    api_transcripts,
    health,
    media,
    metrics_page,
    openapi,
    page_render,
    pages,
    profile,
    thread_pages,
    unsubscribe,
    uploads,
)
from relay.web.http import principal
from relay.web.middleware import AllowedHosts, SecurityHeaders, ServerErrors
from relay.web.request_log import RequestLog

log = logging.getLogger("relay")
STOP_SECONDS = 10.0  # for embedded workers to hand their jobs back on shutdown
LISTENING_POLL_SECONDS = 2.0  # the event hub's polls while LISTEN/NOTIFY wakes it
WEB_DIR = Path(__file__).resolve().parents[2] / "web"


def routes() -> list[Route | Mount]:
    # Tried in this order: the media a player asks for range after range come first.
    return [
        Route("/media/{id}/{name}", media.for_user, methods=["GET", "HEAD"]),
        Route("/s/{token}/media/{name}", media.for_link, methods=["GET", "HEAD"]),
        Route("/s/{token}/media/{id}/{name}", media.for_link_message, methods=["GET", "HEAD"]),
        Route("/healthz", health.healthz),
        Route("/readyz", health.readyz),
        Route("/metrics", metrics_page.page, methods=["GET"]),
        Route("/api/openapi.json", openapi.document),
        Route("/api/messages", api_messages.create, methods=["POST"]),
        Route("/api/messages", api_messages.list_own, methods=["GET"]),
        Route("/api/messages/{id}", api_messages.detail, methods=["GET"]),
        Route("/api/messages/{id}", api_messages.change, methods=["PATCH"]),
        Route("/api/messages/{id}", api_messages.remove, methods=["DELETE"]),
        Route("/api/messages/{id}/transcript", api_transcripts.for_user, methods=["GET"]),
        Route(
            "/api/messages/{id}/transcript/segments/{position}",
            api_transcripts.edit_segment,
            methods=["PATCH"],
        ),
        Route("/api/messages/{id}/listen", api_reactions.listen, methods=["PUT"]),
        Route("/api/messages/{id}/reactions", api_reactions.react, methods=["POST"]),
        Route("/api/messages/{id}/reactions/{reaction}", api_reactions.unreact, methods=["DELETE"]),
        Route("/api/threads", api_threads.list_threads, methods=["GET"]),
        Route("/api/threads/{id}", api_threads.thread_detail, methods=["GET"]),
        Route("/api/threads/{id}/events", api_threads.thread_events, methods=["GET"]),
        Route("/api/threads/{id}/links", api_threads.list_links, methods=["GET"]),
        Route("/api/threads/{id}/links", api_threads.create_link, methods=["POST"]),
        Route("/api/links/{token}", api_threads.revoke_link, methods=["DELETE"]),
        Route("/api/search", api_me.search_messages, methods=["GET"]),
        Route("/api/me", api_me.me, methods=["GET", "PATCH"]),
        Route("/api/uploads/", uploads.options, methods=["OPTIONS"]),
        Route("/api/uploads/", uploads.create, methods=["POST"]),
        Route("/api/uploads/{id}", uploads.options, methods=["OPTIONS"]),
        Route("/api/uploads/{id}", uploads.head, methods=["HEAD"]),
        Route("/api/uploads/{id}", uploads.patch, methods=["PATCH"]),
        Route("/api/uploads/{id}", uploads.terminate, methods=["DELETE"]),
        Route("/s/{token}/transcript", api_transcripts.for_link, methods=["GET"]),
        Route("/s/{token}/thread", api_links.thread, methods=["GET"]),
        Route("/s/{token}/events", api_links.events, methods=["GET"]),
        Route("/s/{token}/guest", api_links.become_guest, methods=["POST"]),
        Route("/s/{token}/messages", api_links.reply, methods=["POST"]),
        Route("/s/{token}/messages/{id}", api_links.remove, methods=["DELETE"]),
        Route("/s/{token}/messages/{id}/listen", api_links.listen, methods=["PUT"]),
        Route("/s/{token}/messages/{id}/reactions", api_links.react, methods=["POST"]),
        Route(
            "/s/{token}/messages/{id}/reactions/{reaction}", api_links.unreact, methods=["DELETE"]
        ),
        Route("/s/{token}/messages/{id}/transcript", api_links.transcript, methods=["GET"]),
        Route("/s/{token}/uploads/{id}", uploads.options, methods=["OPTIONS"]),
        Route("/s/{token}/uploads/{id}", uploads.head, methods=["HEAD"]),
        Route("/s/{token}/uploads/{id}", uploads.patch, methods=["PATCH"]),
        Route("/s/{token}/uploads/{id}", uploads.terminate, methods=["DELETE"]),
        *pages.routes(),
        *profile.routes(),
        *unsubscribe.routes(),
        *api_push.routes(),
        *thread_pages.routes(),
        Mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static"),
    ]


async def _relay_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RelayError)
    if page_render.wants_html(request):
        return page_render.error_page(request, exc)
    body = exc.as_json()
    headers = exc.headers
    if "/uploads/" in request.url.path:
        headers = tus.base_headers() | headers
    return JSONResponse(body, status_code=exc.status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    """The router's 404 and 405 (and Starlette's other HTTP errors) as Relay errors. No
    handler ran, so the page looks up who is signed in for its header (a failed lookup only
    leaves the header without them)."""
    assert isinstance(exc, HTTPException)
    if page_render.wants_html(request):
        with contextlib.suppress(RelayError, SQLAlchemyError):
            await principal(request)
    return await _relay_error(request, page_render.as_relay_error(request, exc))


def middleware(settings: Settings) -> list[Middleware]:
    """Outermost first."""
    return [
        Middleware(RequestLog, log_format=settings.log_format),
        Middleware(SecurityHeaders, settings=settings),
        Middleware(ServerErrors),
        Middleware(AllowedHosts, hosts=settings.trusted_hosts),
    ]


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Services]]:
        services = await start_services(settings)
        per_client = settings.limits.streams_per_client
        hub = services.hub = EventHub(services.engine, per_client=per_client)
        await hub.start()
        # What `relay serve` does the moment it is told to stop (relay.cli's server).
        app.state.loop, app.state.on_stop = asyncio.get_running_loop(), [hub.close_streams]
        listener = _listen(services, {wakeups.JOBS: services.wakeup.set, wakeups.EVENTS: hub.poke})
        stop = asyncio.Event()
        workers = _start_embedded_workers(services, stop)
        try:
            yield {"relay": services}
        finally:
            await _stop_embedded_workers(services, stop, workers)
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)
            await hub.stop()
            services.answers.close()
            await services.engine.dispose()

    return Starlette(
        routes=routes(),
        middleware=middleware(settings),
        exception_handlers={RelayError: _relay_error, HTTPException: _http_error},
        lifespan=lifespan,
    )


def _listen(
    services: Services, handlers: dict[str, Callable[[], None]]
) -> asyncio.Task[None] | None:
    """On PostgreSQL, wake-ups from other processes (LISTEN/NOTIFY); polling then only
    catches what a lost notification missed, so the hub polls less often."""
    if is_sqlite(services.settings.database_url):
        return None
    if services.hub is not None:
        services.hub.poll_seconds = LISTENING_POLL_SECONDS
    return asyncio.create_task(wakeups.listen(services.settings.database_url, handlers))


def _start_embedded_workers(services: Services, stop: asyncio.Event) -> list[asyncio.Task[None]]:
    from workers.runner import run_workers

    if services.settings.workers <= 0:
        return []
    return [asyncio.create_task(run_workers(services, services.settings.workers, stop=stop))]


async def _stop_embedded_workers(
    services: Services, stop: asyncio.Event, workers: list[asyncio.Task[None]]
) -> None:
    """Running jobs are handed back for another process to start; a loop that does not end
    within STOP_SECONDS is cancelled."""
    from workers.runner import stop_workers

    if not workers:
        return
    stop_workers(services, stop)
    _, late = await asyncio.wait(workers, timeout=STOP_SECONDS)
    for task in late:
        task.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
