from __future__ import annotations

from relay.settings import Settings
from relay.storage.base import ObjectNotFound, Storage, StorageError, UploadState

__all__ = ["ObjectNotFound", "Storage", "StorageError", "UploadState", "open_storage"]


def open_storage(settings: Settings) -> Storage:
    """Build the configured backend once at start-up."""
    if settings.storage == "s3":
        from relay.storage.s3 import S3Storage

        return S3Storage(settings.s3, spool_dir=settings.spool_dir)
    from relay.storage.local import LocalStorage

    return LocalStorage(settings.media_dir)
