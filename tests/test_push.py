"""Web Push against a push service run by the test on loopback: it checks the VAPID token
(audience, expiry, ES256 signature against the k= key) and decrypts each push with the keys
of a browser subscription the test made. One push per batch window with the thread link,
none for what was heard in time, a 410 removes the subscription, and a push service that
fails is tried again without a second mail. In Chromium: the service worker registers for
the whole site and shows a push as a notification that opens the thread."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp
import http_ece
import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from playwright.async_api import async_playwright
from sqlalchemy import select

from relay.db import utcnow
from relay.errors import BadRequest
from relay.models import Notification, PushSubscription
from relay.notify import push, subscriptions, vapid
from relay.notify.batches import Item
from relay.settings import MailSettings, Settings
from tests.conftest import World
from tests.support.browser import CHROMIUM, QUIET
from tests.support.notify import Inbox, after_window, guest_reply, run_due_jobs, thread_with_link
from tests.support.server import free_port, on_uvicorn
from tests.support.threads import auth

WINDOW = 0.3  # seconds: the batch window of these tests
EMBEDDED_ONLY = pytest.mark.parametrize("settings", ["embedded"], indirect=True)
PUBLIC = "https://relay.example.org"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Browser:
    """A browser's side of a subscription: its P-256 key pair and auth secret."""

    path: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    secret: bytes = field(default_factory=lambda: b"0123456789abcdef")
    answers: list[int] = field(default_factory=list)  # statuses to give, then 201

    @property
    def p256dh(self) -> str:
        raw = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64(raw)


def check_vapid(header: str, origin: str) -> tuple[dict, str]:
    """RFC 8292: `vapid t=<JWT>, k=<public key>`; the JWT is ES256-signed by that key, for this
    push service's origin, and expires within 24 hours. Returns the claims and the key."""
    scheme, _, rest = header.partition(" ")
    assert scheme == "vapid", header
    parts = dict(part.strip().split("=", 1) for part in rest.split(","))
    token, key = parts["t"], parts["k"]
    head, claims, signature = token.split(".")
    assert json.loads(vapid.unb64url(head)) == {"typ": "JWT", "alg": "ES256"}
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), vapid.unb64url(key))
    raw = vapid.unb64url(signature)
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if bad
    decoded = json.loads(vapid.unb64url(claims))
    assert decoded["aud"] == origin
    assert time.time() < decoded["exp"] <= time.time() + 24 * 3600
    assert decoded["sub"].startswith(("mailto:", "https://"))
    return decoded, key


class PushService:
    """A push service on loopback (an ASGI app): every push is checked and decrypted."""

    def __init__(self) -> None:
        self.browsers: dict[str, Browser] = {}
        self.pushes: list[tuple[str, dict, dict[str, str]]] = []  # path, payload, headers
        self.problems: list[str] = []
        self.base = ""

    def browser(self, name: str, *answers: int) -> Browser:
        browser = Browser(f"/push/{name}", answers=list(answers))
        self.browsers[browser.path] = browser
        return browser

    async def __call__(self, scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def]
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        browser = self.browsers.get(scope["path"])
        status = 404
        if browser is not None:
            status = browser.answers.pop(0) if browser.answers else 201
            try:
                self._check(browser, body, headers)
            except Exception as exc:  # noqa: BLE001 - reported by the test
                self.problems.append(f"{type(exc).__name__}: {exc}")
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def _check(self, browser: Browser, body: bytes, headers: dict[str, str]) -> None:
        _, key = check_vapid(headers["authorization"], self.base)
        assert headers["content-encoding"] == "aes128gcm"
        assert int(headers["ttl"]) > 0
        plain = http_ece.decrypt(
            body, private_key=browser.key, auth_secret=browser.secret, version="aes128gcm"
        )
        self.pushes.append((browser.path, json.loads(plain), headers | {"k": key}))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # No SMTP: push alone is enough for batches to be planned.
    mail = MailSettings(delay_seconds=WINDOW, timeout_seconds=5)
    return settings.replace(mail=mail, public_url=PUBLIC, cookie_secure=False)


@pytest.fixture
async def service() -> PushService:
    service = PushService()
    async with on_uvicorn(service) as base:
        service.base = base
        yield service


