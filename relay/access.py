"""Who may see what. Ids alone never grant anything: access comes from a thread membership,
from a live share link, or from being an admin (who may read but not act)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Row, Select, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from relay import links
from relay.db import utcnow
from relay.enums import LinkRights, MemberRole
from relay.errors import Forbidden, Gone, NotFound
from relay.models import Message, ShareLink, Thread, ThreadMember, User


@dataclass(frozen=True)
class Seat:
    """A caller's place in one thread: what they may do there, and through which link."""

    thread: Thread
    user: User | None  # None: an anonymous visitor of a link
    role: MemberRole | None  # None: an admin reading, or an anonymous visitor
    link: ShareLink | None = None  # the link this request came through
    via_link: str | None = None  # a member who joined through a link: that link's key

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
        """Create links: the owner and members for good, never guests, link visitors, or
        members whose place lasts only as long as the link they came through."""
        return (
            self.link is None
            and self.via_link is None
            and self.role in (MemberRole.owner, MemberRole.member)
        )


def link_is_live(link: LinkState) -> bool:
    return link.revoked_at is None and (link.expires_at is None or link.expires_at > utcnow())


def can_change(user: User, message: Message) -> bool:
    return message.author_id == user.id


async def thread_for_user(session: AsyncSession, user: User, thread_id: str) -> Seat:
    """The user's seat in the thread; 404 unless a member (through a live link) or an admin.
    One statement: the thread with the user's membership and the link it came through."""
    row = None
    if len(thread_id) <= 32:
        params = {"user_id": user.id, "thread_id": thread_id}
        row = (await session.execute(_THREAD_SEAT, params)).first()
    seat = _seat(user, *row) if row is not None else None
    if seat is None:
        raise NotFound("No such thread.")
    return seat


async def message_for_user(session: AsyncSession, user: User, message_id: str) -> Message:
    """The message if the user may see it; otherwise 404, whether it exists or not."""
    return (await visible_message(session, user, message_id))[0][3]


async def message_seat(session: AsyncSession, user: User, message_id: str) -> Seat:
    return (await visible_message(session, user, message_id))[1]


async def visible_message(
    session: AsyncSession,
    user: User,
    message_id: str,
    query: Select[Any] | None = None,
    **params: object,
) -> tuple[Row[Any], Seat]:
    """The row of MESSAGE_SEAT (thread, membership, link, message) or of a query that adds
    columns to it, and the user's seat; 404 unless the user may see the message. One
    statement, built once."""
    row = None
    if len(message_id) <= 32:
        bound = {"user_id": user.id, "message_id": message_id, **params}
        row = (await session.execute(MESSAGE_SEAT if query is None else query, bound)).first()
    seat = _seat(user, *row[:3]) if row is not None else None
    if row is None or seat is None:
        raise NotFound("No such message.")
    return row, seat


def sees(user: User, member: str | None, via_link: str | None, link: LinkState | None) -> bool:
    """Whether the user sees a thread: a member (`member` is not None) through no link or a
    live one (`link`: the one their membership came through), or an admin."""
    if member is not None and (via_link is None or (link is not None and link_is_live(link))):
        return True
    return user.is_admin


class LinkState(Protocol):
    revoked_at: datetime | None
    expires_at: datetime | None


def _seat(
    user: User, thread: Thread, member: ThreadMember | None, link: ShareLink | None
) -> Seat | None:
    if member is not None and member.via_link is not None:
        if link is None or not link_is_live(link):
            member = None
    if member is not None:
        return Seat(thread, user, member.role, via_link=member.via_link)
    if user.is_admin:
        return Seat(thread, user, None)
    return None


# A thread with the caller's membership (:user_id) and the link that membership came through.
_SEAT = (
    select(Thread, ThreadMember, ShareLink)
    .outerjoin(
        ThreadMember,
        and_(ThreadMember.thread_id == Thread.id, ThreadMember.user_id == bindparam("user_id")),
    )
    .outerjoin(ShareLink, ShareLink.key == ThreadMember.via_link)
)
_THREAD_SEAT = _SEAT.where(Thread.id == bindparam("thread_id"))
MESSAGE_SEAT = (
    _SEAT.add_columns(Message)
    .join(Message, Message.thread_id == Thread.id)
    .where(Message.id == bindparam("message_id"))
)


async def live_link(session: AsyncSession, token: str) -> ShareLink:
    """The link; 404 for an unknown one, 410 for a revoked or expired one."""
    if not (8 <= len(token) <= 64):
        raise NotFound("No such link.")
    link = await session.get(ShareLink, links.key_of(token))
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


async def shown_links(
    session: AsyncSession, user: User, thread_ids: set[str]
) -> dict[str, ShareLink]:
    """For each thread, the link it may show this user, in two queries. Nobody is shown a
    link with more rights than they hold: members for good see the oldest live link without
    a passcode; whoever came through a link sees at most that link while it lives; admins
    reading and everyone else see none."""
    if not thread_ids:
        return {}
    seats = {
        member.thread_id: member
        for member in await session.scalars(
            select(ThreadMember).where(
                ThreadMember.thread_id.in_(thread_ids), ThreadMember.user_id == user.id
            )
        )
    }
    candidates = await session.scalars(
        select(ShareLink)
        .where(ShareLink.thread_id.in_(seats), ShareLink.revoked_at.is_(None))
        .order_by(ShareLink.created_at, ShareLink.key)
    )
    found: dict[str, ShareLink] = {}
    for link in candidates:
        member = seats[link.thread_id]
        if not link_is_live(link) or link.thread_id in found:
            continue
        if member.via_link is not None:
            if link.key == member.via_link:
                found[link.thread_id] = link
        elif member.role is not MemberRole.viewer and link.passcode_hash is None:
            found[link.thread_id] = link
    return found


async def share_urls(
    session: AsyncSession, secret: bytes, origin: str, user: User, thread_ids: set[str]
) -> dict[str, str]:
    """Each thread's share URL as `shown_links` allows it and this server can derive it."""
    found = {}
    for thread_id, link in (await shown_links(session, user, thread_ids)).items():
        if (token := links.shown_token(secret, link)) is not None:
            found[thread_id] = f"{origin}/s/{token}"
    return found


async def seat_share_url(
    session: AsyncSession, secret: bytes, origin: str, seat: Seat
) -> str | None:
    """The share URL `shown_links` allows this seat's user in its thread, in one query (the
    seat knows the membership already)."""
    if seat.user is None or seat.role is None or seat.link is not None:
        return None
    if seat.via_link is not None:
        query, params = _SHOWN_VIA, {"thread_id": seat.thread.id, "key": seat.via_link}
    elif seat.role is MemberRole.viewer:
        return None
    else:
        query, params = _SHOWN_TO_MEMBER, {"thread_id": seat.thread.id}
    for link in await session.scalars(query, params):
        if link_is_live(link):
            token = links.shown_token(secret, link)
            return f"{origin}/s/{token}" if token is not None else None
    return None


_SHOWN = (
    select(ShareLink)
    .where(ShareLink.thread_id == bindparam("thread_id"), ShareLink.revoked_at.is_(None))
    .order_by(ShareLink.created_at, ShareLink.key)
)
_SHOWN_VIA = _SHOWN.where(ShareLink.key == bindparam("key"))
_SHOWN_TO_MEMBER = _SHOWN.where(ShareLink.passcode_hash.is_(None))
