"""Notification mail through a real SMTP server (aiosmtpd on a free port): one mail per batch
window, nothing for one's own messages or for what was heard in time, one-click unsubscribe,
and a mail that waits for the SMTP server to come back."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from playwright.async_api import async_playwright

from relay.models import User
from relay.notify import mail, timing
from relay.notify.batches import Item
from relay.notify.words import words
from relay.settings import MailSettings, Settings
from tests.conftest import World
from tests.support.browser import CHROMIUM, QUIET
from tests.support.notify import Inbox, after_window, guest_reply, run_due_jobs, thread_with_link
from tests.support.server import RELAY, free_port, on_uvicorn, stack_env
from tests.support.threads import auth, post

WINDOW = 0.6  # seconds: the batch window of these tests


@pytest.fixture(scope="module")
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def inbox(smtp_port: int) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture
def settings(settings: Settings, smtp_port: int) -> Settings:
    mail = MailSettings(
        smtp_url=f"smtp://127.0.0.1:{smtp_port}",
        sender="Relay <relay@example.org>",
        delay_seconds=WINDOW,
        timeout_seconds=5,
    )
    # Links in mail on the public URL; cookies still work on the test client's http.
    return settings.replace(mail=mail, public_url="https://relay.example.org", cookie_secure=False)


async def test_two_guest_replies_make_one_mail_with_both(world: World, inbox: Inbox) -> None:
    first, token = await thread_with_link(world)
    await guest_reply(world, token, "Joost", "Looks good to me.")
    await guest_reply(world, token, "Marit", "One question about travel costs.")
    await after_window(world, WINDOW)

    assert len(inbox.mails) == 1
    mail = inbox.mails[0]
    assert mail["To"] == "author@example.org"
    assert mail["Subject"] == "2 guests replied in “Budget for Q1”"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = mail["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("https://relay.example.org/unsubscribe/")
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for part in (text, html):
        assert "Looks good to me." in part
        assert "One question about travel costs." in part
        assert "Please review it by Friday." not in part  # the author's own message
    link = f"https://relay.example.org/t/{first['thread_id']}#m-"
    assert link in text
    # The link opens the thread for its member.
    path = text.split(link)[0].rsplit("https://relay.example.org", 1)[0]
    assert path is not None
    page = await world.client.get(f"/t/{first['thread_id']}", headers=auth(world))
    assert page.status_code == 200

    # One click, without a cookie: no more mail; the next reply makes none.
    async with world.anonymous() as stranger:
        stop = await stranger.post(
            unsubscribe.replace("https://relay.example.org", ""),
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert stop.status_code == 200
    await guest_reply(world, token, "Joost", "And one more thing.")
    await after_window(world, WINDOW)
    assert len(inbox.mails) == 1


async def test_no_mail_for_own_messages_or_what_was_heard_in_time(
    world: World, inbox: Inbox
) -> None:
    first, token = await thread_with_link(world)
    # The other member joins by replying through the link: the author's next message is
    # news to them only.
    other = world.other.headers
    joined = await world.client.post(
        f"/s/{token}/messages", json={"kind": "text", "body": "I'm in."}, headers=other
    )
    assert joined.status_code == 201, joined.text
    await run_due_jobs(world)
    reply = await post(
        world,
        "/api/messages",
        {"kind": "text", "body": "Thanks!", "parent_id": first["id"]},
        auth(world),
    )
    # The other member reads it before the window ends.
    heard = await world.client.put(
        f"/api/messages/{reply['id']}/listen", json={"heard": True}, headers=other
    )
    assert heard.status_code in (200, 204), heard.text
    await after_window(world, WINDOW)
    # The author answered the other's reply (so saw it); the other heard the answer in time.
    assert inbox.mails == []


async def test_reactions_make_mail_only_for_those_who_asked(world: World, inbox: Inbox) -> None:
    first, token = await thread_with_link(world)
    other = world.other.headers
    joined = await world.client.post(
        f"/s/{token}/messages", json={"kind": "text", "body": "Noted."}, headers=other
    )
    assert joined.status_code == 201, joined.text
    await after_window(world, WINDOW)
    inbox.mails.clear()  # the reply's own mail to the author
    react = f"/api/messages/{first['id']}/reactions"
    assert (await world.client.post(react, json={"emoji": "👍"}, headers=other)).status_code == 201
    await after_window(world, WINDOW)
    assert inbox.mails == []  # nobody asked to hear of reactions
    async with world.services.sessions.begin() as session:
        author = await session.get(User, world.author.id)
        assert author is not None
        author.notify_reactions = True
    assert (await world.client.post(react, json={"emoji": "🎉"}, headers=other)).status_code == 201
    await after_window(world, WINDOW)
    [mail] = inbox.mails
    assert mail["To"] == "author@example.org"
    assert mail["Subject"] == "Other reacted in “Budget for Q1”"
    assert "Reacted 🎉 to your message" in mail.get_body(("plain",)).get_content()


async def test_mail_waits_for_the_smtp_server(world: World, smtp_port: int) -> None:
    inbox = Inbox()
    first, token = await thread_with_link(world)
    await guest_reply(world, token, "Joost", "Looks good.")
    await after_window(world, WINDOW)  # no server: the job is retried later
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        for _ in range(40):
            await run_due_jobs(world)
            if inbox.mails:
                break
            await asyncio.sleep(0.25)
        await asyncio.sleep(0.5)
        await run_due_jobs(world)
    finally:
        controller.stop()
    assert len(inbox.mails) == 1
    assert "Looks good." in inbox.mails[0].get_body(("plain",)).get_content()


def item(author: str, *, guest: bool = False) -> Item:
    when = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    return Item("m", "t", "Budget", author, guest, "audio", 9.5, "", when)


def test_subjects_name_who_replied_and_the_thread() -> None:
    en, nl = words("en"), words("nl")
    sanne, pieter = item("Sanne Jansen"), item("Pieter Bakker")
    joost, marit = item("Joost", guest=True), item("Marit", guest=True)
    assert mail.subject([sanne, sanne], en, False) == "Sanne replied in “Budget”"
    assert mail.subject([sanne, joost], en, False) == "Sanne and 1 guest replied in “Budget”"
    assert mail.subject([sanne, joost, marit], nl, False) == (
        "Sanne en 2 gasten reageerden in „Budget”"
    )
    assert mail.subject([sanne, pieter, joost], en, False) == (
        "Sanne and 2 others replied in “Budget”"
    )
    assert mail.subject([sanne, pieter], en, True) == "2 new messages in Relay"


def test_a_daily_digest_is_due_at_the_digest_hour_in_the_persons_zone() -> None:
    settings = MailSettings(smtp_url="smtp://x", digest_hour=8, delay_seconds=300)
    daily = User(notify_digest="daily", time_zone="Europe/Amsterdam")  # UTC+1 in December
    morning = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)
    assert timing.due_time(settings, daily, morning) == datetime(2026, 12, 7, 7, tzinfo=UTC)
    evening = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
    assert timing.due_time(settings, daily, evening) == datetime(2026, 12, 8, 7, tzinfo=UTC)
    each = User(notify_digest="thread")
    assert timing.due_time(settings, each, evening) == evening + timedelta(seconds=300)


def test_focus_hours_hold_notifications_until_they_end() -> None:
    settings = MailSettings(smtp_url="smtp://x", delay_seconds=300)
    focused = User(
        notify_digest="thread",
        time_zone="Europe/Amsterdam",
        focus_from="09:00",
        focus_until="12:00",
    )
    at_ten = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam
    assert timing.due_time(settings, focused, at_ten) == datetime(2026, 12, 7, 11, tzinfo=UTC)
    just_before = datetime(2026, 12, 7, 7, 56, tzinfo=UTC)  # due 09:01 local: in focus
    assert timing.due_time(settings, focused, just_before) == datetime(2026, 12, 7, 11, tzinfo=UTC)
    after = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert timing.due_time(settings, focused, after) == after + timedelta(seconds=300)
    # Over midnight: 22:00-07:00 holds a late reply until seven the next morning.
    night = User(notify_digest="thread", time_zone="UTC", focus_from="22:00", focus_until="07:00")
    late = datetime(2026, 12, 7, 23, 0, tzinfo=UTC)
    assert timing.due_time(settings, night, late) == datetime(2026, 12, 8, 7, tzinfo=UTC)
    # A zone nobody knows counts as UTC.
    assert timing.zone("Mars/Olympus") == timing.zone("UTC")


def test_notify_test_command_sends_a_mail_and_prints_the_answer(
    inbox: Inbox, smtp_port: int, tmp_path: Path
) -> None:
    env = stack_env(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/relay.db", None)
    env["RELAY_SMTP_URL"] = f"smtp://127.0.0.1:{smtp_port}"
    argv = [*RELAY, "notify", "test", "--email", "anna@example.org", "--lang", "nl"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "the server answered: OK queued as test" in done.stdout
    assert [m["Subject"] for m in inbox.mails] == ["Testmail van Relay"]
    # Without a server it says so, and fails.
    env["RELAY_SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "the mail was not sent" in done.stderr


async def test_mail_stopped_from_the_mail_is_turned_back_on_in_the_profile(
    world: World, inbox: Inbox
) -> None:
    """Both pages through their own buttons, in Chromium: the unsubscribe page from the mail's
    link (a GET only asks), then the profile's notification form."""
    first, token = await thread_with_link(world)
    await guest_reply(world, token, "Joost", "Looks good.")
    await after_window(world, WINDOW)
    link = inbox.mails[0]["List-Unsubscribe"].strip("<>").replace("https://relay.example.org", "")
    async with on_uvicorn(world.app) as base, async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=QUIET, headless=True
        )
        try:
            page = await browser.new_page(timezone_id="Europe/Amsterdam")
            await page.goto(base + link)
            assert await notify_email(world) is True
            await page.get_by_role("button", name="Stop these mails").click()
            await page.get_by_role("status").wait_for()
            assert await notify_email(world) is False

            await page.goto(f"{base}/login?next=/me")
            await page.fill("#email", world.author.email)
            await page.fill("#password", world.author.password)
            async with page.expect_navigation():
                await page.click("button[type=submit]")
            box = page.get_by_label("E-mail me when someone replies")
            assert not await box.is_checked()
            await box.check()
            await page.get_by_label("One daily digest", exact=False).check()
            await page.get_by_label("From").fill("09:00")
            await page.get_by_label("Until").fill("12:00")
            await page.get_by_role("button", name="Save notifications").click()
            await page.locator("[data-notify-saved]").wait_for()
            assert await page.get_by_label("E-mail me when someone replies").is_checked()
        finally:
            await browser.close()
    async with world.services.sessions.begin() as session:
        user = await session.get(User, world.author.id)
        assert user is not None
        assert (user.notify_email, user.notify_digest) == (True, "daily")
        assert (user.focus_from, user.focus_until) == ("09:00", "12:00")
        assert user.time_zone == "Europe/Amsterdam"  # from the browser


async def notify_email(world: World) -> bool:
    async with world.services.sessions.begin() as session:
        user = await session.get(User, world.author.id)
        assert user is not None
        return user.notify_email
