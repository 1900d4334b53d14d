"""Helpers of the notification tests: a thread with a reply link, guest replies, running the
due jobs across a batch window, and an SMTP server's inbox (aiosmtpd)."""

from __future__ import annotations

import asyncio
import email
import email.policy
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.conftest import World
from tests.support.threads import auth, become_guest, post
from workers.context import Context
from workers.runner import Worker, default_handlers


class Inbox:
    """What the SMTP server received, parsed (the handler of an aiosmtpd Controller)."""

    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.mails.append(parsed)  # type: ignore[arg-type]
        return "250 OK queued as test"


async def run_due_jobs(world: World) -> None:
    """Every job due now, the way a worker runs them."""
    worker = Worker(Context(world.services, asyncio.Semaphore(1)), default_handlers())
    await worker.run(burst=True)


async def after_window(world: World, window: float) -> None:
    await run_due_jobs(world)  # plans the batches
    await asyncio.sleep(window + 0.1)
    await run_due_jobs(world)  # sends what is due


async def thread_with_link(world: World) -> tuple[dict, str]:
    """The author's first message and a reply link to its thread."""
    body = {"kind": "text", "title": "Budget for Q1", "body": "Please review it by Friday."}
    first = await post(world, "/api/messages", body, auth(world))
    path = f"/api/threads/{first['thread_id']}/links"
    link = await post(world, path, {"rights": "reply"}, auth(world))
    return first, link["token"]


async def guest_reply(world: World, token: str, name: str, body: str) -> dict:
    async with world.anonymous() as guest:
        csrf = await become_guest(guest, token, name)
        response = await guest.post(
            f"/s/{token}/messages",
            json={"kind": "text", "body": body},
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status_code == 201, response.text
        return response.json()
