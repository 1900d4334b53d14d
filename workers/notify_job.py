"""The notification jobs: plan the batches a new message belongs to (ANNOUNCE), and tell a
due batch's person what they have not heard yet, or skip it when they heard it all in time
(NOTIFY): one mail when there is SMTP and they want mail, and one push to each of their
subscribed browsers.

Mail and push are two steps, each marked on the batch on its own (`sent_at` for the mail,
`pushed_at` for the push): when one fails, the job's Retry repeats only the step that has not
gone out, so a push service that is down never sends the mail twice, nor an SMTP server that
is down the push. Expired subscriptions (404/410) are removed and need no retry.

Sent at least once, harmlessly: a step is marked after its server accepted it. A crash in
between sends it again when the job's lease runs out; the mail with the same Message-ID (the
batch's id), which mail servers and clients take for the same mail, and the push with the
batch's id as its Topic and notification tag, so the push service and the browser replace the
first push instead of adding a second. A retry after one browser's push service failed pushes
to the others again, with the same replacing effect.
"""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage

import aiohttp
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from relay import jobs
from relay.context import Services
from relay.db import utcnow
from relay.models import Message, PushSubscription, User
from relay.notify import batches, mail, push, smtp, subscriptions, unsubscribe, vapid
from workers.context import Context
from workers.errors import Retry

log = logging.getLogger("relay.notify")
UNEXPECTED = "The notification could not be sent."


async def announce(context: Context, job: jobs.ClaimedJob) -> None:
    settings = context.services.settings.mail
    async with context.services.sessions.begin() as session:
        message = await session.get(Message, job.message_id) if job.message_id else None
        reaction = job.payload.get("reaction")
        if message is not None and reaction:
            await batches.plan_reaction(session, settings, message, reaction)
        elif message is not None:
            await batches.plan(session, settings, message)  # mail, or browsers with push
        await jobs.complete(session, job)


async def notify(context: Context, job: jobs.ClaimedJob) -> None:
    services = context.services
    settings = services.settings
    public = settings.public_url or f"http://{settings.host}:{settings.port}"
    async with services.sessions.begin() as session:
        batch = await session.get(batches.Notification, job.payload.get("notification"))
        user = await session.get(User, batch.user_id) if batch else None
        if batch is None or user is None or batch.state != batches.PENDING:
            await jobs.complete(session, job)
            return
        items = await batches.unheard(session, batch)
        wants_mail = settings.mail.enabled and user.notify_email and batch.sent_at is None
        browsers = await subscriptions.of_user(session, user.id) if batch.pushed_at is None else []
        if not items or not (wants_mail or browsers):
            done = batch.sent_at is not None or batch.pushed_at is not None
            batch.state = batches.SENT if done else batches.SKIPPED
            await jobs.complete(session, job)
            return
        message = _mail(services, batch, items, user, public) if wants_mail else None
        data = push.payload(batch, items, lang=user.ui_language, public_url=public)
        key = await vapid.private_key(session) if browsers else ""
    results = await _push(browsers, data, key, public, settings.mail.sender)
    failures = [f"push: {r.detail}" for r in results if r.outcome is push.Outcome.FAILED]
    answer = None
    if message is not None:
        try:
            answer = await smtp.send(settings.mail, message)
        except smtp.MailNotSent as exc:
            failures.append(f"mail: {exc}")
    gone = [r.subscription_id for r in results if r.outcome is push.Outcome.EXPIRED]
    log.info(
        "notification %s to %s: mail %s, push %s",
        batch.id,
        user.id,
        answer or ("failed" if message is not None else "not wanted"),
        ", ".join(r.outcome.value for r in results) or "no browsers",
    )
    async with services.sessions.begin() as session:
        if gone:
            await session.execute(delete(PushSubscription).where(PushSubscription.id.in_(gone)))
        batch = await session.get(batches.Notification, batch.id)
        if batch is not None:
            now = utcnow()
            if answer is not None:
                batch.sent_at = now
            if browsers and not any(r.outcome is push.Outcome.FAILED for r in results):
                batch.pushed_at = now
            if not failures:
                batch.state = batches.SENT
        if not failures:
            await jobs.complete(session, job)
    if failures:
        raise Retry("; ".join(failures))


def _mail(
    services: Services,
    batch: batches.Notification,
    items: list[batches.Item],
    user: User,
    public: str,
) -> EmailMessage:
    token = unsubscribe.token(services.secret, user.id)
    return mail.compose(
        batch,
        items,
        to=user.email,
        sender=services.settings.mail.sender,
        lang=user.ui_language,
        public_url=public,
        unsubscribe_url=f"{public.rstrip('/')}/unsubscribe/{token}",
    )


async def _push(
    browsers: list[PushSubscription], data: dict, key: str, public: str, sender: str
) -> list[push.Result]:
    if not browsers:
        return []
    async with aiohttp.ClientSession() as http:
        return list(
            await asyncio.gather(
                *(
                    push.send(
                        browser,
                        data,
                        private_key=key,
                        claims=vapid.claims(browser.endpoint, public, sender),
                        http=http,
                    )
                    for browser in browsers
                )
            )
        )


async def on_failure(session: AsyncSession, job: jobs.ClaimedJob, reason: str) -> None:
    """A batch given up on is pending no longer: the next new message begins another."""
    batch = await session.get(batches.Notification, job.payload.get("notification"))
    if batch is not None and batch.state == batches.PENDING:
        batch.state = batches.FAILED
