"""Resumable uploads: state in the database, bytes in storage, so any instance can resume one.

A PATCH takes a lock row-wise in the database (lock token + expiry), streams the body into
storage, then records the new offset and releases the lock in one conditional update. The
upload that reaches its length completes its storage object, moves the message to
`processing` and enqueues the media job in the same transaction.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relay import lifecycle, metrics
from relay.context import Services
from relay.db import utcnow
from relay.enums import MessageStatus
from relay.errors import (
    Conflict,
    Gone,
    Locked,
    NotFound,
)
from relay.models import Message, Upload
from relay.storage import StorageError, UploadState

# A PATCH holds its upload's lock as a lease, renewed every third of it while the request
# lives: when the process holding it dies, a resuming client gets in within this time
# (tus-js-client's default retries span 9 s).
LOCK_SECONDS = 6.0
EXPIRED = "The upload expired before it was finished."


async def load(session: AsyncSession, upload_id: str, owner_id: str) -> Upload:
    """The caller's upload; someone else's is as missing as a made-up id."""
    upload = await session.get(Upload, upload_id) if len(upload_id) <= 64 else None
    if upload is None or upload.owner_id != owner_id:
        raise NotFound("No such upload.")
    if upload.completed_at is None and upload.expires_at <= utcnow():
        raise Gone("This upload expired before it was finished; start a new one.")
    return upload


class Lock:
    """The database lock of one PATCH on one upload."""

    def __init__(self, services: Services, upload_id: str) -> None:
        self.services = services
        self.upload_id = upload_id
        self.token = secrets.token_hex(16)

    async def acquire(self, expected_offset: int, length: int | None) -> UploadState:
        now = utcnow()
        async with self.services.sessions.begin() as session:
            result = await session.execute(
                update(Upload)
                .where(
                    Upload.id == self.upload_id,
                    Upload.offset == expected_offset,
                    Upload.completed_at.is_(None),
                    or_(Upload.lock_token.is_(None), Upload.locked_until < now),
                )
                .values(
                    lock_token=self.token,
                    locked_until=now + timedelta(seconds=LOCK_SECONDS),
                    length=length,
                )
            )
            upload = await session.get(Upload, self.upload_id, populate_existing=True)
            if upload is None:
                raise NotFound("No such upload.")
            message = await session.get(Message, upload.message_id)
            if message is not None and message.status is MessageStatus.failed:
                # Refused while it was still arriving (workers/live_job.py): the rest would
                # go nowhere. Raised inside the transaction, so the lock is not taken.
                raise Gone(f"This recording was refused: {message.error}")
            if result.rowcount != 1:
                if upload.offset != expected_offset:
                    raise Conflict(
                        f"Upload-Offset must be {upload.offset}, the number of bytes received.",
                        headers={"Upload-Offset": str(upload.offset)},
                    )
                if upload.completed_at is not None:
                    raise Conflict("This upload is complete already.")
                raise Locked("Another request is writing to this upload; retry in a moment.")
            return UploadState.from_json(upload.store_state)

    async def keep(self) -> None:
        """Renew the lease until cancelled: while the body streams in, and while storage
        finishes what it was given."""
        while True:
            await asyncio.sleep(LOCK_SECONDS / 3)
            await self.refresh()

    async def refresh(self) -> None:
        async with self.services.sessions.begin() as session:
            await session.execute(
                update(Upload)
                .where(Upload.id == self.upload_id, Upload.lock_token == self.token)
                .values(locked_until=utcnow() + timedelta(seconds=LOCK_SECONDS))
            )

    async def commit(self, state: UploadState) -> None:
        """Record what storage holds now and release the lock."""
        expiry = timedelta(seconds=self.services.settings.upload_expiry_seconds)
        async with self.services.sessions.begin() as session:
            result = await session.execute(
                update(Upload)
                .where(Upload.id == self.upload_id, Upload.lock_token == self.token)
                .values(
                    offset=state.offset,
                    store_state=state.to_json(),
                    lock_token=None,
                    locked_until=None,
                    expires_at=utcnow() + expiry,
                )
            )
        if result.rowcount != 1:
            raise Conflict("This request took too long and lost its lock; HEAD and resume.")

    async def release(self) -> None:
        async with self.services.sessions.begin() as session:
            await session.execute(
                update(Upload)
                .where(Upload.id == self.upload_id, Upload.lock_token == self.token)
                .values(lock_token=None, locked_until=None)
            )


async def append(
    services: Services,
    upload_id: str,
    expected_offset: int,
    length: int | None,
    body: AsyncIterator[bytes],
) -> int:
    """Store the body after `expected_offset`; finish the upload when it is complete."""
    lock = Lock(services, upload_id)
    state = await lock.acquire(expected_offset, length)
    keeper = asyncio.create_task(lock.keep())
    try:
        state = await services.storage.upload_append(state, body)
    except BaseException:
        keeper.cancel()
        await lock.release()
        raise
    keeper.cancel()
    await lock.commit(state)
    metrics.UPLOAD_BYTES.inc(state.offset - expected_offset)
    if length is not None and state.offset >= length:
        await finish(services, upload_id)
    return state.offset


async def finish(services: Services, upload_id: str) -> None:
    async with services.sessions.begin() as session:
        upload = await session.get(Upload, upload_id)
        if upload is None or upload.completed_at is not None:
            return
        state = UploadState.from_json(upload.store_state)
        length = upload.length
    try:
        await services.storage.upload_finish(state)
    except StorageError:
        # A finish that completed in storage before a crash is not an error the second time.
        if await services.storage.size(state.key) != length:
            raise
    async with services.sessions.begin() as session:
        done = await session.execute(
            update(Upload)
            .where(Upload.id == upload_id, Upload.completed_at.is_(None))
            .values(completed_at=utcnow())
        )
        if done.rowcount != 1:
            return
        upload = await session.get(Upload, upload_id)
        message = await session.get(Message, upload.message_id) if upload else None
        if upload is None or message is None or message.status is not MessageStatus.uploading:
            return
        message.original_key = state.key
        message.original_type = upload.metadata_json.get("filetype", "")[:200]
        message.original_name = upload.metadata_json.get("filename", "")[:300]
        await lifecycle.mark_processing(
            session, message, attempts=services.settings.jobs.max_attempts
        )
    services.wakeup.set()


async def terminate(services: Services, upload: Upload) -> None:
    if upload.lock_token is not None and upload.locked_until and upload.locked_until > utcnow():
        raise Locked("A request is still writing to this upload; retry in a moment.")
    if upload.completed_at is not None:
        raise Conflict("This upload is complete; delete the message instead.")
    await services.storage.upload_abort(UploadState.from_json(upload.store_state))
    async with services.sessions.begin() as session:
        await session.execute(delete(Upload).where(Upload.id == upload.id))


async def sweep_expired(services: Services) -> int:
    """Abort uploads that expired unfinished (incomplete multipart uploads cost storage)."""
    now = utcnow()
    async with services.sessions.begin() as session:
        expired = (
            await session.scalars(
                select(Upload)
                .where(Upload.completed_at.is_(None), Upload.expires_at <= now)
                .where(or_(Upload.lock_token.is_(None), Upload.locked_until < now))
                .limit(100)
            )
        ).all()
    for upload in expired:
        await services.storage.upload_abort(UploadState.from_json(upload.store_state))
        async with services.sessions.begin() as session:
            await session.execute(delete(Upload).where(Upload.id == upload.id))
            message = await session.get(Message, upload.message_id)
            # Another upload may still bring the media (a client that made its own).
            others = await session.scalar(
                select(Upload.id).where(Upload.message_id == upload.message_id).limit(1)
            )
            if message is not None and message.status is MessageStatus.uploading and not others:
                lifecycle.mark_failed(session, message, EXPIRED)
    return len(expired)
