"""Who may see what. Ids alone never grant anything: access comes from a thread membership,
from a live share link, or from being an admin (who may read but not act)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
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
        return Seat(thread, user, member.role, via_link=member.via_link)
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
