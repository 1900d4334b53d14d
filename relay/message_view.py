"""A message as JSON, with its renditions and transcript state: what every view of a message
(the API, the pages, the thread document) shows of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from relay.models import Message, Rendition, Transcript


async def load_renditions(session: AsyncSession, message_id: str) -> list[Rendition]:
    rows = await session.scalars(
        select(Rendition).where(Rendition.message_id == message_id).order_by(Rendition.name)
    )
    return list(rows)


def message_json(
    message: Message,
    *,
    renditions: Sequence[Rendition] | Sequence[Row[Any]],
    media_base: str,
    share_url: str | None,
    transcript: Transcript | None = None,
) -> dict[str, Any]:
    return {
        "id": message.id,
        "kind": message.kind.value,
        "status": message.status.value,
        "title": message.title,
        "body": message.body,
        "duration": message.duration,
        "error": message.error,
        "thread_id": message.thread_id,
        "parent_id": message.parent_id,
        "created_at": message.created_at.isoformat(),
        "language": message.language,
        "share_url": share_url,
        # Media job progress in order: [{"name": "transcode", "state": "running"}, ...]
        "steps": [{"name": name, **step} for name, step in (message.steps or {}).items()],
        "transcript": None
        if transcript is None
        else {
            "status": transcript.status.value,
            "language": transcript.language,
            "text": transcript.text,
            "error": transcript.error,
        },
        "renditions": [
            {
                "name": r.name,
                "mime": r.mime,
                "bytes": r.bytes,
                "width": r.width,
                "height": r.height,
                "duration": r.duration,
                "url": f"{media_base}/{r.name}",
            }
            for r in renditions
        ],
    }


async def load_media(
    session: AsyncSession, ids: list[str]
) -> tuple[dict[str, list[Row[Any]]], dict[str, Transcript]]:
    """Renditions and transcripts of many messages, in two queries."""
    renditions = await load_renditions_of(session, ids)
    transcripts = {
        t.message_id: t
        for t in await session.scalars(select(Transcript).where(Transcript.message_id.in_(ids)))
    }
    return renditions, transcripts


async def load_renditions_of(session: AsyncSession, ids: list[str]) -> dict[str, list[Row[Any]]]:
    """Renditions of many messages (rows of what message_json shows), in one query."""
    renditions: dict[str, list[Row[Any]]] = {}
    for rendition in await (await session.connection()).execute(_RENDITIONS_OF, {"ids": ids}):
        renditions.setdefault(rendition.message_id, []).append(rendition)
    return renditions


_RENDITIONS_OF = (
    select(
        Rendition.message_id,
        Rendition.name,
        Rendition.mime,
        Rendition.bytes,
        Rendition.width,
        Rendition.height,
        Rendition.duration,
    )
    .where(Rendition.message_id.in_(bindparam("ids", expanding=True)))
    .order_by(Rendition.name)
)
