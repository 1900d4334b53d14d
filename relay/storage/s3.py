"""Storage in an S3-compatible bucket (AWS S3, MinIO, Swift s3api, ...) through boto3.

boto3 blocks, so every call that does I/O runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from relay.settings import S3Settings
from relay.storage.base import (
    CHUNK_SIZE,
    ObjectNotFound,
    S3Error,
    StorageError,
    UploadState,
    check_key,
    inline_disposition,
)
from relay.storage.s3_uploads import MultipartUploads

T = TypeVar("T")

_NOT_FOUND = {"NoSuchKey", "NotFound", "404"}
_NO_BUCKET = {"NoSuchBucket", "NotFound", "404"}


class S3Storage:
    """Objects in one bucket; resumable uploads are multipart uploads that any relay
    instance can continue (relay.storage.s3_uploads)."""

    def __init__(self, settings: S3Settings, spool_dir: Path) -> None:
        self.settings = settings
        self.spool_dir = Path(spool_dir)
        self.client = _make_client(settings, settings.endpoint_url)
        # Presigned URLs name the endpoint that browsers reach; signing does no I/O.
        self._presigner = (
            _make_client(settings, settings.public_endpoint_url)
            if settings.public_endpoint_url
            else self.client
        )
        self._transfer = TransferConfig(
            multipart_threshold=settings.part_size, multipart_chunksize=settings.part_size
        )
        self._bucket_ready = False
        # Imported here: s3_uploads builds on this module.
        self._uploads = MultipartUploads(self)

    @property
    def bucket(self) -> str:
        return self.settings.bucket

    async def check(self) -> None:
        try:
            await asyncio.to_thread(self.client.head_bucket, Bucket=self.bucket)
        except ClientError as exc:
            code = _code(exc)
            if code not in _NO_BUCKET or not self.settings.create_bucket:
                raise S3Error(f"S3 bucket {self.bucket!r} is not usable: {code}", code) from exc
            await self._create_bucket()
        except BotoCoreError as exc:
            raise StorageError(f"S3 endpoint unreachable: {exc}") from exc
        self._bucket_ready = True

    async def ensure_bucket(self) -> None:
        """Check the bucket (creating it when allowed) once per instance."""
        if not self._bucket_ready:
            await self.check()

    async def _create_bucket(self) -> None:
        params: dict[str, Any] = {}
        if self.settings.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": self.settings.region}
        try:
            await self._run(self.client.create_bucket, Bucket=self.bucket, **params)
        except S3Error as exc:
            if exc.code != "BucketAlreadyOwnedByYou":
                raise

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        check_key(key)
        await self.ensure_bucket()
        await self._run(
            self.client.upload_file,
            str(path),
            self.bucket,
            key,
            ExtraArgs={"ContentType": content_type},
            Config=self._transfer,
        )

    async def get_file(self, key: str, path: Path) -> None:
        check_key(key)
        await self._run(
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
            if _code(exc) == "InvalidRange":  # starts past the end, like reading a short file
                return
            raise _error(exc, "get_object", key) from exc
        except BotoCoreError as exc:
            raise _error(exc, "get_object", key) from exc
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
        check_key(key)
        try:
            head = await self._run(self.client.head_object, Bucket=self.bucket, Key=key, key=key)
        except ObjectNotFound:
            return None
        return int(head["ContentLength"])

    async def delete(self, key: str) -> None:
        check_key(key)
        try:
            await self._run(self.client.delete_object, Bucket=self.bucket, Key=key, key=key)
        except ObjectNotFound:
            pass

    async def delete_prefix(self, prefix: str) -> None:
        check_key(prefix.rstrip("/"))  # the empty prefix would be the whole bucket
        await self._delete_matching(prefix)

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

    async def _delete_matching(self, prefix: str, keep: frozenset[str] = frozenset()) -> None:
        """Delete every object under `prefix` except `keep`, one listed page at a time."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": 1000}
        while True:
            page = await self._run(self.client.list_objects_v2, **params)
            keys = [item["Key"] for item in page.get("Contents", [])]
            doomed = [{"Key": key} for key in keys if key not in keep]
            if doomed:
                response = await self._run(
                    self.client.delete_objects,
                    Bucket=self.bucket,
                    Delete={"Objects": doomed, "Quiet": True},
                )
                errors = [e for e in response.get("Errors", []) if e.get("Code") != "NoSuchKey"]
                if errors:
                    raise S3Error(f"S3 could not delete {errors[0]}", errors[0].get("Code", ""))
            if not page.get("IsTruncated"):
                return
            params["ContinuationToken"] = page["NextContinuationToken"]

    async def _run(self, fn: Callable[..., T], *args: Any, key: str | None = None, **kw: Any) -> T:
        """Call `fn` in a thread; `key` names the object whose absence is ObjectNotFound."""
        try:
            return await asyncio.to_thread(fn, *args, **kw)
        except (ClientError, BotoCoreError, Boto3Error) as exc:
            raise _error(exc, getattr(fn, "__name__", "call"), key) from exc


def _make_client(settings: S3Settings, endpoint_url: str | None) -> Any:
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": settings.addressing},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        # botocore >= 1.36 adds CRC32 checksums (as aws-chunked trailers over https) to every
        # upload, which Swift and older S3 clones refuse: send them only where S3 requires.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    client = boto3.session.Session().client(
        "s3",
        region_name=settings.region,
        endpoint_url=endpoint_url,
        aws_access_key_id=settings.access_key,
        aws_secret_access_key=settings.secret_key,
        config=config,
    )
    client.meta.events.register("before-sign.s3.DeleteObjects", _add_content_md5)
    return client


def _add_content_md5(request: Any, **_: Any) -> None:
    # DeleteObjects must carry a checksum; botocore >= 1.36 sends a CRC32 where S3 clones
    # (Swift s3api, older MinIO) insist on Content-MD5.
    if "Content-MD5" in request.headers:
        return
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode()
    digest = hashlib.md5(body, usedforsecurity=False).digest()
    request.headers["Content-MD5"] = base64.b64encode(digest).decode()


def _error(exc: Exception, operation: str, key: str | None) -> StorageError:
    code = _code(exc) if isinstance(exc, ClientError) else ""
    if key is not None and code in _NOT_FOUND:
        return ObjectNotFound(key)
    where = f" {key!r}" if key else ""
    return S3Error(f"S3 {operation}{where} failed: {exc}", code)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
