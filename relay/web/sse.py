"""Server-sent events: a thread's live updates as a streaming response (relay.hub holds the
subscriptions)."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from relay.errors import BadRequest, ServiceUnavailable, TooManyRequests
from relay.hub import CLOSED, ClientFull, EventHub, HubFull, LiveEvent, Subscription
from relay.inputs import parse_id

HEARTBEAT_SECONDS = 15.0
RECHECK_SECONDS = 30.0
CLIENT_RETRY_SECONDS = 10  # Retry-After for a client at its limit of streams
RECONNECT_MS = 1000  # after a stream closed because its process stops


@functools.lru_cache(maxsize=256)  # one event goes out to every listener of its thread
def format_event(event: LiveEvent, *, with_id: bool = True) -> str:
    data = {
        "id": event.id,
        "thread_id": event.thread_id,
        "kind": event.kind,
        "message_id": event.message_id,
    }
    head = f"id: {event.id}\n" if with_id else ""
    return f"{head}event: {event.kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def last_event_id(request: Request) -> int | None:
    """Last-Event-ID, or the `last_event_id` query parameter that EventSource polyfills send;
    the header wins, and either one, when given, must be an id."""
    given = [request.headers.get("last-event-id"), request.query_params.get("last_event_id")]
    ids = [parse_id(raw.strip()) for raw in given if raw is not None and raw.strip()]
    if None in ids:
        raise BadRequest("Last-Event-ID must be the id of an event this server sent.")
    return ids[0] if ids else None


class _EventStream(StreamingResponse):
    """Closes its subscription however the response ends (client gone, error, hub stop)."""

    def __init__(self, content: AsyncIterator[str], subscription: Subscription) -> None:
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        super().__init__(content, headers=headers, media_type="text/event-stream")
        self.subscription = subscription

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.subscription.close()


async def sse_response(
    request: Request,
    hub: EventHub,
    thread_ids: set[str],
    *,
    still_allowed: Callable[[], Awaitable[bool]],
) -> Response:
    """Stream the events of these threads; replays what a reconnecting client missed."""
    after = last_event_id(request)
    client = request.client.host if request.client else None
    try:
        subscription = await hub.subscribe(thread_ids, after, client=client)
    except ClientFull:
        raise TooManyRequests(
            f"Too many live connections from your address (at most {hub.per_client} at once): "
            "close another Relay tab, or try again shortly.",
            headers={"Retry-After": str(CLIENT_RETRY_SECONDS)},
        ) from None
    except HubFull:
        detail = "Too many live connections on this server; try again shortly."
        # Answered, not raised: the SSE benchmark serves this function without Relay's app.
        refusal = ServiceUnavailable(detail, headers={"Retry-After": "5"})
        return JSONResponse(refusal.as_json(), status_code=refusal.status, headers=refusal.headers)
    stream = _stream(subscription, after or 0, still_allowed)
    return _EventStream(stream, subscription)


async def _stream(
    subscription: Subscription, after: int, still_allowed: Callable[[], Awaitable[bool]]
) -> AsyncIterator[str]:
    yield "retry: 3000\n\n"
    newest = after  # an `id:` line only moves forward, so Last-Event-ID never goes back
    now = time.monotonic()
    ping_at, check_at = now + HEARTBEAT_SECONDS, now + RECHECK_SECONDS
    while True:
        event = await subscription.get(max(0.0, min(ping_at, check_at) - time.monotonic()))
        now = time.monotonic()
        if event is not None and event.kind == CLOSED:
            yield f"retry: {RECONNECT_MS}\n\n"  # the server is stopping: come back soon
            return
        if (event is not None and event.kind == "link") or now >= check_at:
            if not await still_allowed():
                yield 'event: revoked\ndata: {"kind":"revoked"}\n\n'
                return
            check_at = now + RECHECK_SECONDS
        if event is not None:
            yield format_event(event, with_id=event.id > newest)
            newest = max(newest, event.id)
        elif now >= ping_at:
            yield ": ping\n\n"
        else:
            continue
        ping_at = now + HEARTBEAT_SECONDS
