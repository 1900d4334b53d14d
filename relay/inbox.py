"""The inbox: threads a user takes part in or was shared, newest activity first, with unread
counts, whether the thread waits on them, the last message's preview and the people in it.
A fixed number of queries for the whole page, however many threads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relay.access import link_is_live
from relay.enums import MemberRole, MessageKind, TranscriptStatus
from relay.models import Listen, Message, ShareLink, Thread, ThreadMember, Transcript, User
from relay.thread_view import display_name, playable, waiting_on

INBOX_LIMIT = 100
PREVIEW_CHARS = 120


def excerpt(text: str, limit: int = PREVIEW_CHARS) -> str:
    """The start of a text on one line, cut at a word and marked "…" when there is more."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0] if " " in flat[:limit] else flat[:limit]
    return cut.rstrip(" ,.;:–-") + "…"


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
    # The last message of each thread is its preview: a recording's transcript, when done.
    latest_ids = [ms[-1].id for ms in messages.values() if ms[-1].kind is not MessageKind.text]
    done = await session.execute(
        select(Transcript.message_id, Transcript.text).where(
            Transcript.message_id.in_(latest_ids), Transcript.status == TranscriptStatus.done
        )
    )
    transcripts = {message_id: text for message_id, text in done}
    person_ids = {m.author_id for ms in messages.values() for m in ms}
    person_ids |= {uid for uids in members.values() for uid in uids}
    people = {u.id: u for u in await session.scalars(select(User).where(User.id.in_(person_ids)))}
    return [
        _summary(
            thread,
            messages.get(thread.id, []),
            heard,
            members.get(thread.id, []),
            user,
            people,
            transcripts,
        )
        for thread, _ in mine
    ]


def _participants(
    messages: list[Message], member_ids: list[str], user: User, people: dict[str, User]
) -> list[dict[str, str]]:
    """The others in the thread: the most recent speaker first, then members who have not
    spoken, in the order they joined."""
    order: list[str] = []
    for message in reversed(messages):
        if message.author_id not in order:
            order.append(message.author_id)
    order += [uid for uid in member_ids if uid not in order]
    return [
        {"id": uid, "name": display_name(people[uid])}
        for uid in order
        if uid != user.id and uid in people
    ]


def _summary(
    thread: Thread,
    messages: list[Message],
    heard: set[str],
    member_ids: list[str],
    user: User,
    people: dict[str, User],
    transcripts: dict[str, str],
) -> dict[str, Any]:
    unread = [m for m in messages if m.author_id != user.id and m.id not in heard and playable(m)]
    latest = messages[-1] if messages else None
    return {
        "id": thread.id,
        "title": next((m.title for m in messages if m.title), ""),
        "url": f"/t/{thread.id}",
        "last_activity_at": thread.last_activity_at.isoformat(),
        "messages": len(messages),
        "unread": len(unread),
        "waiting_on_you": user.id in waiting_on(messages, member_ids),
        "participants": _participants(messages, member_ids, user, people),
        "latest": None if latest is None else _preview(latest, user, people, transcripts),
    }


def _preview(
    message: Message, user: User, people: dict[str, User], transcripts: dict[str, str]
) -> dict[str, Any]:
    author = people.get(message.author_id)
    if message.kind is MessageKind.text:
        text = message.body or message.title
    else:
        text = transcripts.get(message.id, "")
    return {
        "kind": message.kind.value,
        "status": message.status.value,
        "duration": message.duration,
        "author": display_name(author) if author else "",
        "author_id": message.author_id,
        # Whether the reader wrote it: pages say "You", never a name that reads like it.
        "mine": message.author_id == user.id,
        "text": excerpt(text),
        "created_at": message.created_at.isoformat(),
    }
