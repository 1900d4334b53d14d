"""HTTP Range parsing for media (RFC 9110 §14): pure, one byte range at most."""

from __future__ import annotations

from dataclasses import dataclass


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
