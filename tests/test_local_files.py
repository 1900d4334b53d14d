"""relay.storage.files: upload bodies gathered into few large writes, in order, whatever the
chunk sizes; at most two batches held at once."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from relay.storage import files


async def _chunks(data: bytes, sizes: list[int]) -> AsyncIterator[bytes]:
    at = 0
    for size in sizes:
        yield data[at : at + size]
        at += size


@pytest.mark.parametrize(
    "sizes",
    [[65536] * 160, [1] * 700 + [5_000_000], [700_001, 3, 3_485_756]],
    ids=["64k-chunks", "tiny-then-huge", "odd"],
)
async def test_write_batches_writes_every_byte_in_order(tmp_path: Path, sizes: list[int]) -> None:
    data = os.urandom(sum(sizes))
    path = tmp_path / "upload"
    path.write_bytes(b"head")
    fd = os.open(path, os.O_WRONLY)
    try:
        assert await files.write_batches(fd, _chunks(data, sizes), 4) == 4 + len(data)
    finally:
        os.close(fd)
    assert path.read_bytes() == b"head" + data


async def test_write_batches_uses_one_write_per_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = files._pwrite_all

    def counted(fd: int, buffers: list[bytes], offset: int) -> None:
        calls.append(sum(len(b) for b in buffers))
        real(fd, buffers, offset)

    monkeypatch.setattr(files, "_pwrite_all", counted)
    data = os.urandom(10 * 1024 * 1024)
    fd = os.open(tmp_path / "upload", os.O_WRONLY | os.O_CREAT)
    try:
        await files.write_batches(fd, _chunks(data, [65536] * 160), 0)
    finally:
        os.close(fd)
    assert calls == [files.WRITE_BATCH] * (len(data) // files.WRITE_BATCH)


async def test_a_broken_body_leaves_no_write_running(tmp_path: Path) -> None:
    async def broken() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x" * 65536
        raise ConnectionError("client went away")

    fd = os.open(tmp_path / "upload", os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(ConnectionError):
            await files.write_batches(fd, broken(), 0)
    finally:
        os.close(fd)


@pytest.mark.parametrize("nowait", [True, False])
async def test_pread_reads_cached_and_uncached_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nowait: bool
) -> None:
    if not nowait:
        monkeypatch.setattr(files, "_NOWAIT", None)
    data = os.urandom(300_000)
    (tmp_path / "f").write_bytes(data)
    opened = files.open_file(tmp_path / "f")
    assert opened is not None and opened.size == len(data)
    try:
        assert await files.pread(opened.fd, 65536, 1000) == data[1000:66536]
        assert await files.pread(opened.fd, 65536, len(data) - 10) == data[-10:]
    finally:
        os.close(opened.fd)
    assert files.open_file(tmp_path / "missing") is None
