"""Parsing what callers send: ids from paths and headers, and the fields of JSON bodies.
Pure functions; each refuses bad input with a BadRequest that says what was expected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relay import names
from relay.enums import MessageKind
from relay.errors import BadRequest

MAX_ID = 2**63 - 1  # the largest integer both SQLite and PostgreSQL (bigint) store
MAX_NAME = names.MAX_NAME


def parse_id(raw: str | None) -> int | None:
    """A database integer id from a path or header: plain ASCII digits within 64 bits."""
    # str.isdigit() also accepts "²" and other digits that int() refuses.
    if raw is None or not (0 < len(raw) <= 19 and raw.isascii() and raw.isdecimal()):
        return None
    value = int(raw)
    return value if value <= MAX_ID else None


def message_kind(value: object) -> MessageKind:
    try:
        return MessageKind(value)
    except ValueError:
        raise BadRequest("'kind' must be one of 'audio', 'video', 'text'.") from None


def moment(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest("'at' must be a number of seconds.")
    return float(value)


def text_field(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise BadRequest(f"'{name}' must be a string.")
    return value


def language(value: Any) -> str | None:
    """None (detect per message) or a two-letter language code."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) != 2 or not value.isascii() or not value.isalpha():
        raise BadRequest("'language' must be a two-letter code such as 'nl' or 'en', or null.")
    return value.lower()


@dataclass(frozen=True)
class Draft:
    """What a caller writes in a new message, apart from its kind and place."""

    title: str = ""
    body: str = ""
    at: float | None = None  # the moment of the parent it answers
    language: str | None = None


def draft(data: dict[str, Any]) -> Draft:
    return Draft(
        title=text_field(data, "title"),
        body=text_field(data, "body"),
        at=moment(data.get("at")),
        language=language(data.get("language")),
    )


def parent_id(data: dict[str, Any]) -> str | None:
    """The message a new one replies to, if any."""
    value = data.get("parent_id")
    if value is not None and not isinstance(value, str):
        raise BadRequest("'parent_id' must be a message id.")
    return value


def guest_name(value: object) -> str:
    """A name people read next to a guest's reply: printable, trimmed, 1 to 60 characters."""
    if not isinstance(value, str):
        raise BadRequest("'name' must be a string.")
    name = names.tidy(value)
    why = names.problem(name)
    if why in ("empty", "too_long"):
        raise BadRequest(f"'name' must have 1 to {MAX_NAME} characters.")
    if why == "control":
        raise BadRequest("'name' may not contain control characters.")
    if why == "viewer":
        raise BadRequest(f"'{name}' would read as the viewer: give your own name.")
    return name