async def subscribe(world: World, service: PushService, browser: Browser) -> None:
    """Stored as the API stores it (the API itself takes https endpoints only)."""
    async with world.services.sessions.begin() as session:
        await subscriptions.save(
            session,
            world.author.id,
            service.base + browser.path,
            browser.p256dh,
            b64(browser.secret),
        )


async def server_key(world: World) -> str:
    response = await world.client.get("/api/push/key", headers=auth(world))
    assert response.status_code == 200, response.text
    return response.json()["key"]


async def test_a_guest_reply_makes_one_push_with_the_thread_link(
    world: World, service: PushService
) -> None:
    phone = service.browser("phone")
    await subscribe(world, service, phone)
    first, token = await thread_with_link(world)
    reply = await guest_reply(world, token, "Joost", "Looks good to me.")
    await guest_reply(world, token, "Joost", "And the travel costs?")
    await after_window(world, WINDOW)

    assert not service.problems, service.problems
    assert len(service.pushes) == 1
    path, data, headers = service.pushes[0]
    assert path == phone.path
    assert data["title"] == "1 guest replied in “Budget for Q1”"
    assert data["body"] == "Joost (guest): Looks good to me."
    assert data["url"] == f"{PUBLIC}/t/{first['thread_id']}#m-{reply['id']}"
    assert headers["topic"] == data["tag"]  # the batch's id: a push sent again replaces it
    assert headers["k"] == await server_key(world)  # the key pages subscribe with
    await after_window(world, WINDOW)
    assert len(service.pushes) == 1


@EMBEDDED_ONLY
async def test_no_push_for_what_was_heard_in_time(world: World, service: PushService) -> None:
    await subscribe(world, service, service.browser("laptop"))
    first, token = await thread_with_link(world)
    reply = await guest_reply(world, token, "Joost", "Looks good to me.")
    heard = await world.client.put(
        f"/api/messages/{reply['id']}/listen", json={"heard": True}, headers=auth(world)
    )
    assert heard.status_code in (200, 204), heard.text
    await after_window(world, WINDOW)
    assert service.pushes == []
    async with world.services.sessions.begin() as session:
        states = list(await session.scalars(select(Notification.state)))
    assert states == ["skipped"]


@EMBEDDED_ONLY
async def test_expired_subscriptions_go_and_failed_pushes_retry_without_a_second_mail(
    world: World, service: PushService
) -> None:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    # With SMTP for this test: the workers and the app read these settings from `services`.
    mail = MailSettings(
        smtp_url=f"smtp://127.0.0.1:{port}", delay_seconds=WINDOW, timeout_seconds=5
    )
    world.services.settings = world.services.settings.replace(mail=mail)
    gone, flaky = service.browser("gone", 410), service.browser("flaky", 500)
    await subscribe(world, service, gone)
    await subscribe(world, service, flaky)
    try:
        _, token = await thread_with_link(world)
        await guest_reply(world, token, "Joost", "Looks good to me.")
        await after_window(world, WINDOW)
        assert len(inbox.mails) == 1  # the mail went; the flaky push service said 500
        for _ in range(40):  # the job's back-off is 0.2 s in tests
            if any(path == flaky.path for path, *_ in service.pushes[2:]):
                break
            await asyncio.sleep(0.1)
            await run_due_jobs(world)
        await run_due_jobs(world)
    finally:
        controller.stop()
    assert not service.problems, service.problems
    # The expired one once, the flaky one twice (500, then taken): one push each in the end.
    paths = [path for path, *_ in service.pushes]
    assert sorted(paths) == sorted([gone.path, flaky.path, flaky.path])
    assert paths[-1] == flaky.path
    assert len(inbox.mails) == 1
    async with world.services.sessions.begin() as session:
        left = list(await session.scalars(select(PushSubscription.endpoint)))
        batch = await session.scalar(select(Notification))
    assert left == [service.base + flaky.path]
    assert batch.state == "sent" and batch.sent_at and batch.pushed_at


