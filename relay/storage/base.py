"""The storage interface that the web service and the workers share.

Keys are relative, slash-separated paths such as ``renditions/<message>/video.mp4``.
Every method streams: nothing holds a whole media file in memory.
"""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

CHUNK_SIZE = 256 * 1024


def inline_disposition(filename: str) -> str:
    """`inline` with the filename as ASCII and, when it is not ASCII, as RFC 5987 UTF-8."""
    cleaned = "".join(c for c in filename if unicodedata.category(c)[0] != "C")
    fallback = unicodedata.normalize("NFKD", cleaned).encode("ascii", "ignore").decode().strip()
    fallback = fallback.replace('"', "").replace("\\", "") or "download"
    value = f'inline; filename="{fallback}"'
    if fallback != cleaned:
        value += f"; filename*=UTF-8''{quote(cleaned, safe='')}"
    return value


class StorageError(Exception):
    """The store failed or refused an operation."""


class S3Error(StorageError):
    """The S3 API refused a request; `code` is its error code (such as "NoSuchUpload")."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class ObjectNotFound(StorageError):
    """No object is stored under the key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no stored object {key!r}")
        self.key = key


def check_key(key: str) -> str:
    """Return the key when it is a plain relative path; raise StorageError otherwise.

    Both backends accept the same keys, so a key that works on S3 also works on disk.
    """
    if (
        not key
        or key.startswith("/")
        or "\\" in key
        or "\x00" in key
        or any(part in ("", ".", "..") for part in key.split("/"))
    ):
        raise StorageError(f"invalid storage key {key!r}")
    return key


@dataclass
class UploadState:
    """What a resumable upload has stored so far; saved as JSON in the uploads table.

    `offset` counts every byte received and kept. On S3, `parts` are finished multipart
    parts and `segments` hold the tail (bytes not yet enough for a full part) as small
    temporary objects, so that any relay instance can resume the upload.
    """

    key: str
    offset: int = 0
    multipart_id: str | None = None
    parts: list[dict] = field(default_factory=list)  # [{"n": 1, "etag": "...", "size": N}]
    segments: list[dict] = field(default_factory=list)  # [{"key": "...", "size": N}]

    def to_json(self) -> dict:
        return {
            "key": self.key,
            "offset": self.offset,
            "multipart_id": self.multipart_id,
            "parts": self.parts,
            "segments": self.segments,
        }

    @classmethod
    def from_json(cls, data: dict) -> UploadState:
        return cls(
            key=data["key"],
            offset=data.get("offset", 0),
            multipart_id=data.get("multipart_id"),
            parts=list(data.get("parts", [])),
            segments=list(data.get("segments", [])),
        )


class Storage(Protocol):
    async def check(self) -> None:
        """Raise StorageError when the store cannot be reached (for /readyz)."""

    async def put_file(self, key: str, path: Path, content_type: str) -> None: ...

    async def get_file(self, key: str, path: Path) -> None:
        """Download the object to a local path (raises ObjectNotFound)."""

    def read(self, key: str, start: int = 0, stop: int | None = None) -> AsyncIterator[bytes]:
        """Yield the bytes [start, stop) in chunks of about CHUNK_SIZE."""

    async def size(self, key: str) -> int | None:
        """The object's size, or None when there is none."""

    async def delete(self, key: str) -> None:
        """Remove the object; a missing object is not an error."""

    async def delete_prefix(self, prefix: str) -> None: ...

    def local_path(self, key: str) -> Path | None:
        """The object's file when the store is a local folder (served by nginx or read
        straight from the page cache), else None."""

    async def presigned_url(
        self, key: str, *, content_type: str | None = None, filename: str | None = None
    ) -> str | None:
        """A short-lived URL the browser can fetch directly, or None (local store)."""

    # Resumable uploads (tus). The caller keeps UploadState in the database.
    async def upload_begin(self, key: str) -> UploadState: ...

    async def upload_append(self, state: UploadState, chunks: AsyncIterator[bytes]) -> UploadState:
        """Store every chunk after state.offset and return the new state.

        Consumes the iterator to its end; the caller's iterator ends early (without
        raising) when the client disconnects, so every byte received is kept.
        """

    async def upload_finish(self, state: UploadState) -> None:
        """Make the object at state.key hold all the bytes received."""

    async def upload_abort(self, state: UploadState) -> None:
        """Discard everything the upload stored (incomplete multipart, segments, file)."""
