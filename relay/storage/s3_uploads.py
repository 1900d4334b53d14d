"""Resumable uploads into S3: each is a multipart upload whose tail (bytes not yet filling a
part) waits in small objects under ``<key>.tail/``, so that any relay instance can continue it.

Segments that a returned state no longer names are deleted by the next call, not by the call
that replaced them: until the caller has saved the new state, the state it held before stays
valid.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

from relay.storage.base import CHUNK_SIZE, S3Error, StorageError, UploadState, check_key
from relay.storage.s3_client import Bucket


class MultipartUploads:
    """The upload_* methods of S3Storage, in its bucket; parts go through `spool_dir`."""

    def __init__(self, bucket: Bucket, spool_dir: Path) -> None:
        self.bucket = bucket
        self.spool_dir = spool_dir

    async def begin(self, key: str) -> UploadState:
        check_key(key)
        await self.bucket.ensure()
        response = await self.bucket.run(
            self.bucket.client.create_multipart_upload, Bucket=self.bucket.name, Key=key
        )
        return UploadState(key=key, multipart_id=response["UploadId"])

    async def append(self, state: UploadState, chunks: AsyncIterator[bytes]) -> UploadState:
        state = UploadState.from_json(state.to_json())
        upload_id = _upload_id(state)
        await self.bucket.delete_matching(_tail_prefix(state.key), keep=_segment_keys(state))
        part_size = self.bucket.settings.part_size
        spool_dir = self.spool_dir
        await asyncio.to_thread(spool_dir.mkdir, parents=True, exist_ok=True)
        spool = await asyncio.to_thread(tempfile.TemporaryFile, dir=spool_dir)
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
                await self.bucket.run(self._put_segment, segment["key"], spool, spooled)
                state.segments.append(segment)
        finally:
            await asyncio.to_thread(spool.close)
        state.offset = _total(state.parts) + _total(state.segments)
        return state

    async def finish(self, state: UploadState) -> None:
        upload_id = _upload_id(state)
        if _total(state.parts) + _total(state.segments) != state.offset:
            raise StorageError(f"upload {state.key!r}: parts and segments do not add up")
        state = UploadState.from_json(state.to_json())
        bucket = self.bucket
        try:
            if state.segments:  # the last part may be of any size
                await self._add_part(state, upload_id, None)
            if state.parts:
                parts = [{"PartNumber": p["n"], "ETag": p["etag"]} for p in state.parts]
                await bucket.run(
                    bucket.client.complete_multipart_upload,
                    Bucket=bucket.name,
                    Key=state.key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
            else:  # S3 cannot complete a multipart upload without parts
                await self._abort(state.key, upload_id)
                await bucket.run(
                    bucket.client.put_object, Bucket=bucket.name, Key=state.key, Body=b""
                )
        except S3Error as exc:
            # A finish retried after the completion went through.
            if exc.code != "NoSuchUpload" or await bucket.size(state.key) != state.offset:
                raise
        await bucket.delete_matching(_tail_prefix(state.key))

    async def abort(self, state: UploadState) -> None:
        if state.multipart_id:
            await self._abort(state.key, state.multipart_id)
        await self.bucket.delete_matching(_tail_prefix(state.key))

    async def _abort(self, key: str, upload_id: str) -> None:
        bucket = self.bucket
        try:
            await bucket.run(
                bucket.client.abort_multipart_upload,
                Bucket=bucket.name,
                Key=key,
                UploadId=upload_id,
            )
        except S3Error as exc:
            if exc.code not in ("NoSuchUpload", "404"):
                raise

    async def _add_part(self, state: UploadState, upload_id: str, spool: IO[bytes] | None) -> None:
        """Upload the segments followed by the spooled bytes as the next part."""
        number = len(state.parts) + 1
        size = _total(state.segments) + (await asyncio.to_thread(_flushed_size, spool))
        etag = await self.bucket.run(
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
        response = self.bucket.client.upload_part(
            Bucket=self.bucket.name,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=body,
            ContentLength=size,
        )
        return response["ETag"]

    def _download_into(self, key: str, target: IO[bytes]) -> None:
        body = self.bucket.client.get_object(Bucket=self.bucket.name, Key=key)["Body"]
        try:
            while chunk := body.read(CHUNK_SIZE):
                target.write(chunk)
        finally:
            body.close()

    def _put_segment(self, key: str, spool: IO[bytes], size: int) -> None:
        spool.flush()
        spool.seek(0)
        self.bucket.client.put_object(
            Bucket=self.bucket.name, Key=key, Body=spool, ContentLength=size
        )


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
