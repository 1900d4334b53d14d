"""Logging set-up for `relay serve` and `relay worker`: text or JSON lines
(RELAY_LOG_FORMAT), each carrying the id of the request it belongs to (also into the jobs
that request queued); the access log (relay.web.request_log), in the same format, never
records a share link's token."""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

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
