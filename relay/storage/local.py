"""Storage in a folder on the local disk, for single-machine installs and tests."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiofiles
import aiofiles.os

from relay.storage.base import CHUNK_SIZE, ObjectNotFound, StorageError, UploadState, check_key
from relay.storage.files import write_batches


class LocalStorage:
    """Objects are files under `root`; a resumable upload grows the file at its key."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()

    def _path(self, key: str) -> Path:
        path = self.root.joinpath(*check_key(key).split("/"))
        if not path.is_relative_to(self.root):
            raise StorageError(f"invalid storage key {key!r}")
        return path

    def local_path(self, key: str) -> Path:
        return self._path(key)

    async def check(self) -> None:
        try:
            await aiofiles.os.makedirs(self.root, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create {self.root}: {exc}") from exc
        if not await aiofiles.os.access(self.root, os.W_OK):
            raise StorageError(f"{self.root} is not writable")

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        target = self._path(key)
        await aiofiles.os.makedirs(target.parent, exist_ok=True)
        await _copy_atomically(Path(path), target)

    async def get_file(self, key: str, path: Path) -> None:
        source = self._path(key)
        if not await aiofiles.os.path.isfile(source):
            raise ObjectNotFound(key)
        await _copy_atomically(source, Path(path))

    async def read(self, key: str, start: int = 0, stop: int | None = None) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            f = await aiofiles.open(path, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        try:
            await f.seek(start)
            remaining = None if stop is None else max(stop - start, 0)
            while remaining is None or remaining > 0:
                size = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
                chunk = await f.read(size)
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            await f.close()

    async def size(self, key: str) -> int | None:
        path = self._path(key)
        try:
            if not await aiofiles.os.path.isfile(path):
                return None
            return (await aiofiles.os.stat(path)).st_size
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        try:
            await aiofiles.os.remove(self._path(key))
        except (FileNotFoundError, NotADirectoryError):
            pass

    async def delete_prefix(self, prefix: str) -> None:
        """Remove every object whose key starts with `prefix` (which may end in "/")."""
        directory, _, name_start = prefix.rpartition("/")
        base = self._path(directory) if directory else self.root
        check_key(prefix.rstrip("/"))  # the empty prefix would be everything
        await asyncio.to_thread(_remove_matching, base, name_start)

    async def presigned_url(
        self, key: str, *, content_type: str | None = None, filename: str | None = None
    ) -> str | None:
        return None

    async def upload_begin(self, key: str) -> UploadState:
        path = self._path(key)
        await aiofiles.os.makedirs(path.parent, exist_ok=True)
        async with aiofiles.open(path, "wb"):
            pass
        return UploadState(key=key)

    async def upload_append(self, state: UploadState, chunks: AsyncIterator[bytes]) -> UploadState:
        path = self._path(state.key)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise StorageError(f"upload {state.key!r} was not begun or was aborted") from None
        try:
            size = os.fstat(fd).st_size
            if size < state.offset:
                raise StorageError(f"upload {state.key!r} lost bytes before offset {state.offset}")
            if size > state.offset:
                # A crashed earlier append may have written bytes never acknowledged.
                await asyncio.to_thread(os.ftruncate, fd, state.offset)
            try:
                offset = await write_batches(fd, chunks, state.offset)
            except BaseException:
                # Refused or broken: the bytes after state.offset were never acknowledged.
                os.ftruncate(fd, state.offset)
                raise
        finally:
            os.close(fd)
        return UploadState(key=state.key, offset=offset)

    async def upload_finish(self, state: UploadState) -> None:
        size = await self.size(state.key)
        if size != state.offset:
            raise StorageError(f"upload {state.key!r} holds {size} bytes, expected {state.offset}")

    async def upload_abort(self, state: UploadState) -> None:
        await self.delete(state.key)


async def _copy_atomically(source: Path, target: Path) -> None:
    """Copy through a temporary name beside `target`, so readers never see half a file."""
    temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        async with aiofiles.open(source, "rb") as src, aiofiles.open(temp, "wb") as dst:
            while chunk := await src.read(CHUNK_SIZE):
                await dst.write(chunk)
        await aiofiles.os.replace(temp, target)
    finally:
        try:
            await aiofiles.os.remove(temp)
        except FileNotFoundError:
            pass


def _remove_matching(base: Path, name_start: str) -> None:
    if not name_start:
        shutil.rmtree(base, ignore_errors=True)
        return
    try:
        entries = list(os.scandir(base))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if not entry.name.startswith(name_start):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                pass
