"""Starting an upload: a new message with its upload, or another upload of an existing
message, each refused while the disk is short of space (507) or its owner has too many
unfinished uploads (429). `relay.upload_service` takes the bytes from there."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relay import keys, lifecycle
from relay.context import Services
from relay.db import utcnow
from relay.enums import MessageKind
from relay.errors import InsufficientStorage, TooManyRequests
from relay.inputs import Draft
from relay.messages import delete_message, new_message
from relay.models import Message, Upload, User, new_id
from relay.notify import batches
from relay.settings import Settings
from relay.storage import UploadState


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
            if kind is MessageKind.text:
                await batches.announce(session, message, enabled=services.settings.mail.enabled)
            upload = None
            if state is not None:
                meta = {"message": message_id} if metadata is None else metadata
                upload = _upload_row(
                    services, upload_id, message_id, who.user_id, length, meta, state
                )
                session.add(upload)
                if length is None and _can_follow(services, state):
                    lifecycle.queue_live(session, message, upload_id)
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


def _can_follow(services: Services, state: UploadState) -> bool:
    """Whether a worker can transcode this recording while it arrives: live jobs are on,
    and the upload's bytes are a file workers can read as it grows (the local store)."""
    return services.settings.jobs.live > 0 and services.storage.local_path(state.key) is not None


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
