"""Resumable uploads: state in the database, bytes in storage, so any instance can resume one.

A PATCH takes a lock row-wise in the database (lock token + expiry), streams the body into
storage, then records the new offset and releases the lock in one conditional update. The
upload that reaches its length completes its storage object, moves the message to
`processing` and enqueues the media job in the same transaction.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relay import keys, lifecycle
from relay.context import Services
from relay.db import utcnow
from relay.enums import MessageKind, MessageStatus
from relay.errors import (
    Conflict,
    Gone,
    InsufficientStorage,
    Locked,
    NotFound,
    TooManyRequests,
)
from relay.inputs import Draft
from relay.messages import delete_message, new_message
from relay.models import Message, Upload, User, new_id
from relay.settings import Settings
from relay.storage import StorageError, UploadState

LOCK_SECONDS = 60.0
EXPIRED = "The upload expired before it was finished."


def new_upload_id() -> str:
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class Author:
    """Who writes a new message and where, as the caller's access checks found them."""

    user_id: str
    parent: Message | None = None
    guest: bool = False  # a guest's place stays bound to their link


async def start_message(
    services: Services,
    kind: MessageKind,
    draft: Draft,
    author: Author | Callable[[AsyncSession], Awaitable[Author]],
    *,
    length: int | None = None,
    metadata: dict[str, str] | None = None,
) -> tuple[Message, Upload | None]:
    """A new message and, for a recording, its tus upload (of deferred length unless given,
    so the recorder can stream while recording).

    The storage upload begins first, so no transaction waits on storage. Then one transaction
    holds the access checks that find the author (when `author` is a function of the session),
    the upload quota, the message and the upload row: a refused upload (429, 507) leaves
    nothing behind.
    """
    message_id = new_id()
    state = None
    if kind is not MessageKind.text:
        state = await _begin(services, message_id, upload_id := new_upload_id())
    try:
        async with services.sessions.begin() as session:
            who = author if isinstance(author, Author) else await author(session)
            if state is not None:  # first: it locks the author's row
                await _check_open_uploads(
                    session, who.user_id, services.settings.limits.open_uploads
                )
            message, _ = await new_message(
                session,
                who.user_id,
                kind,
                title=draft.title,
                body=draft.body,
                parent=who.parent,
                at=draft.at,
                language=draft.language,
                guest=who.guest,
                secret=services.secret,
                message_id=message_id,
            )
            upload = None
            if state is not None:
                meta = {"message": message_id} if metadata is None else metadata
                upload = _upload_row(
                    services, upload_id, message_id, who.user_id, length, meta, state
                )
                session.add(upload)
    except BaseException:
        if state is not None:
            await services.storage.upload_abort(state)
        raise
    return message, upload


async def open_upload(
    services: Services,
    *,
    message_id: str,
    owner_id: str,
    length: int | None,
    metadata: dict[str, str],
) -> Upload:
    """A new upload of an existing message's media, refused while the disk is short of space
    (507) or its owner has too many unfinished uploads (429)."""
    state = await _begin(services, message_id, upload_id := new_upload_id())
    try:
        async with services.sessions.begin() as session:
            await _check_open_uploads(session, owner_id, services.settings.limits.open_uploads)
            upload = _upload_row(services, upload_id, message_id, owner_id, length, metadata, state)
            session.add(upload)
            return upload
    except BaseException:
        await services.storage.upload_abort(state)
        raise


async def _begin(services: Services, message_id: str, upload_id: str) -> UploadState:
    check_free_space(services.settings)
    return await services.storage.upload_begin(keys.original(message_id, upload_id))


def _upload_row(
    services: Services,
    upload_id: str,
    message_id: str,
    owner_id: str,
    length: int | None,
    metadata: dict[str, str],
    state: UploadState,
) -> Upload:
    return Upload(
        id=upload_id,
        message_id=message_id,
        owner_id=owner_id,
        length=length,
        offset=0,
        metadata_json=metadata,
        store_state=state.to_json(),
        expires_at=utcnow() + timedelta(seconds=services.settings.upload_expiry_seconds),
    )


async def _check_open_uploads(session: AsyncSession, owner_id: str, most: int) -> None:
    """Counted in the transaction that adds the upload, with the owner's row locked (SQLite: the
    write lock), so that parallel requests cannot pass the quota together."""
    await session.execute(select(User.id).where(User.id == owner_id).with_for_update())
    unfinished = await session.scalar(
        select(func.count())
        .select_from(Upload)
        .where(
            Upload.owner_id == owner_id,
            Upload.completed_at.is_(None),
            Upload.expires_at > utcnow(),
        )
    )
    if (unfinished or 0) >= most:
        raise TooManyRequests(
            f"You have {unfinished} unfinished uploads, the most allowed: "
            "finish or delete one first."
        )


def check_free_space(settings: Settings) -> None:
    """Refuse (507) while a folder that takes upload bytes has less than the minimum free."""
    folders = [settings.spool_dir] + ([settings.media_dir] if settings.storage == "local" else [])
    if any(_free_bytes(f) < settings.limits.min_free_bytes for f in folders):
        raise InsufficientStorage(
            "The server is short of disk space and takes no uploads until some is freed."
        )


def _free_bytes(folder: Path) -> int:
    # The folders are made on first use: ask the disk they will be on.
    folder = folder.absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


async def discard_message(services: Services, message_id: str) -> None:
    """Remove a message made by a request that then failed, with whatever it stored."""
    async with services.sessions.begin() as session:
        message = await session.get(Message, message_id)
        if message is not None:
            await delete_message(session, services.storage, message)


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
    lock: Lock | None = None,
) -> int:
    """Store the body after `expected_offset`; finish the upload when it is complete."""
    lock = lock or Lock(services, upload_id)
    state = await lock.acquire(expected_offset, length)
    try:
        state = await services.storage.upload_append(state, body)
    except BaseException:
        await lock.release()
        raise
    await lock.commit(state)
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
        lifecycle.mark_processing(session, message, attempts=services.settings.jobs.max_attempts)
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
