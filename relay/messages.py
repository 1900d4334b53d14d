"""Creating and removing messages (domain logic; no web framework here)."""

from __future__ import annotations

from pathlib import PurePosixPath

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from relay import search
from relay.access import new_share_token
from relay.models import Message, MessageKind, MessageStatus, Rendition, ShareLink, Upload, new_id
from relay.storage import Storage, UploadState

MAX_TITLE = 300
MAX_BODY = 20_000


class MessageError(ValueError):
    """The message cannot be created as asked."""


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
    language: str | None = None,
) -> tuple[Message, ShareLink]:
    """A message with its first share link, so the link exists before any media does."""
    if len(title) > MAX_TITLE:
        raise MessageError(f"A title may have at most {MAX_TITLE} characters.")
    if kind is MessageKind.text:
        if not body.strip():
            raise MessageError("A text message needs a non-empty 'body'.")
        if len(body) > MAX_BODY:
            raise MessageError(f"A text message may have at most {MAX_BODY} characters.")
    elif body:
        raise MessageError("Only text messages have a 'body'.")
    message_id = new_id()
    message = Message(
        id=message_id,
        author_id=author_id,
        kind=kind,
        status=MessageStatus.ready if kind is MessageKind.text else MessageStatus.uploading,
        thread_id=parent.thread_id if parent else message_id,
        parent_id=parent.id if parent else None,
        title=title.strip(),
        body=body,
        language=language,
    )
    link = ShareLink(token=new_share_token(), message_id=message_id, created_by=author_id)
    session.add_all([message, link])
    await session.flush()
    if kind is MessageKind.text:
        await search.replace_entries(session, message.id, [(0.0, f"{title}\n{body}")], language)
    return message, link


async def delete_message(session: AsyncSession, storage: Storage, message: Message) -> None:
    """Remove the message, its uploads and every stored byte of it."""
    uploads = (await session.scalars(select(Upload).where(Upload.message_id == message.id))).all()
    for upload in uploads:
        if upload.completed_at is None:
            await storage.upload_abort(UploadState.from_json(upload.store_state))
    await storage.delete_prefix(f"originals/{message.id}/")
    await storage.delete_prefix(f"renditions/{message.id}/")
    await session.execute(delete(Rendition).where(Rendition.message_id == message.id))
    await search.remove_entries(session, message.id)
    await session.delete(message)