@EMBEDDED_ONLY
async def test_subscriptions_api_stores_replaces_and_removes(world: World) -> None:
    browser = Browser("/unused")
    endpoint = "https://push.example.org/send/abc"
    body = {"endpoint": endpoint, "keys": {"p256dh": browser.p256dh, "auth": b64(browser.secret)}}
    created = await world.client.post("/api/push/subscriptions", json=body, headers=auth(world))
    assert created.status_code == 201, created.text
    # The same browser, signed in as someone else: the subscription moves to them.
    moved = await world.client.post(
        "/api/push/subscriptions", json=body, headers=auth(world, "other")
    )
    assert moved.status_code == 201, moved.text
    async with world.services.sessions.begin() as session:
        owners = list(await session.scalars(select(PushSubscription.user_id)))
    assert owners == [world.other.id]
    for bad in (
        {**body, "endpoint": "http://push.example.org/x"},
        {**body, "keys": {"p256dh": "AAAA", "auth": b64(browser.secret)}},
        {**body, "keys": {"p256dh": browser.p256dh, "auth": "short"}},
    ):
        refused = await world.client.post("/api/push/subscriptions", json=bad, headers=auth(world))
        assert refused.status_code == 400, refused.text
    # The author cannot remove the other's browser; its owner can.
    for who in ("author", "other"):
        removed = await world.client.request(
            "DELETE",
            "/api/push/subscriptions",
            json={"endpoint": endpoint},
            headers=auth(world, who),
        )
        assert removed.status_code == 204
        async with world.services.sessions.begin() as session:
            count = len(list(await session.scalars(select(PushSubscription.id))))
        assert count == (1 if who == "author" else 0)
    # The key stays the same (kept in the database).
    assert await server_key(world) == await server_key(world)


def test_vapid_claims_name_the_push_service_and_expire_within_a_day() -> None:
    claims = vapid.claims("https://fcm.googleapis.com/fcm/send/x", PUBLIC, "Relay <r@x.org>", 1000)
    assert claims == {"aud": "https://fcm.googleapis.com", "exp": 1000 + 12 * 3600, "sub": PUBLIC}
    local = vapid.claims("https://push.example:8443/a", "http://127.0.0.1:8000", "Relay <r@x.org>")
    assert local["aud"] == "https://push.example:8443"
    assert local["sub"] == "mailto:r@x.org"
    private = vapid.new_private_key()
    assert len(vapid.unb64url(vapid.public_key(private))) == 65


def test_subscription_input_is_checked() -> None:
    with pytest.raises(BadRequest):
        subscriptions.endpoint("https://" + "a" * 3000)
    for internal in (
        "user:pw@push.example.org",
        "127.0.0.1:8443",
        "[::1]",
        "10.0.0.7",
        "localhost",
    ):
        with pytest.raises(BadRequest):
            subscriptions.endpoint(f"https://{internal}/x")
    with pytest.raises(BadRequest):
        subscriptions.keys({"p256dh": "é", "auth": "x"})
    assert subscriptions.endpoint("https://push.example.org/x") == "https://push.example.org/x"


def test_a_voice_message_without_transcript_pushes_its_kind() -> None:
    when = utcnow()
    batch = Notification(id="batch1", scope="t1", user_id="u", since=when, due_at=when)
    voice = Item("m1", "t1", "Budget", "Sanne Jansen", False, "audio", 9.5, "", when)
    data = push.payload(batch, [voice], lang="nl", public_url=PUBLIC + "/")
    assert data == {
        "title": "Sanne reageerde in „Budget”",
        "body": "Sanne Jansen: Spraakbericht, 0:09",
        "tag": "batch1",
        "url": f"{PUBLIC}/t/t1#m-m1",
        "lang": "nl",
    }


