"""Logging set-up for `relay serve` and `relay worker`: text or JSON lines
(RELAY_LOG_FORMAT), each carrying the id of the request it belongs to (also into the jobs
that request queued); the access log, in the same format, never records a share link's
token."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from starlette.types import Scope

# /s/<token> in a path, and s%2F<token> inside a query (oEmbed's url=).
_TOKEN = re.compile(r"(/s/|s%2F)([A-Za-z0-9_-]{4})[A-Za-z0-9_-]+", re.IGNORECASE)


def redact(path: str) -> str:
    """Keep the first four characters of a token: enough to tell links apart in a log."""
    return _TOKEN.sub(r"\1\2…", path)


# The id of the request being served (or of the request that queued the job being run).
REQUEST_ID: ContextVar[str | None] = ContextVar("relay_request_id", default=None)
_FIELDS = ("request_id", "route", "method", "path", "status", "duration_ms", "message_id", "job")


class WithRequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _FIELDS:
            if (value := getattr(record, name, None)) is not None:
                line[name] = value
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(log_format: str) -> None:
    """The root logger for `relay serve` and `relay worker`: text, or JSON lines."""
    handler = logging.StreamHandler()
    handler.addFilter(WithRequestId())
    if log_format == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def uvicorn_json_config() -> dict[str, Any]:
    """uvicorn's own lines as JSON too (its access log is off: Relay writes AccessLines)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": WithRequestId}},
        "formatters": {"json": {"()": JsonLines}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["request_id"],
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


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
