"""Every request gets an id: the caller's X-Request-ID when it is a sane one (a proxy's),
otherwise a new one. It is returned in the same header, set on every log line written
while the request is served and on the jobs it queues. Each request is then counted and
timed under its route's template (relay.metrics; never by its path: ids and tokens would
make a series each) and has one line in the access log (AccessLines)."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import sys
import time
from datetime import UTC, datetime
from typing import TextIO

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relay import metrics
from relay.logs import REQUEST_ID, redact

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


class AccessLines:
    """The access log: a line per request in the format of the other lines, written to
    stderr together once per turn of the event loop. Under load one write carries many
    requests, where a logging record each (record, lock, formatting, write) cost more than
    serving a cached media range."""

    def __init__(self, log_format: str, stream: TextIO | None = None) -> None:
        self._json = log_format == "json"
        self._stream = stream
        self._pending: list[str] = []
        self._second, self._prefix = -1, ""

    def add(self, scope: Scope, route: str, status: int, seconds: float, request_id: str) -> None:
        query = scope.get("query_string", b"")
        target = redact(scope["path"] + ("?" + query.decode("latin-1") if query else ""))
        method, ms = scope["method"], round(1000 * seconds, 1)
        host, port = scope.get("client") or ("-", 0)
        if self._json:
            fields = {
                "time": self._stamp(),
                "level": "info",
                "logger": "relay.request",
                "message": f"{method} {target} {status}",
                "request_id": request_id,
                "route": route,
                "method": method,
                "path": target,
                "status": status,
                "duration_ms": ms,
                "client": host,
            }
            line = json.dumps(fields, ensure_ascii=False)
        else:
            version = scope.get("http_version", "1.1")
            line = (
                f"{self._stamp()} INFO relay.request: {host}:{port} - "
                f'"{method} {target} HTTP/{version}" {status} {ms} ms'
            )
        if not self._pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self._pending.append(line + "\n")

    def _stamp(self) -> str:
        """logging's asctime for text lines, ISO 8601 in UTC for JSON, as the other lines."""
        now = time.time()
        second = int(now)
        if second != self._second:
            if self._json:
                self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            else:
                self._prefix = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._second = second
        millis = int((now - second) * 1000)
        if self._json:
            return f"{self._prefix}.{millis:03d}+00:00"
        return f"{self._prefix},{millis:03d}"

    def flush(self) -> None:
        lines, self._pending = self._pending, []
        stream = self._stream or sys.stderr
        try:
            stream.write("".join(lines))
            stream.flush()
        except (OSError, ValueError):  # stderr closed or gone: as logging, never fail a request
            pass