@pytest.mark.browser
@EMBEDDED_ONLY
async def test_service_worker_shows_a_push_that_opens_the_thread(world: World) -> None:
    first, _ = await thread_with_link(world)
    thread_path = f"/t/{first['thread_id']}"
    when = utcnow()
    batch = Notification(id="batch-browser", scope=first["thread_id"], since=when, due_at=when)
    item = Item(
        first["id"], first["thread_id"], "Budget for Q1", "Joost", True, "text", None, "Hi", when
    )
    data = push.payload(batch, [item], lang="en", public_url=PUBLIC)
    async with on_uvicorn(world.app) as base, async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=QUIET, headless=True
        )
        try:
            context = await browser.new_context()
            await context.grant_permissions(["notifications"], origin=base)
            page = await context.new_page()
            await page.goto(f"{base}/login?next={thread_path}")
            await page.fill("#email", world.author.email)
            await page.fill("#password", world.author.password)
            async with page.expect_navigation():
                await page.click("button[type=submit]")
            assert urlsplit(page.url).path == thread_path

            # enablePush(): the worker registers for the whole site; subscribing needs a real
            # push service, which headless Chromium cannot reach, so it may fail here.
            outcome = await page.evaluate(
                """async () => {
                  const push = await import("/static/push.js");
                  let result;
                  try { result = await push.enablePush(); }
                  catch (error) { result = `${error.reason}: ${error.message}`; }
                  const registration = await navigator.serviceWorker.ready;
                  return { result, scope: registration.scope, state: await push.pushState() };
                }"""
            )
            assert outcome["scope"] == f"{base}/", outcome
            if outcome["result"] == "enabled":
                async with world.services.sessions.begin() as session:
                    assert await session.scalar(select(PushSubscription.id)) is not None

            # A push delivered through the DevTools protocol, as a push service would.
            cdp = await context.new_cdp_session(page)
            registered: asyncio.Future[str] = asyncio.get_running_loop().create_future()

            def on_registrations(event: dict) -> None:
                for registration in event["registrations"]:
                    if registration["scopeURL"] == f"{base}/" and not registered.done():
                        registered.set_result(registration["registrationId"])

            cdp.on("ServiceWorker.workerRegistrationUpdated", on_registrations)
            await cdp.send("ServiceWorker.enable")
            registration_id = await asyncio.wait_for(registered, 5)
            await cdp.send(
                "ServiceWorker.deliverPushMessage",
                {"origin": base, "registrationId": registration_id, "data": json.dumps(data)},
            )
            shown = []
            for _ in range(50):
                shown = await page.evaluate(
                    """async () => (await (await navigator.serviceWorker.ready).getNotifications())
                      .map((n) => ({ title: n.title, body: n.body, tag: n.tag, icon: n.icon,
                                     lang: n.lang, url: n.data && n.data.url }))"""
                )
                if shown:
                    break
                await asyncio.sleep(0.1)
            # The link stays on this site whatever the public URL: the page's own origin.
            assert shown == [
                {
                    "title": "1 guest replied in “Budget for Q1”",
                    "body": "Joost (guest): Hi",
                    "tag": "batch-browser",
                    "icon": f"{base}/static/icon-192.png",
                    "lang": "en",
                    "url": f"{base}{thread_path}#m-{first['id']}",
                }
            ]

            # notificationclick: no click on a system notification is possible headless, and a
            # synthetic event cannot waitUntil; the handler's openThread() is called instead.
            worker = context.service_workers[0]
            moved = await worker.evaluate(
                """async (url) => {
                  try { await openThread(url); } catch (error) { return error.name; }
                  return "focused";
                }""",
                f"{base}{thread_path}#m-elsewhere",
            )
            await page.wait_for_function("location.hash === '#m-elsewhere'")
            assert urlsplit(page.url).path == thread_path
            # Focusing needs the click's user activation: refused here, allowed on a click.
            assert moved in ("focused", "InvalidAccessError")
            opened = await worker.evaluate(
                """async (url) => {
                  const opened = [];
                  self.clients.openWindow = async (target) => { opened.push(target); return null; };
                  await openThread(url);
                  return opened;
                }""",
                "https://elsewhere.example/t/another#m-1",
            )
            assert opened == [f"{base}/t/another#m-1"]
            await page.goto("about:blank")  # ends the thread page's live stream
        finally:
            await browser.close()


async def test_a_subscription_nothing_can_encrypt_for_is_expired() -> None:
    broken = PushSubscription(
        id="s1", endpoint="https://push.example.org/x", p256dh="AAAA", auth="x"
    )
    claims = vapid.claims(broken.endpoint, PUBLIC, "relay@example.org")
    async with aiohttp.ClientSession() as http:
        result = await push.send(
            broken, {"tag": "b1"}, private_key=vapid.new_private_key(), claims=claims, http=http
        )
    assert result.outcome is push.Outcome.EXPIRED
