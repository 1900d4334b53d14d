"""Every request gets an id: the caller's X-Request-ID when it is a sane one (a proxy's),
otherwise a new one. It is returned in the same header, set on every log line written
while the request is served and on the jobs it queues. Each request is then counted and
timed under its route's template (relay.metrics; never by its path: ids and tokens would
make a series each) and has one line in the access log (relay.logs.AccessLines)."""

from __future__ import annotations

import re
import secrets
import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relay import metrics
from relay.logs import REQUEST_ID, AccessLines

HEADER = "x-request-id"
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class RequestLog:
    def __init__(self, app: ASGIApp, *, log_format: str) -> None:
        self.app = app
        self.lines = AccessLines(log_format)
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(HEADER.encode(), b"").decode("latin-1")
        request_id = given if _SANE.fullmatch(given) else secrets.token_hex(8)
        token = REQUEST_ID.set(request_id)
        began, status = time.perf_counter(), 500
        header = (HEADER.encode(), request_id.encode())

        async def with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        finally:
            seconds = time.perf_counter() - began
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self._count(route, scope["method"], status, seconds)
            self.lines.add(scope, route, status, seconds, request_id)
            REQUEST_ID.reset(token)

    def _count(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        if (series := self._series.get(key)) is None:
            series = self._series[key] = (
                metrics.HTTP_REQUESTS.labels(route, method, str(status)),
                metrics.HTTP_SECONDS.labels(route, method),
            )
        series[0].inc()
        series[1].observe(seconds)
