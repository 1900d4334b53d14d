"""One S3 bucket through boto3, shared by the object store (relay.storage.s3) and its
resumable uploads (relay.storage.s3_uploads): the client, the bucket check, calls in a
worker thread with errors mapped, and deletion by prefix.

boto3 blocks, so every call that does I/O runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from boto3.exceptions import Boto3Error
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from relay.settings import S3Settings
from relay.storage.base import ObjectNotFound, S3Error, StorageError

T = TypeVar("T")

_NOT_FOUND = {"NoSuchKey", "NotFound", "404"}
_NO_BUCKET = {"NoSuchBucket", "NotFound", "404"}


class Bucket:
    """The configured bucket and a client for it."""

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self.name = settings.bucket
        self.client = make_client(settings, settings.endpoint_url)
        self._ready = False

    async def check(self) -> None:
        try:
            await asyncio.to_thread(self.client.head_bucket, Bucket=self.name)
        except ClientError as exc:
            code = error_code(exc)
            if code not in _NO_BUCKET or not self.settings.create_bucket:
                raise S3Error(f"S3 bucket {self.name!r} is not usable: {code}", code) from exc
            await self._create()
        except BotoCoreError as exc:
            raise StorageError(f"S3 endpoint unreachable: {exc}") from exc
        self._ready = True

    async def ensure(self) -> None:
        """Check the bucket (creating it when allowed) once per instance."""
        if not self._ready:
            await self.check()

    async def _create(self) -> None:
        params: dict[str, Any] = {}
        if self.settings.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": self.settings.region}
        try:
            await self.run(self.client.create_bucket, Bucket=self.name, **params)
        except S3Error as exc:
            if exc.code != "BucketAlreadyOwnedByYou":
                raise

    async def run(self, fn: Callable[..., T], *args: Any, key: str | None = None, **kw: Any) -> T:
        """Call `fn` in a thread; `key` names the object whose absence is ObjectNotFound."""
        try:
            return await asyncio.to_thread(fn, *args, **kw)
        except (ClientError, BotoCoreError, Boto3Error) as exc:
            raise error(exc, getattr(fn, "__name__", "call"), key) from exc

    async def size(self, key: str) -> int | None:
        try:
            head = await self.run(self.client.head_object, Bucket=self.name, Key=key, key=key)
        except ObjectNotFound:
            return None
        return int(head["ContentLength"])

    async def delete_matching(self, prefix: str, keep: frozenset[str] = frozenset()) -> None:
        """Delete every object under `prefix` except `keep`, one listed page at a time."""
        params: dict[str, Any] = {"Bucket": self.name, "Prefix": prefix, "MaxKeys": 1000}
        while True:
            page = await self.run(self.client.list_objects_v2, **params)
            keys = [item["Key"] for item in page.get("Contents", [])]
            doomed = [{"Key": key} for key in keys if key not in keep]
            if doomed:
                response = await self.run(
                    self.client.delete_objects,
                    Bucket=self.name,
                    Delete={"Objects": doomed, "Quiet": True},
                )
                errors = [e for e in response.get("Errors", []) if e.get("Code") != "NoSuchKey"]
                if errors:
                    raise S3Error(f"S3 could not delete {errors[0]}", errors[0].get("Code", ""))
            if not page.get("IsTruncated"):
                return
            params["ContinuationToken"] = page["NextContinuationToken"]


def make_client(settings: S3Settings, endpoint_url: str | None) -> Any:
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


def error(exc: Exception, operation: str, key: str | None) -> StorageError:
    code = error_code(exc) if isinstance(exc, ClientError) else ""
    if key is not None and code in _NOT_FOUND:
        return ObjectNotFound(key)
    where = f" {key!r}" if key else ""
    return S3Error(f"S3 {operation}{where} failed: {exc}", code)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


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
