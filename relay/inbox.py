"""The inbox: threads a user takes part in or was shared, newest activity first, with unread
counts and whether the thread waits on them. A fixed number of queries for the whole page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relay.access import link_is_live
from relay.enums import MemberRole
from relay.models import Listen, Message, ShareLink, Thread, ThreadMember, User
from relay.thread_view import display_name, playable, waiting_on

INBOX_LIMIT = 100


async def threads_of(session: AsyncSession, user: User) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Thread, ThreadMember, ShareLink)
        .join(ThreadMember, ThreadMember.thread_id == Thread.id)
        .outerjoin(ShareLink, ShareLink.key == ThreadMember.via_link)
        .where(ThreadMember.user_id == user.id)
        .order_by(Thread.last_activity_at.desc(), Thread.id)
        .limit(INBOX_LIMIT)
    )
    mine = [
        (thread, member)
        for thread, member, link in rows
        if member.via_link is None or (link is not None and link_is_live(link))
    ]
    ids = [thread.id for thread, _ in mine]
    messages: dict[str, list[Message]] = {}
    for message in await session.scalars(
        select(Message).where(Message.thread_id.in_(ids)).order_by(Message.created_at, Message.id)
    ):
        messages.setdefault(message.thread_id, []).append(message)
    heard = set(
        await session.scalars(
            select(Listen.message_id)
            .join(Message, Message.id == Listen.message_id)
            .where(Message.thread_id.in_(ids), Listen.user_id == user.id, Listen.heard)
        )
    )
    members: dict[str, list[str]] = {}
    for member in await session.scalars(
        select(ThreadMember)
        .where(ThreadMember.thread_id.in_(ids), ThreadMember.role != MemberRole.viewer)
        .order_by(ThreadMember.joined_at, ThreadMember.user_id)
    ):
        members.setdefault(member.thread_id, []).append(member.user_id)
    author_ids = {m.author_id for ms in messages.values() for m in ms}
    people = {u.id: u for u in await session.scalars(select(User).where(User.id.in_(author_ids)))}
    return [
        _summary(
            thread, messages.get(thread.id, []), heard, members.get(thread.id, []), user, people
        )
        for thread, _ in mine
    ]


def _summary(
    thread: Thread,
    messages: list[Message],
    heard: set[str],
    member_ids: list[str],
    user: User,
    people: dict[str, User],
) -> dict[str, Any]:
    unread = [m for m in messages if m.author_id != user.id and m.id not in heard and playable(m)]
    latest = messages[-1] if messages else None
    author = people.get(latest.author_id) if latest else None
    return {
        "id": thread.id,
        "title": next((m.title for m in messages if m.title), ""),
        "url": f"/t/{thread.id}",
        "last_activity_at": thread.last_activity_at.isoformat(),
        "messages": len(messages),
        "unread": len(unread),
        "waiting_on_you": user.id in waiting_on(messages, member_ids),
        "latest": None
        if latest is None
        else {
            "kind": latest.kind.value,
            "status": latest.status.value,
            "duration": latest.duration,
            "author": display_name(author) if author else "",
            "created_at": latest.created_at.isoformat(),
        },
    }
