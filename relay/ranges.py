"""HTTP Range parsing for media (RFC 9110 §14), one byte range at most, and the validators
of conditional requests (§13): pure."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime


class RangeNotSatisfiable(ValueError):
    """No byte of the range lies inside the file (answered with 416)."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    stop: int  # exclusive

    @property
    def length(self) -> int:
        return self.stop - self.start

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.stop - 1}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range to send, or None for the whole file.

    A malformed header or several ranges are ignored (the whole file is sent), as RFC 9110
    allows; a well-formed range outside the file raises RangeNotSatisfiable.
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (_number(first) or _number(last)):
        return None
    if (first and not _number(first)) or (last and not _number(last)):
        return None
    if not first:  # suffix: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return ByteRange(max(0, size - suffix), size)
    start = int(first)
    stop = min(size, int(last) + 1) if last else size
    if start >= size:
        raise RangeNotSatisfiable(header)
    if stop <= start:
        return None
    return ByteRange(start, stop)


def _number(text: str) -> bool:
    # str.isdigit() also accepts "¹" and other digits that int() refuses.
    return 0 < len(text) <= 18 and text.isascii() and text.isdecimal()


def not_modified(
    if_none_match: str | None, if_modified_since: str | None, etag: str, mtime: int
) -> bool:
    """Whether a GET or HEAD is answered 304 (§13.1.2, §13.1.3): If-None-Match, compared
    weakly, decides when present; else If-Modified-Since."""
    if if_none_match is not None:
        tags = [tag.strip() for tag in if_none_match.split(",")]
        return "*" in tags or _opaque(etag) in {_opaque(tag) for tag in tags}
    if if_modified_since:
        since = _http_date(if_modified_since)
        return since is not None and mtime <= since
    return False


def range_applies(if_range: str | None, etag: str, last_modified: str) -> bool:
    """Whether the Range header stands (§13.1.5): an If-Range must name the current file
    with a strong ETag or its exact Last-Modified date, else the whole file is sent."""
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith("W/"):
        return False
    if value.startswith('"'):
        return value == etag
    return value == last_modified


def _opaque(tag: str) -> str:
    return tag.removeprefix("W/")


def _http_date(text: str) -> int | None:
    try:
        return int(parsedate_to_datetime(text).timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
