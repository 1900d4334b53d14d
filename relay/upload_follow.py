"""Reading an upload while it arrives: its acknowledged bytes, in order, as PATCHes commit them.

Only bytes the database records as received are read: a PATCH that breaks off has its
unacknowledged tail cut off again (relay.storage.local), and the client resends from the
recorded offset, so what is read here is never taken back.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from relay.context import Services
from relay.enums import MessageStatus
from relay.models import Message, Upload
from relay.storage.files import pread

CHUNK = 1 << 20


class Abandoned(Exception):
    """The upload stopped arriving: deleted, replaced, or silent for too long."""


@dataclass(frozen=True)
class Received:
    offset: int  # bytes acknowledged
    complete: bool


async def received(services: Services, upload_id: str) -> Received:
    """How far the upload is; Abandoned once it is gone or its message no longer waits."""
    async with services.reads() as session:
        row = (
            await session.execute(
                select(Upload.offset, Upload.completed_at, Message.status)
                .join(Message, Message.id == Upload.message_id)
                .where(Upload.id == upload_id)
            )
        ).first()
    if row is None:
        raise Abandoned("The upload or its message was deleted.")
    complete = row.completed_at is not None
    waiting = MessageStatus.processing if complete else MessageStatus.uploading
    if row.status is not waiting:
        raise Abandoned(f"The message is {row.status.value}.")
    return Received(row.offset, complete)


async def wait_for(
    services: Services, upload_id: str, size: int, *, idle_seconds: float, poll_seconds: float
) -> Received:
    """Once `size` bytes have arrived, or the whole upload if it is shorter."""
    async for got in _progress(services, upload_id, idle_seconds, poll_seconds):
        if got.offset >= size or got.complete:
            return got
    raise AssertionError("unreachable: _progress ends only by raising")


async def follow(
    services: Services, upload_id: str, path: Path, *, idle_seconds: float, poll_seconds: float
) -> AsyncIterator[bytes]:
    """The upload's bytes from its first, as they are acknowledged; ends after the last."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        position = 0
        async for got in _progress(services, upload_id, idle_seconds, poll_seconds):
            while position < got.offset:
                chunk = await pread(fd, min(CHUNK, got.offset - position), position)
                if not chunk:
                    raise Abandoned("The upload's file is shorter than its recorded offset.")
                position += len(chunk)
                yield chunk
            if got.complete:
                return
    finally:
        os.close(fd)


async def _progress(
    services: Services, upload_id: str, idle_seconds: float, poll_seconds: float
) -> AsyncIterator[Received]:
    """The upload's progress each time it changes (and once at first); Abandoned after
    `idle_seconds` without a new byte."""
    last, changed = -1, time.monotonic()
    while True:
        got = await received(services, upload_id)
        if got.offset != last or got.complete:
            last, changed = got.offset, time.monotonic()
            yield got
        elif time.monotonic() - changed > idle_seconds:
            raise Abandoned(f"No bytes arrived for {idle_seconds:g} s.")
        await asyncio.sleep(poll_seconds)
