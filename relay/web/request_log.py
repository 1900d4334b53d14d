"""Every request gets an id: the caller's X-Request-ID when it is a sane one (a proxy's),
otherwise a new one. It is returned in the same header, set on every log line written
while the request is served and on the jobs it queues; with RELAY_LOG_FORMAT=json one line
per request records its route template, status and duration (the path's tokens redacted)."""

from __future__ import annotations

import logging
import re
import secrets
import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relay.logs import REQUEST_ID, redact

HEADER = "x-request-id"
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
log = logging.getLogger("relay.request")


class RequestIds:
    def __init__(self, app: ASGIApp, *, log_requests: bool) -> None:
        self.app = app
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(HEADER.encode(), b"").decode("latin-1")
        request_id = given if _SANE.fullmatch(given) else secrets.token_hex(8)
        token = REQUEST_ID.set(request_id)
        began, status = time.perf_counter(), 500

        async def with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        finally:
            if self.log_requests:
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                log.info(
                    "%s %s %s",
                    scope["method"],
                    redact(scope["path"]),
                    status,
                    extra={
                        "route": route,
                        "method": scope["method"],
                        "path": redact(scope["path"]),
                        "status": status,
                        "duration_ms": round(1000 * (time.perf_counter() - began), 1),
                    },
                )
            REQUEST_ID.reset(token)
