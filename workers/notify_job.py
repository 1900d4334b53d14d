"""The notification jobs: plan the batches a new message belongs to (ANNOUNCE), and send a
due batch as one mail, or skip it when its person heard everything in time (NOTIFY).

Sent at least once, harmlessly: the batch is marked sent after the SMTP server accepted the
mail. A crash in between sends it again when the job's lease runs out, with the same
Message-ID (the batch's id), which mail servers and clients take for the same mail.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from relay import jobs
from relay.db import utcnow
from relay.models import Message, User
from relay.notify import batches, mail, smtp, unsubscribe
from workers.context import Context
from workers.errors import Retry

log = logging.getLogger("relay.notify")
UNEXPECTED = "The notification mail could not be sent."


async def announce(context: Context, job: jobs.ClaimedJob) -> None:
    settings = context.services.settings.mail
    async with context.services.sessions.begin() as session:
        message = await session.get(Message, job.message_id) if job.message_id else None
        if message is not None and settings.enabled:
            await batches.plan(session, settings, message)
        await jobs.complete(session, job)


async def notify(context: Context, job: jobs.ClaimedJob) -> None:
    services = context.services
    settings = services.settings
    async with services.sessions.begin() as session:
        batch = await session.get(batches.Notification, job.payload.get("notification"))
        user = await session.get(User, batch.user_id) if batch else None
        if batch is None or user is None or batch.state != batches.PENDING:
            await jobs.complete(session, job)
            return
        items = await batches.unheard(session, batch) if user.notify_email else []
        if not items or not settings.mail.enabled:
            batch.state = batches.SKIPPED
            await jobs.complete(session, job)
            return
        public = settings.public_url or f"http://{settings.host}:{settings.port}"
        token = unsubscribe.token(services.secret, user.id)
        message = mail.compose(
            batch,
            items,
            to=user.email,
            sender=settings.mail.sender,
            lang=user.ui_language,
            public_url=public,
            unsubscribe_url=f"{public.rstrip('/')}/unsubscribe/{token}",
        )
    try:
        answer = await smtp.send(settings.mail, message)
    except smtp.MailNotSent as exc:
        raise Retry(str(exc)) from exc
    log.info("notification %s to %s: %s", batch.id, user.id, answer)
    async with services.sessions.begin() as session:
        batch = await session.get(batches.Notification, batch.id)
        if batch is not None:
            batch.state, batch.sent_at = batches.SENT, utcnow()
        await jobs.complete(session, job)


async def on_failure(session: AsyncSession, job: jobs.ClaimedJob, reason: str) -> None:
    """A batch given up on is pending no longer: the next new message begins another."""
    batch = await session.get(batches.Notification, job.payload.get("notification"))
    if batch is not None and batch.state == batches.PENDING:
        batch.state = batches.FAILED
