"""Who may see what. Ids alone never grant anything: access comes from a thread membership,
from a live share link, or from being an admin (who may read but not act)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relay.db import utcnow
from relay.errors import Forbidden, Gone, NotFound
from relay.models import (
    LinkRights,
    MemberRole,
    Message,
    ShareLink,
    Thread,
    ThreadMember,
    User,
)


def new_share_token() -> str:
    """A capability token: 22 url-safe characters, 132 bits from the OS's CSPRNG."""
    return secrets.token_urlsafe(17)[:22]


@dataclass(frozen=True)
class Seat:
    """A caller's place in one thread: what they may do there, and through which link."""

    thread: Thread
    user: User | None  # None: an anonymous visitor of a link
    role: MemberRole | None  # None: an admin reading, or an anonymous visitor
    link: ShareLink | None = None

    @property
    def can_reply(self) -> bool:
        if self.user is None:
            return False
        if self.link is not None:
            return self.link.rights is LinkRights.reply
        return self.role in (MemberRole.owner, MemberRole.member)

    @property
    def can_reply_with_name(self) -> bool:
        """An anonymous visitor of a reply link may reply once they give a display name."""
        return self.user is None and self.link is not None and self.link.rights is LinkRights.reply

    @property
    def can_share(self) -> bool:
        """Create links: the owner and members who may reply, never guests or link visitors."""
        return self.link is None and self.role in (MemberRole.owner, MemberRole.member)


def link_is_live(link: ShareLink) -> bool:
    return link.revoked_at is None and (link.expires_at is None or link.expires_at > utcnow())


def can_change(user: User, message: Message) -> bool:
    return message.author_id == user.id


async def thread_for_user(session: AsyncSession, user: User, thread_id: str) -> Seat:
    """The user's seat in the thread; 404 unless a member (through a live link) or an admin."""
    thread = await session.get(Thread, thread_id) if len(thread_id) <= 32 else None
    if thread is None:
        raise NotFound("No such thread.")
    member = await session.get(ThreadMember, (thread_id, user.id))
    if member is not None and member.via_link is not None:
        link = await session.get(ShareLink, member.via_link)
        if link is None or not link_is_live(link):
            member = None
    if member is not None:
        return Seat(thread, user, member.role)
    if user.is_admin:
        return Seat(thread, user, None)
    raise NotFound("No such thread.")


async def message_for_user(session: AsyncSession, user: User, message_id: str) -> Message:
    """The message if the user may see it; otherwise 404, whether it exists or not."""
    await message_seat(session, user, message_id)
    message = await session.get(Message, message_id)
    assert message is not None
    return message


async def message_seat(session: AsyncSession, user: User, message_id: str) -> Seat:
    message = await session.get(Message, message_id) if len(message_id) <= 32 else None
    if message is None:
        raise NotFound("No such message.")
    try:
        return await thread_for_user(session, user, message.thread_id)
    except NotFound:
        raise NotFound("No such message.") from None


async def live_link(session: AsyncSession, token: str) -> ShareLink:
    """The link; 404 for an unknown one, 410 for a revoked or expired one."""
    if not (8 <= len(token) <= 64):
        raise NotFound("No such link.")
    link = await session.get(ShareLink, token)
    if link is None:
        raise NotFound("No such link.")
    if link.revoked_at is not None:
        raise Gone("This link has been revoked by its owner.")
    if link.expires_at is not None and link.expires_at <= utcnow():
        raise Gone("This link has expired.")
    return link


async def link_seat(session: AsyncSession, link: ShareLink, user: User | None) -> Seat:
    """A visitor's seat through a live link (link_auth.seat_for has dropped a guest of
    another link to anonymous already)."""
    thread = await session.get(Thread, link.thread_id)
    if thread is None:
        raise Gone("This thread has been deleted.")
    return Seat(thread, user, None, link)


async def message_in_thread(session: AsyncSession, seat: Seat, message_id: str) -> Message:
    message = await session.get(Message, message_id) if len(message_id) <= 32 else None
    if message is None or message.thread_id != seat.thread.id:
        raise NotFound("No such message.")
    return message


def require_reply(seat: Seat) -> None:
    if not seat.can_reply:
        raise Forbidden("You can watch this thread but not reply in it.")


async def share_tokens(session: AsyncSession, message_ids: list[str]) -> dict[str, str]:
    """For each message, the oldest live link of its thread without a passcode, in one query."""
    if not message_ids:
        return {}
    now = utcnow()
    rows = await session.execute(
        select(Message.id, ShareLink)
        .join(ShareLink, ShareLink.thread_id == Message.thread_id)
        .where(
            Message.id.in_(message_ids),
            ShareLink.revoked_at.is_(None),
            ShareLink.passcode_hash.is_(None),
        )
        .order_by(ShareLink.created_at, ShareLink.token)
    )
    found: dict[str, str] = {}
    for message_id, link in rows:
        if link.expires_at is None or link.expires_at > now:
            found.setdefault(message_id, link.token)
    return found


async def share_token_for(session: AsyncSession, message: Message) -> str | None:
    """The oldest live link of the message's thread, if any."""
    return (await share_tokens(session, [message.id])).get(message.id)
