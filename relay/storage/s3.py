"""Storage in an S3-compatible bucket (AWS S3, MinIO, Swift s3api, ...) through boto3.

boto3 blocks, so every call that does I/O runs in a worker thread (relay.storage.s3_client).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from relay.settings import S3Settings
from relay.storage.base import (
    CHUNK_SIZE,
    ObjectNotFound,
    StorageError,
    UploadState,
    check_key,
    inline_disposition,
)
from relay.storage.s3_client import Bucket, error, error_code, make_client
from relay.storage.s3_uploads import MultipartUploads


class S3Storage:
    """Objects in one bucket; resumable uploads are multipart uploads that any relay
    instance can continue (relay.storage.s3_uploads)."""

    def __init__(self, settings: S3Settings, spool_dir: Path) -> None:
        self.settings = settings
        self.spool_dir = Path(spool_dir)
        self._bucket = Bucket(settings)
        self.client = self._bucket.client
        # Presigned URLs name the endpoint that browsers reach; signing does no I/O.
        self._presigner = (
            make_client(settings, settings.public_endpoint_url)
            if settings.public_endpoint_url
            else self.client
        )
        self._transfer = TransferConfig(
            multipart_threshold=settings.part_size, multipart_chunksize=settings.part_size
        )
        self._uploads = MultipartUploads(self._bucket, self.spool_dir)

    @property
    def bucket(self) -> str:
        return self._bucket.name

    async def check(self) -> None:
        await self._bucket.check()

    async def ensure_bucket(self) -> None:
        """Check the bucket (creating it when allowed) once per instance."""
        await self._bucket.ensure()

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        check_key(key)
        await self._bucket.ensure()
        await self._bucket.run(
            self.client.upload_file,
            str(path),
            self.bucket,
            key,
            ExtraArgs={"ContentType": content_type},
            Config=self._transfer,
        )

    async def get_file(self, key: str, path: Path) -> None:
        check_key(key)
        await self._bucket.run(
            self.client.download_file, self.bucket, key, str(path), Config=self._transfer, key=key
        )

    async def read(self, key: str, start: int = 0, stop: int | None = None) -> AsyncIterator[bytes]:
        check_key(key)
        if stop is not None and stop <= start:
            return
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if start or stop is not None:
            params["Range"] = f"bytes={start}-{'' if stop is None else stop - 1}"
        try:
            response = await asyncio.to_thread(self.client.get_object, **params)
        except ClientError as exc:
            if error_code(exc) == "InvalidRange":  # starts past the end, like reading a short file
                return
            raise error(exc, "get_object", key) from exc
        except BotoCoreError as exc:
            raise error(exc, "get_object", key) from exc
        body = response["Body"]
        try:
            while True:
                try:
                    chunk = await asyncio.to_thread(body.read, CHUNK_SIZE)
                except (BotoCoreError, OSError) as exc:
                    raise StorageError(f"S3 read of {key!r} broke off: {exc}") from exc
                if not chunk:
                    break
                yield chunk
        finally:
            body.close()  # closes the socket; no network round trip

    async def size(self, key: str) -> int | None:
        return await self._bucket.size(check_key(key))

    async def delete(self, key: str) -> None:
        check_key(key)
        try:
            await self._bucket.run(self.client.delete_object, Bucket=self.bucket, Key=key, key=key)
        except ObjectNotFound:
            pass

    async def delete_prefix(self, prefix: str) -> None:
        check_key(prefix.rstrip("/"))  # the empty prefix would be the whole bucket
        await self._bucket.delete_matching(prefix)

    def local_path(self, key: str) -> Path | None:
        return None

    async def presigned_url(
        self, key: str, *, content_type: str | None = None, filename: str | None = None
    ) -> str | None:
        params = {"Bucket": self.bucket, "Key": check_key(key)}
        if content_type:
            params["ResponseContentType"] = content_type
        if filename:
            params["ResponseContentDisposition"] = inline_disposition(filename)
        return self._presigner.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=self.settings.presign_seconds
        )

    # Resumable uploads (relay.storage.s3_uploads).

    async def upload_begin(self, key: str) -> UploadState:
        return await self._uploads.begin(key)

    async def upload_append(self, state: UploadState, chunks: AsyncIterator[bytes]) -> UploadState:
        return await self._uploads.append(state, chunks)

    async def upload_finish(self, state: UploadState) -> None:
        await self._uploads.finish(state)

    async def upload_abort(self, state: UploadState) -> None:
        await self._uploads.abort(state)
