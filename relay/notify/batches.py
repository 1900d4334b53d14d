"""Batches of news for one person: what is new in a thread (or, for a daily digest, in all
their threads) since the batch began, and not yet heard by them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, false, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from relay import jobs
from relay.db import utcnow
from relay.enums import MessageStatus
from relay.models import (
    Guest,
    Listen,
    Message,
    Notification,
    Reaction,
    ThreadMember,
    Transcript,
    User,
)
from relay.names import display_name
from relay.notify import subscriptions, timing
from relay.settings import MailSettings

# Tries while the SMTP server (or a push service) is down, with the job queue's doubling
# back-off (5 s at first, at most an hour between tries): about 6 hours in all.
SEND_ATTEMPTS = 16
DIGEST = "digest"  # the scope of a daily digest; otherwise the scope is a thread's id
PENDING, SENT, SKIPPED, FAILED = "pending", "sent", "skipped", "failed"


@dataclass(frozen=True)
class Item:
    """A new message someone else posted, or their reaction to one's own (kind "reaction",
    the emoji as text), as the mail lists it."""

    message_id: str
    thread_id: str
    thread_title: str
    author: str
    guest: bool
    kind: str
    duration: float | None
    text: str  # the body of a text, the transcript of a recording ("" while none)
    created_at: datetime


async def announce(session: AsyncSession, message: Message, *, enabled: bool) -> None:
    """In the transaction that makes `message` visible: plan the batches it belongs to, when
    mail is `enabled` or another member of the thread has a browser subscribed to Web Push."""
    if enabled or await subscriptions.anyone_in_thread(
        session, message.thread_id, message.author_id
    ):
        jobs.enqueue(session, jobs.ANNOUNCE_JOB, message_id=message.id, max_attempts=5)


async def announce_reaction(session: AsyncSession, message: Message, reaction: Reaction) -> None:
    """In the transaction that stores a reaction: its message's author, if they asked to hear
    of reactions, is planned a batch."""
    if reaction.user_id == message.author_id:
        return
    wants = await session.scalar(select(User.notify_reactions).where(User.id == message.author_id))
    if wants:
        payload = {"reaction": reaction.id}
        jobs.enqueue(session, jobs.ANNOUNCE_JOB, message_id=message.id, payload=payload)


async def plan(session: AsyncSession, settings: MailSettings, message: Message) -> int:
    """A pending batch for each other member who wants mail (when there is mail) or has a
    browser subscribed to push, and has none for this thread yet; their NOTIFY jobs run when
    the batches are due. Returns how many batches began."""
    wants_mail = User.notify_email.is_(True) if settings.enabled else false()
    people = await session.scalars(
        select(User)
        .join(ThreadMember, ThreadMember.user_id == User.id)
        .where(
            ThreadMember.thread_id == message.thread_id,
            User.id != message.author_id,
            or_(wants_mail, subscriptions.has_any(User.id)),
            ~exists().where(Guest.user_id == User.id),
        )
    )
    began = 0
    for user in people:
        began += await _join_batch(session, settings, user, message.thread_id, message.created_at)
    return began


async def plan_reaction(
    session: AsyncSession, settings: MailSettings, message: Message, reaction_id: int
) -> int:
    """A reaction to someone's message is news to them only, and only when they asked for it."""
    reaction = await session.get(Reaction, reaction_id)
    author = await session.get(User, message.author_id)
    if reaction is None or author is None or not author.notify_reactions:
        return 0
    pushed = await session.scalar(select(subscriptions.has_any(literal(author.id))))
    if not (settings.enabled and author.notify_email) and not pushed:
        return 0
    return await _join_batch(session, settings, author, message.thread_id, reaction.created_at)


async def _join_batch(
    session: AsyncSession, settings: MailSettings, user: User, thread_id: str, since: datetime
) -> int:
    """News from `since` joins the person's pending batch, or begins one (then 1)."""
    scope = DIGEST if user.notify_digest == "daily" else thread_id
    pending = await session.scalar(
        select(Notification).where(
            Notification.user_id == user.id,
            Notification.scope == scope,
            Notification.state == PENDING,
        )
    )
    if pending is not None:
        # A recording begun before the batch's first message but ready after it.
        pending.since = min(pending.since, since)
        return 0
    batch = Notification(
        user_id=user.id, scope=scope, since=since, due_at=timing.due_time(settings, user, utcnow())
    )
    session.add(batch)
    await session.flush()
    jobs.enqueue(
        session,
        jobs.NOTIFY_JOB,
        payload={"notification": batch.id},
        run_at=batch.due_at,
        max_attempts=SEND_ATTEMPTS,
    )
    return 1


