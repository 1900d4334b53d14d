"""How many nameless listeners a message or a link has had (relay.listeners records them):
read models for the thread page and the links list."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relay.models import AnonymousListen


async def per_message(
    session: AsyncSession, message_ids: Iterable[str]
) -> dict[str, tuple[int, int]]:
    """Nameless listeners of each message, through any link: (how many, how many heard it)."""
    ids = list(message_ids)
    if not ids:
        return {}
    rows = await (await session.connection()).execute(_PER_MESSAGE, {"ids": ids})
    return {message_id: (count, heard) for message_id, count, heard in rows}


async def per_link(session: AsyncSession, link_keys: Iterable[str]) -> dict[str, int]:
    """Nameless people who played anything through each link."""
    keys = list(link_keys)
    if not keys:
        return {}
    rows = await session.execute(
        select(AnonymousListen.link_key, func.count(AnonymousListen.listener.distinct()))
        .where(AnonymousListen.link_key.in_(keys))
        .group_by(AnonymousListen.link_key)
    )
    return {key: count for key, count in rows}


_PER_MESSAGE = (
    select(
        AnonymousListen.message_id,
        func.count(),
        func.count().filter(AnonymousListen.heard.is_(True)),
    )
    .where(AnonymousListen.message_id.in_(bindparam("ids", expanding=True)))
    .group_by(AnonymousListen.message_id)
)
