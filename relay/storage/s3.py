"""Storage in an S3-compatible bucket (AWS S3, MinIO, Swift s3api, ...) through boto3.

boto3 blocks, so every call that does I/O runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
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

T = TypeVar("T")

_NOT_FOUND = {"NoSuchKey", "NotFound", "404"}
_NO_BUCKET = {"NoSuchBucket", "NotFound", "404"}


class S3Error(StorageError):
    """The S3 API refused a request; `code` is its error code (such as "NoSuchUpload")."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class S3Storage:
    """Objects in one bucket; resumable uploads are multipart uploads whose tail (bytes not
    yet filling a part) waits in small objects under ``<key>.tail/``, so that any relay
    instance can continue an upload."""

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

    # Resumable uploads. Segments that a returned state no longer names are deleted by the
    # next call, not by the call that replaced them: until the caller has saved the new
    # state, the state it held before stays valid.

    async def upload_begin(self, key: str) -> UploadState:
        check_key(key)
        await self.ensure_bucket()
        response = await self._run(self.client.create_multipart_upload, Bucket=self.bucket, Key=key)
        return UploadState(key=key, multipart_id=response["UploadId"])

    async def upload_append(self, state: UploadState, chunks: AsyncIterator[bytes]) -> UploadState:
        state = UploadState.from_json(state.to_json())
        upload_id = _upload_id(state)
        await self._delete_matching(_tail_prefix(state.key), keep=_segment_keys(state))
        part_size = self.settings.part_size
        await asyncio.to_thread(self.spool_dir.mkdir, parents=True, exist_ok=True)
        spool = await asyncio.to_thread(tempfile.TemporaryFile, dir=self.spool_dir)
        try:
            tail, spooled = _total(state.segments), 0
            async for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    room = part_size - tail - spooled
                    piece, view = view[:room], view[room:]
                    await asyncio.to_thread(spool.write, piece)
                    spooled += len(piece)
                    if tail + spooled == part_size:
                        await self._add_part(state, upload_id, spool)
                        await asyncio.to_thread(_rewind, spool)
                        tail, spooled = 0, 0
            if spooled:
                start = _total(state.parts) + tail
                segment = {"key": f"{_tail_prefix(state.key)}{start}", "size": spooled}
                await self._run(self._put_segment, segment["key"], spool, spooled)
                state.segments.append(segment)
        finally:
            await asyncio.to_thread(spool.close)
        state.offset = _total(state.parts) + _total(state.segments)
        return state

    async def upload_finish(self, state: UploadState) -> None:
        upload_id = _upload_id(state)
        if _total(state.parts) + _total(state.segments) != state.offset:
            raise StorageError(f"upload {state.key!r}: parts and segments do not add up")
        state = UploadState.from_json(state.to_json())
        try:
            if state.segments:  # the last part may be of any size
                await self._add_part(state, upload_id, None)
            if state.parts:
                parts = [{"PartNumber": p["n"], "ETag": p["etag"]} for p in state.parts]
                await self._run(
                    self.client.complete_multipart_upload,
                    Bucket=self.bucket,
                    Key=state.key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
            else:  # S3 cannot complete a multipart upload without parts
                await self._abort(state.key, upload_id)
                await self._run(self.client.put_object, Bucket=self.bucket, Key=state.key, Body=b"")
        except S3Error as exc:
            # A finish retried after the completion went through.
            if exc.code != "NoSuchUpload" or await self.size(state.key) != state.offset:
                raise
        await self._delete_matching(_tail_prefix(state.key))

    async def upload_abort(self, state: UploadState) -> None:
        if state.multipart_id:
            await self._abort(state.key, state.multipart_id)
        await self._delete_matching(_tail_prefix(state.key))

    async def _abort(self, key: str, upload_id: str) -> None:
        try:
            await self._run(
                self.client.abort_multipart_upload, Bucket=self.bucket, Key=key, UploadId=upload_id
            )
        except S3Error as exc:
            if exc.code not in ("NoSuchUpload", "404"):
                raise

    async def _add_part(self, state: UploadState, upload_id: str, spool: IO[bytes] | None) -> None:
        """Upload the segments followed by the spooled bytes as the next part."""
        number = len(state.parts) + 1
        size = _total(state.segments) + (await asyncio.to_thread(_flushed_size, spool))
        etag = await self._run(
            self._upload_part, state.key, upload_id, number, state.segments, spool, size
        )
        state.parts.append({"n": number, "etag": etag, "size": size})
        state.segments = []

    def _upload_part(
        self,
        key: str,
        upload_id: str,
        number: int,
        segments: list[dict],
        spool: IO[bytes] | None,
        size: int,
    ) -> str:
        """Runs in a thread: the part goes through a file on disk, never through memory."""
        if not segments and spool is not None:
            spool.seek(0)
            return self._send_part(key, upload_id, number, spool, size)
        with tempfile.TemporaryFile(dir=self.spool_dir) as part:
            for segment in segments:
                self._download_into(segment["key"], part)
            if spool is not None:
                spool.seek(0)
                shutil.copyfileobj(spool, part, CHUNK_SIZE)
            if part.tell() != size:
                raise StorageError(f"upload {key!r}: stored segments hold {part.tell()} bytes")
            part.seek(0)
            return self._send_part(key, upload_id, number, part, size)

    def _send_part(self, key: str, upload_id: str, number: int, body: IO[bytes], size: int) -> str:
        response = self.client.upload_part(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=body,
            ContentLength=size,
        )
        return response["ETag"]

    def _download_into(self, key: str, target: IO[bytes]) -> None:
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        try:
            while chunk := body.read(CHUNK_SIZE):
                target.write(chunk)
        finally:
            body.close()

    def _put_segment(self, key: str, spool: IO[bytes], size: int) -> None:
        spool.flush()
        spool.seek(0)
        self.client.put_object(Bucket=self.bucket, Key=key, Body=spool, ContentLength=size)

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


def _upload_id(state: UploadState) -> str:
    if not state.multipart_id:
        raise StorageError(f"upload {state.key!r} is not an S3 multipart upload")
    return state.multipart_id


def _tail_prefix(key: str) -> str:
    return f"{key}.tail/"


def _segment_keys(state: UploadState) -> frozenset[str]:
    return frozenset(segment["key"] for segment in state.segments)


def _total(items: list[dict]) -> int:
    return sum(int(item["size"]) for item in items)


def _flushed_size(spool: IO[bytes] | None) -> int:
    if spool is None:
        return 0
    spool.flush()
    return spool.seek(0, 2)


def _rewind(spool: IO[bytes]) -> None:
    spool.seek(0)
    spool.truncate()
