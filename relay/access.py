"""Who may see what. Message ids alone never grant anything: access is by owner or link."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relay.db import utcnow
from relay.errors import Gone, NotFound
from relay.models import Message, ShareLink, User


def new_share_token() -> str:
    """A capability token: 22 url-safe characters, 132 bits from the OS's CSPRNG."""
    return secrets.token_urlsafe(17)[:22]


def can_view(user: User, message: Message) -> bool:
    return user.is_admin or message.author_id == user.id


def can_change(user: User, message: Message) -> bool:
    return message.author_id == user.id


async def message_for_user(session: AsyncSession, user: User, message_id: str) -> Message:
    """The message if the user may see it; otherwise 404, whether it exists or not."""
    message = await session.get(Message, message_id)
    if message is None or not can_view(user, message):
        raise NotFound("No such message.")
    return message


async def message_for_link(session: AsyncSession, token: str) -> tuple[ShareLink, Message]:
    """The message behind a share link; 404 for an unknown link, 410 for a dead one."""
    if not (8 <= len(token) <= 64):
        raise NotFound("No such link.")
    link = await session.get(ShareLink, token)
    if link is None:
        raise NotFound("No such link.")
    if link.revoked_at is not None:
        raise Gone("This link has been revoked by its owner.")
    if link.expires_at is not None and link.expires_at <= utcnow():
        raise Gone("This link has expired.")
    message = await session.get(Message, link.message_id)
    if message is None:
        raise Gone("This message has been deleted.")
    return link, message


async def share_tokens(session: AsyncSession, message_ids: list[str]) -> dict[str, str]:
    """Each message's oldest live link, in one query."""
    if not message_ids:
        return {}
    now = utcnow()
    links = await session.scalars(
        select(ShareLink)
        .where(ShareLink.message_id.in_(message_ids), ShareLink.revoked_at.is_(None))
        .order_by(ShareLink.created_at)
    )
    found: dict[str, str] = {}
    for link in links:
        if link.expires_at is None or link.expires_at > now:
            found.setdefault(link.message_id, link.token)
    return found


async def share_token_for(session: AsyncSession, message: Message) -> str | None:
    """The message's oldest live link, if any."""
    return (await share_tokens(session, [message.id])).get(message.id)
