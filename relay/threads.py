"""Threads, memberships and share links (domain logic; no web framework here)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from relay import events, links
from relay.access import Seat, link_is_live
from relay.db import utcnow
from relay.enums import LinkRights, MemberRole
from relay.models import ShareLink, Thread, ThreadMember, WebSession

MAX_LABEL = 200
# Stronger roles win when someone joins again through another link.
_RANK = {MemberRole.viewer: 0, MemberRole.member: 1, MemberRole.owner: 2}


async def start_thread(
    session: AsyncSession, message_id: str, owner_id: str, secret: bytes
) -> tuple[ShareLink, str]:
    """A new thread named after its first message (already added), its owner, and a first
    reply link, returned with its token."""
    session.add(Thread(id=message_id, owner_id=owner_id))
    await session.flush()  # rows the link and the membership refer to
    session.add(ThreadMember(thread_id=message_id, user_id=owner_id, role=MemberRole.owner))
    seed, token, key = links.mint(secret)
    link = ShareLink(
        key=key,
        seed=seed,
        thread_id=message_id,
        message_id=message_id,
        created_by=owner_id,
        rights=LinkRights.reply,
    )
    session.add(link)
    return link, token


async def join(
    session: AsyncSession,
    thread_id: str,
    user_id: str,
    role: MemberRole,
    via_link: str | None,
) -> ThreadMember:
    """Add or strengthen a membership. A permanent one never becomes link-bound again."""
    member = await session.get(ThreadMember, (thread_id, user_id))
    if member is None:
        member = ThreadMember(thread_id=thread_id, user_id=user_id, role=role, via_link=via_link)
        session.add(member)
        return member
    if _RANK[role] > _RANK[member.role]:
        member.role = role
        member.via_link = via_link
    elif via_link is None:
        member.via_link = None
    return member


async def join_through_link(session: AsyncSession, seat: Seat) -> None:
    """A signed-in visitor of a link keeps the thread in their inbox while the link lives
    (guests have no inbox; a permanent member stays one)."""
    user, link = seat.user, seat.link
    if user is None or link is None:
        return
    role = MemberRole.member if link.rights is LinkRights.reply else MemberRole.viewer
    await join(session, seat.thread.id, user.id, role, link.key)


async def is_member(session: AsyncSession, thread_id: str, user_id: str) -> bool:
    """In the thread for good, or through a link that still lives."""
    member = await session.get(ThreadMember, (thread_id, user_id))
    if member is None or member.via_link is None:
        return member is not None
    link = await session.get(ShareLink, member.via_link)
    return link is not None and link_is_live(link)


async def touch(session: AsyncSession, thread_id: str) -> None:
    await session.execute(
        update(Thread).where(Thread.id == thread_id).values(last_activity_at=utcnow())
    )


def new_link(
    session: AsyncSession,
    thread: Thread,
    secret: bytes,
    *,
    message_id: str,
    created_by: str,
    rights: LinkRights,
    expires_at: datetime | None,
    passcode_hash: str | None,
    label: str,
) -> tuple[ShareLink, str]:
    """A new link and its token (the only moment the token exists outside a request)."""
    seed, token, key = links.mint(secret)
    link = ShareLink(
        key=key,
        seed=seed,
        thread_id=thread.id,
        message_id=message_id,
        created_by=created_by,
        rights=rights,
        expires_at=expires_at,
        passcode_hash=passcode_hash,
        label=label[:MAX_LABEL],
    )
    session.add(link)
    return link, token


async def revoke(session: AsyncSession, link: ShareLink) -> None:
    """The link answers 410 from now on; its guests' sessions end with it."""
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        await _end_guest_sessions(session, link.key)
        events.emit(session, link.thread_id, "link")


async def _end_guest_sessions(session: AsyncSession, link_key: str) -> None:
    """A revoked link takes its guests' sessions with it."""
    await session.execute(delete(WebSession).where(WebSession.link_key == link_key))
