"""tus 1.0 resumable-upload protocol: pure header parsing and building (no I/O)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from email.utils import format_datetime

from relay.errors import BadRequest, PreconditionFailed

VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,creation-defer-length,termination,expiration"
CONTENT_TYPE = "application/offset+octet-stream"
MAX_METADATA = 4096


def base_headers() -> dict[str, str]:
    return {"Tus-Resumable": VERSION, "Cache-Control": "no-store"}


def check_version(headers: dict[str, str] | object) -> None:
    value = headers.get("tus-resumable")  # type: ignore[attr-defined]
    if value != VERSION:
        raise PreconditionFailed(
            f"This server speaks tus {VERSION}; send 'Tus-Resumable: {VERSION}'.",
            headers={"Tus-Version": VERSION},
        )


def parse_metadata(raw: str | None) -> dict[str, str]:
    """`key base64value` pairs separated by commas; a key may come without a value."""
    if not raw:
        return {}
    if len(raw) > MAX_METADATA:
        raise BadRequest(f"Upload-Metadata may have at most {MAX_METADATA} characters.")
    result: dict[str, str] = {}
    for pair in raw.split(","):
        parts = pair.strip().split(" ")
        key = parts[0]
        if not key or len(parts) > 2 or key in result or not key.isascii():
            raise BadRequest(f"Upload-Metadata has a malformed pair: {pair.strip()!r}.")
        if len(parts) == 1:
            result[key] = ""
            continue
        try:
            result[key] = base64.b64decode(parts[1], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise BadRequest(f"Upload-Metadata value of {key!r} is not base64 UTF-8.") from None
    return result


def format_metadata(metadata: dict[str, str]) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" if value else key
        for key, value in metadata.items()
    )


def parse_size(value: str | None, header: str) -> int | None:
    """A non-negative integer header; None when absent."""
    if value is None:
        return None
    if not (value.isascii() and value.isdecimal()) or len(value) > 18:
        raise BadRequest(f"{header} must be a non-negative integer.")
    return int(value)


def creation_length(headers: dict[str, str] | object) -> int | None:
    """Upload-Length, or None with `Upload-Defer-Length: 1`; exactly one must be given."""
    length = parse_size(headers.get("upload-length"), "Upload-Length")  # type: ignore[attr-defined]
    deferred = headers.get("upload-defer-length")  # type: ignore[attr-defined]
    if deferred is not None and deferred != "1":
        raise BadRequest("Upload-Defer-Length may only be 1.")
    if (length is None) == (deferred is None):
        raise BadRequest("Send either Upload-Length or 'Upload-Defer-Length: 1'.")
    return length


def http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)
