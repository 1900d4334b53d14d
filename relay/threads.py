"""Threads, memberships and share links (domain logic; no web framework here)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from relay import events
from relay.access import new_share_token
from relay.db import utcnow
from relay.models import LinkRights, MemberRole, ShareLink, Thread, ThreadMember

MAX_LABEL = 200
# Stronger roles win when someone joins again through another link.
_RANK = {MemberRole.viewer: 0, MemberRole.member: 1, MemberRole.owner: 2}


async def start_thread(session: AsyncSession, message_id: str, owner_id: str) -> ShareLink:
    """A new thread named after its first message (already added), its owner, and a first
    reply link."""
    session.add(Thread(id=message_id, owner_id=owner_id))
    await session.flush()  # rows the link and the membership refer to
    session.add(ThreadMember(thread_id=message_id, user_id=owner_id, role=MemberRole.owner))
    link = ShareLink(
        token=new_share_token(),
        thread_id=message_id,
        message_id=message_id,
        created_by=owner_id,
        rights=LinkRights.reply,
    )
    session.add(link)
    return link


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


async def touch(session: AsyncSession, thread_id: str) -> None:
    await session.execute(
        update(Thread).where(Thread.id == thread_id).values(last_activity_at=utcnow())
    )


def new_link(
    session: AsyncSession,
    thread: Thread,
    *,
    message_id: str,
    created_by: str,
    rights: LinkRights,
    expires_at: datetime | None,
    passcode_hash: str | None,
    label: str,
) -> ShareLink:
    link = ShareLink(
        token=new_share_token(),
        thread_id=thread.id,
        message_id=message_id,
        created_by=created_by,
        rights=rights,
        expires_at=expires_at,
        passcode_hash=passcode_hash,
        label=label[:MAX_LABEL],
    )
    session.add(link)
    return link


def revoke(session: AsyncSession, link: ShareLink) -> None:
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        events.emit(session, link.thread_id, "link")
