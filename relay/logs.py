"""Logging set-up for `relay serve`: the access log never records a share link's token."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

# /s/<token> in a path, and s%2F<token> inside a query (oEmbed's url=).
_TOKEN = re.compile(r"(/s/|s%2F)([A-Za-z0-9_-]{4})[A-Za-z0-9_-]+", re.IGNORECASE)


def redact(path: str) -> str:
    """Keep the first four characters of a token: enough to tell links apart in a log."""
    return _TOKEN.sub(r"\1\2…", path)


class RedactTokens(logging.Filter):
    """For uvicorn's access log, whose arguments are (client, method, path, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact(args[2]), *args[3:])
        return True


def uvicorn_config() -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": RedactTokens}
    config["handlers"]["access"]["filters"] = ["redact_tokens"]
    return config
