"""Both storage backends against real stores: a temporary folder and OpenStack Swift (s3api)."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from relay.settings import MiB
from relay.storage.base import (
    CHUNK_SIZE,
    ObjectNotFound,
    Storage,
    StorageError,
    UploadState,
    inline_disposition,
)
from relay.storage.local import LocalStorage
from relay.storage.s3 import S3Storage

KiB = 1024


def new_key(name: str = "object.bin") -> str:
    return f"test/{uuid.uuid4().hex}/{name}"


def write_file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def read_file(path: Path) -> bytes:
    return path.read_bytes()


def names_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def chunks_of(data: bytes, size: int = 64 * KiB) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def nothing() -> AsyncIterator[bytes]:
    return
    yield b""


async def read_all(storage: Storage, key: str, start: int = 0, stop: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in storage.read(key, start, stop)])


async def sha256_of(storage: Storage, key: str) -> str:
    digest = hashlib.sha256()
    async for chunk in storage.read(key):
        digest.update(chunk)
    return digest.hexdigest()


def twin(storage: Storage, tmp_path: Path) -> Storage:
    """Another instance on the same store, as a second relay process would hold."""
    if isinstance(storage, S3Storage):
        return S3Storage(storage.settings, spool_dir=tmp_path / "twin-spool")
    assert isinstance(storage, LocalStorage)
    return LocalStorage(storage.root)


def saved(state: UploadState) -> UploadState:
    """The state as the database gives it back."""
    return UploadState.from_json(json.loads(json.dumps(state.to_json())))


def leftovers(storage: Storage, key: str) -> tuple[list[str], list[str]]:
    """(open multipart uploads, objects) still stored under `key` on S3."""
    assert isinstance(storage, S3Storage)
    uploads = storage.client.list_multipart_uploads(Bucket=storage.bucket, Prefix=key)
    objects = storage.client.list_objects_v2(Bucket=storage.bucket, Prefix=key)
    return (
        [u["Key"] for u in uploads.get("Uploads", []) if u["Key"] == key],
        [o["Key"] for o in objects.get("Contents", [])],
    )


async def test_put_file_then_get_file_roundtrip(storage: Storage, tmp_path: Path) -> None:
    data = os.urandom(3 * MiB + 123)
    key = new_key()
    await storage.put_file(key, write_file(tmp_path / "in.bin", data), "video/mp4")
    assert await storage.size(key) == len(data)
    await storage.get_file(key, tmp_path / "out.bin")
    assert read_file(tmp_path / "out.bin") == data


async def test_read_ranges(storage: Storage, tmp_path: Path) -> None:
    data = os.urandom(MiB + 7)
    n = len(data)
    key = new_key()
    await storage.put_file(key, write_file(tmp_path / "in.bin", data), "audio/mp4")
    chunks = [chunk async for chunk in storage.read(key)]
    assert b"".join(chunks) == data
    assert max(len(chunk) for chunk in chunks) <= CHUNK_SIZE
    assert await read_all(storage, key, 10, 20) == data[10:20]
    assert await read_all(storage, key, 300 * KiB, 700 * KiB) == data[300 * KiB : 700 * KiB]
    assert await read_all(storage, key, n - 1, n) == data[-1:]
    assert await read_all(storage, key, n - 1) == data[-1:]
    assert await read_all(storage, key, 0, 2) == data[:2]
    assert await read_all(storage, key, 5, 5) == b""
    assert await read_all(storage, key, n + 10) == b""


async def test_size_of_missing_is_none(storage: Storage) -> None:
    assert await storage.size(new_key()) is None


async def test_get_file_of_missing_raises_object_not_found(
    storage: Storage, tmp_path: Path
) -> None:
    key = new_key()
    with pytest.raises(ObjectNotFound) as info:
        await storage.get_file(key, tmp_path / "out.bin")
    assert info.value.key == key
    assert not (tmp_path / "out.bin").exists()
    with pytest.raises(ObjectNotFound):
        await read_all(storage, key)


async def test_delete_is_idempotent(storage: Storage, tmp_path: Path) -> None:
    key = new_key()
    await storage.put_file(key, write_file(tmp_path / "in.bin", b"abc"), "text/plain")
    await storage.delete(key)
    await storage.delete(key)
    assert await storage.size(key) is None


async def test_delete_prefix_removes_only_that_prefix(storage: Storage, tmp_path: Path) -> None:
    base = f"test/{uuid.uuid4().hex}"
    source = write_file(tmp_path / "in.bin", b"x")
    names = ["a/one", "a/deep/two", "ab", "b/three"]
    for name in names:
        await storage.put_file(f"{base}/{name}", source, "text/plain")
    await storage.delete_prefix(f"{base}/a/")
    assert [await storage.size(f"{base}/{name}") for name in names] == [None, None, 1, 1]
    await storage.delete_prefix(f"{base}/a")
    assert [await storage.size(f"{base}/{name}") for name in names] == [None, None, None, 1]
    await storage.delete_prefix(f"{base}/nothing-here/")
    with pytest.raises(StorageError):
        await storage.delete_prefix("")


@pytest.mark.parametrize(
    "key", ["../x", "a/../../x", "/etc/passwd", "a\\..\\x", "a\x00b", "", "a//b", "./a", "a/"]
)
async def test_keys_that_could_escape_are_rejected(
    storage: Storage, tmp_path: Path, key: str
) -> None:
    source = write_file(tmp_path / "in.bin", b"x")
    with pytest.raises(StorageError):
        await storage.put_file(key, source, "text/plain")
    with pytest.raises(StorageError):
        await storage.size(key)
    with pytest.raises(StorageError):
        await storage.upload_begin(key)
    with pytest.raises(StorageError):
        await read_all(storage, key)
    if isinstance(storage, LocalStorage):
        assert names_in(storage.root) == []
    assert names_in(tmp_path) == ["in.bin"] + (
        ["media"] if isinstance(storage, LocalStorage) else []
    )


async def test_presigned_url_serves_ranges_with_overridden_headers(
    storage: Storage, tmp_path: Path
) -> None:
    data = os.urandom(4 * KiB)
    key = new_key("voice.m4a")
    await storage.put_file(key, write_file(tmp_path / "in.bin", data), "audio/mp4")
    url = await storage.presigned_url(key, content_type="audio/mp4", filename="Voice note.m4a")
    if isinstance(storage, LocalStorage):
        assert url is None
        return
    assert url is not None
    async with httpx.AsyncClient() as client:
        response = await client.get(url, headers={"Range": "bytes=0-1"})
    assert response.status_code == 206
    assert response.content == data[:2]
    assert response.headers["content-range"] == f"bytes 0-1/{len(data)}"
    assert response.headers["content-type"] == "audio/mp4"
    assert response.headers["content-disposition"] == 'inline; filename="Voice note.m4a"'


def test_inline_disposition_keeps_ascii_and_encodes_the_rest() -> None:
    assert inline_disposition("clip.mp4") == 'inline; filename="clip.mp4"'
    assert (
        inline_disposition('a"b.mp4') == "inline; filename=\"ab.mp4\"; filename*=UTF-8''a%22b.mp4"
    )
    assert inline_disposition("café.m4a") == (
        "inline; filename=\"cafe.m4a\"; filename*=UTF-8''caf%C3%A9.m4a"
    )
    assert inline_disposition("x\r\ny") == 'inline; filename="xy"'


async def test_upload_of_many_small_appends_stores_every_byte(storage: Storage) -> None:
    key = new_key()
    state = await storage.upload_begin(key)
    sent = hashlib.sha256()
    total = 0
    for _ in range(41):  # 41 x 300 KiB = 12.0 MiB: two full 5 MiB parts and a tail
        piece = os.urandom(300 * KiB)
        state = saved(await storage.upload_append(state, chunks_of(piece)))
        sent.update(piece)
        total += len(piece)
        assert state.offset == total
    if isinstance(storage, S3Storage):
        assert [p["size"] for p in state.parts] == [5 * MiB, 5 * MiB]
        assert sum(s["size"] for s in state.segments) == total - 10 * MiB
    await storage.upload_finish(state)
    assert await storage.size(key) == total
    assert await sha256_of(storage, key) == sent.hexdigest()
    if isinstance(storage, S3Storage):
        assert leftovers(storage, key) == ([], [key])


async def test_append_that_stops_early_keeps_exactly_the_bytes_yielded(storage: Storage) -> None:
    data = os.urandom(7 * MiB)

    async def disconnecting() -> AsyncIterator[bytes]:
        # The client goes away 1.5 MiB into its second request, past the 5 MiB part boundary.
        async for chunk in chunks_of(data[4 * MiB : int(5.5 * MiB)], 100 * KiB):
            yield chunk

    key = new_key()
    state = await storage.upload_begin(key)
    state = await storage.upload_append(state, chunks_of(data[: 4 * MiB]))
    state = await storage.upload_append(state, disconnecting())
    assert state.offset == int(5.5 * MiB)
    state = await storage.upload_append(state, chunks_of(data[state.offset :]))
    await storage.upload_finish(state)
    assert await read_all(storage, key) == data


async def test_upload_resumes_on_another_instance_from_saved_state(
    storage: Storage, tmp_path: Path
) -> None:
    other = twin(storage, tmp_path)
    data = os.urandom(9 * MiB + 5)
    key = new_key()
    state = saved(await storage.upload_begin(key))
    state = saved(await other.upload_append(state, chunks_of(data[: 3 * MiB])))
    state = saved(await storage.upload_append(state, chunks_of(data[3 * MiB : 6 * MiB])))
    state = saved(await other.upload_append(state, chunks_of(data[6 * MiB :])))
    assert state.offset == len(data)
    await storage.upload_finish(state)
    assert await read_all(other, key) == data


async def test_failed_or_unsaved_append_leaves_the_previous_state_usable(storage: Storage) -> None:
    data = os.urandom(8 * MiB)

    async def failing() -> AsyncIterator[bytes]:
        async for chunk in chunks_of(os.urandom(3 * MiB)):
            yield chunk
        raise RuntimeError("proxy reset the connection")

    key = new_key()
    state = await storage.upload_begin(key)
    state = await storage.upload_append(state, chunks_of(data[: 4 * MiB]))
    with pytest.raises(RuntimeError):
        await storage.upload_append(state, failing())
    # An append that succeeded but whose new state the database never stored.
    await storage.upload_append(state, chunks_of(os.urandom(2 * MiB)))
    state = await storage.upload_append(state, chunks_of(data[4 * MiB :]))
    await storage.upload_finish(state)
    assert await read_all(storage, key) == data


async def test_empty_upload_finishes_as_empty_object(storage: Storage) -> None:
    key = new_key()
    state = await storage.upload_begin(key)
    state = await storage.upload_append(state, nothing())
    assert state.offset == 0
    await storage.upload_finish(state)
    assert await storage.size(key) == 0
    assert await read_all(storage, key) == b""
    if isinstance(storage, S3Storage):
        assert leftovers(storage, key) == ([], [key])


@pytest.mark.parametrize("length", [11 * MiB + 5, 10 * MiB], ids=["with-tail", "whole-parts"])
async def test_single_append_larger_than_two_parts(storage: Storage, length: int) -> None:
    data = os.urandom(length)
    key = new_key()
    state = await storage.upload_begin(key)
    state = await storage.upload_append(state, chunks_of(data, len(data)))  # one huge chunk
    assert state.offset == len(data)
    if isinstance(storage, S3Storage):
        assert [p["size"] for p in state.parts] == [5 * MiB, 5 * MiB]
        assert [s["size"] for s in state.segments] == ([length - 10 * MiB] if length % MiB else [])
    await storage.upload_finish(state)
    assert await read_all(storage, key) == data


async def test_abort_removes_everything(storage: Storage) -> None:
    key = new_key()
    state = await storage.upload_begin(key)
    state = await storage.upload_append(state, chunks_of(os.urandom(6 * MiB)))
    await storage.upload_abort(state)
    await storage.upload_abort(state)
    assert await storage.size(key) is None
    if isinstance(storage, S3Storage):
        assert leftovers(storage, key) == ([], [])
    else:
        assert isinstance(storage, LocalStorage)
        assert not (storage.root / key).exists()


def _crash_leftover(path: Path) -> None:
    with path.open("ab") as f:
        f.write(b"bytes nobody acknowledged" * 1000)


async def test_local_append_after_crash_truncates_unacknowledged_bytes(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    first, second = os.urandom(100 * KiB), os.urandom(50 * KiB)
    key = new_key()
    state = await storage.upload_begin(key)
    state = await storage.upload_append(state, chunks_of(first))
    _crash_leftover(tmp_path / key)
    state = await storage.upload_append(state, chunks_of(second))
    assert state.offset == len(first) + len(second)
    await storage.upload_finish(state)
    assert await read_all(storage, key) == first + second


async def test_local_finish_with_wrong_offset_fails(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    state = await storage.upload_begin(new_key())
    state = await storage.upload_append(state, chunks_of(b"abc"))
    with pytest.raises(StorageError):
        await storage.upload_finish(UploadState(key=state.key, offset=5))
