"""Creating and removing messages (domain logic; no web framework here)."""

from __future__ import annotations

from pathlib import PurePosixPath

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relay import events, keys, lifecycle, search, threads
from relay.enums import MemberRole, MessageKind
from relay.errors import BadRequest
from relay.models import Message, Rendition, ShareLink, Thread, Upload, new_id
from relay.storage import Storage, UploadState

MAX_TITLE = 300
MAX_BODY = 20_000


class MessageError(BadRequest):
    """The message cannot be created as asked (400)."""


def kind_for_type(filetype: str) -> MessageKind:
    return MessageKind.audio if filetype.lower().startswith("audio/") else MessageKind.video


def title_from_filename(filename: str) -> str:
    return PurePosixPath(filename.replace("\\", "/")).stem.replace("_", " ")[:MAX_TITLE]


async def new_message(
    session: AsyncSession,
    author_id: str,
    kind: MessageKind,
    *,
    title: str = "",
    body: str = "",
    parent: Message | None = None,
    at: float | None = None,
    language: str | None = None,
    guest: bool = False,
    secret: bytes,
    message_id: str | None = None,
) -> tuple[Message, str | None]:
    """A message, and for a first message the token of its thread's new share link, so the
    link exists before any media does; a reply joins its author to the parent's thread for
    good (a guest's place stays bound to their link)."""
    if len(title) > MAX_TITLE:
        raise MessageError(f"A title may have at most {MAX_TITLE} characters.")
    if kind is MessageKind.text:
        if not body.strip():
            raise MessageError("A text message needs a non-empty 'body'.")
        if len(body) > MAX_BODY:
            raise MessageError(f"A text message may have at most {MAX_BODY} characters.")
    elif body:
        raise MessageError("Only text messages have a 'body'.")
    if at is not None and (parent is None or not 0 <= at <= (parent.duration or 0.0)):
        raise MessageError("'at' must be a moment (in seconds) within the parent message.")
    message_id = message_id or new_id()
    message = Message(
        id=message_id,
        author_id=author_id,
        kind=kind,
        status=lifecycle.first_status(kind),
        thread_id=parent.thread_id if parent else message_id,
        parent_id=parent.id if parent else None,
        at=at,
        title=title.strip(),
        body=body,
        language=language,
    )
    session.add(message)
    token = None
    if parent is None:
        _, token = await threads.start_thread(session, message_id, author_id, secret)
    else:
        if not guest:
            await threads.join(session, parent.thread_id, author_id, MemberRole.member, None)
        await threads.touch(session, parent.thread_id)
    await session.flush()
    events.emit(session, message.thread_id, "message", message.id)
    if kind is MessageKind.text:
        await search.replace_entries(session, message.id, [(0.0, f"{title}\n{body}")], language)
    return message, token


async def delete_message(session: AsyncSession, storage: Storage, message: Message) -> None:
    """Remove the message, its uploads and every stored byte of it."""
    uploads = (await session.scalars(select(Upload).where(Upload.message_id == message.id))).all()
    for upload in uploads:
        if upload.completed_at is None:
            await storage.upload_abort(UploadState.from_json(upload.store_state))
    for prefix in keys.prefixes(message.id):
        await storage.delete_prefix(prefix)
    await session.execute(delete(Rendition).where(Rendition.message_id == message.id))
    await search.remove_entries(session, message.id)
    events.emit(session, message.thread_id, "deleted", message.id)
    successor = await session.scalar(
        select(Message.id)
        .where(Message.thread_id == message.thread_id, Message.id != message.id)
        .order_by(Message.created_at, Message.id)
        .limit(1)
    )
    if successor is None:
        # A thread ends with its last message; its links and memberships go with it.
        await session.execute(delete(Thread).where(Thread.id == message.thread_id))
    else:
        # Links that opened at this message open at the thread's first message instead.
        await session.execute(
            update(ShareLink).where(ShareLink.message_id == message.id).values(message_id=successor)
        )
    await session.delete(message)