async def unheard(session: AsyncSession, batch: Notification) -> list[Item]:
    """Ready messages by others in the batch's scope since it began, that its person has not
    heard (a text counts as heard once it was on their screen) and that are newer than their
    own last message in the thread (who replies has seen what came before), oldest first."""
    heard = exists().where(
        and_(Listen.message_id == Message.id, Listen.user_id == batch.user_id, Listen.heard)
    )
    own = aliased(Message)
    last_own = (
        select(func.max(own.created_at))
        .where(own.thread_id == Message.thread_id, own.author_id == batch.user_id)
        .scalar_subquery()
    )
    query = (
        select(Message, User, Transcript.text, Guest.user_id)
        .join(User, User.id == Message.author_id)
        .outerjoin(Transcript, Transcript.message_id == Message.id)
        .outerjoin(Guest, Guest.user_id == Message.author_id)
        .where(
            Message.created_at >= batch.since,
            Message.author_id != batch.user_id,
            Message.status == MessageStatus.ready,
            ~heard,
            or_(last_own.is_(None), Message.created_at > last_own),
        )
        .order_by(Message.created_at, Message.id)
    )
    if batch.scope == DIGEST:
        member = select(ThreadMember.thread_id).where(ThreadMember.user_id == batch.user_id)
        query = query.where(Message.thread_id.in_(member))
    else:
        query = query.where(Message.thread_id == batch.scope)
    rows = (await session.execute(query)).all()
    reacted = await _reactions(session, batch)
    titles = await _titles(
        session, {m.thread_id for m, *_ in rows} | {m.thread_id for _, m, *_ in reacted}
    )
    news = [
        Item(
            message_id=m.id,
            thread_id=m.thread_id,
            thread_title=titles.get(m.thread_id, ""),
            author=display_name(author),
            guest=guest is not None,
            kind=m.kind.value,
            duration=m.duration,
            text=m.body if m.kind.value == "text" else (transcript or ""),
            created_at=m.created_at,
        )
        for m, author, transcript, guest in rows
    ]
    news += [
        Item(
            message_id=m.id,
            thread_id=m.thread_id,
            thread_title=titles.get(m.thread_id, ""),
            author=display_name(who),
            guest=guest is not None,
            kind="reaction",
            duration=None,
            text=reaction.emoji,
            created_at=reaction.created_at,
        )
        for reaction, m, who, guest in reacted
    ]
    return sorted(news, key=lambda item: item.created_at)


async def _reactions(session: AsyncSession, batch: Notification) -> list:
    """Reactions by others to the person's own messages since the batch began, when they
    asked to hear of them."""
    wants = await session.scalar(select(User.notify_reactions).where(User.id == batch.user_id))
    if not wants:
        return []
    query = (
        select(Reaction, Message, User, Guest.user_id)
        .join(Message, Message.id == Reaction.message_id)
        .join(User, User.id == Reaction.user_id)
        .outerjoin(Guest, Guest.user_id == Reaction.user_id)
        .where(
            Message.author_id == batch.user_id,
            Reaction.user_id != batch.user_id,
            Reaction.created_at >= batch.since,
        )
    )
    if batch.scope != DIGEST:
        query = query.where(Message.thread_id == batch.scope)
    return list((await session.execute(query)).all())


async def _titles(session: AsyncSession, thread_ids: set[str]) -> dict[str, str]:
    """Each thread's title: its first titled message's, as the thread page shows it."""
    rows = await session.execute(
        select(Message.thread_id, Message.title)
        .where(Message.thread_id.in_(thread_ids), Message.title != "")
        .order_by(Message.created_at.desc())
    )
    return {thread_id: title for thread_id, title in rows}  # the oldest wins
