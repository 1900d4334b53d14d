"""A batch's Web Push: one small JSON payload (title, body, the thread link), encrypted for
each of the person's browsers (RFC 8291, aes128gcm) and signed with the server's VAPID key
(RFC 8292) by pywebpush. The batch's id travels as the push's Topic and the notification's
tag, so a push sent again (a retry, a crash before it was marked) replaces the first one at
the push service and on the screen instead of adding a second."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum

import aiohttp
from pywebpush import WebPushException, webpush_async

from relay.models import PushSubscription
from relay.notify.batches import DIGEST, Item, Notification
from relay.notify.mail import subject, what
from relay.notify.words import words

TTL_SECONDS = 24 * 3600  # how long a push service keeps it for a browser that is offline
TIMEOUT_SECONDS = 15.0
BODY_CHARS = 140


def payload(batch: Notification, items: list[Item], *, lang: str | None, public_url: str) -> dict:
    """What the service worker shows: the mail's subject, the first item's words, and the
    thread link at the first unheard message."""
    w = words(lang)
    first = items[0]
    kind, text = what(first, w)
    body = text if text and text != w["no_transcript"] else kind
    if len(body) > BODY_CHARS:
        body = body[:BODY_CHARS].rsplit(" ", 1)[0] + "…"
    author = f"{first.author} ({w['guest']})" if first.guest else first.author
    return {
        "title": subject(items, w, batch.scope == DIGEST),
        "body": f"{author}: {body}" if body else author,
        "tag": batch.id,
        "url": f"{public_url.rstrip('/')}/t/{first.thread_id}#m-{first.message_id}",
        "lang": lang or "en",
    }


class Outcome(Enum):
    DELIVERED = "delivered"  # the push service took it (201)
    EXPIRED = "expired"  # 404 or 410 (the browser unsubscribed), or unusable: forget it
    FAILED = "failed"  # anything else: worth another try


@dataclass(frozen=True)
class Result:
    subscription_id: str
    outcome: Outcome
    detail: str = ""


async def send(
    subscription: PushSubscription,
    data: dict,
    *,
    private_key: str,
    claims: dict,
    http: aiohttp.ClientSession,
) -> Result:
    """One push to one browser; never raises for what the push service or network does."""
    info = {
        "endpoint": subscription.endpoint,
        "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
    }
    try:
        await webpush_async(
            info,
            json.dumps(data, ensure_ascii=False),
            vapid_private_key=private_key,
            vapid_claims=dict(claims),  # pywebpush writes into the claims it is given
            ttl=TTL_SECONDS,
            timeout=TIMEOUT_SECONDS,
            headers={"Topic": data["tag"], "Urgency": "normal"},
            aiohttp_session=http,
        )
    except WebPushException as exc:
        status = exc.status_code  # None: refused before sending (keys it cannot encrypt for)
        outcome = Outcome.EXPIRED if status in (None, 404, 410) else Outcome.FAILED
        return Result(subscription.id, outcome, f"{status}: {exc.message.splitlines()[0]}")
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        return Result(subscription.id, Outcome.FAILED, f"{type(exc).__name__}: {exc}")
    except (ValueError, TypeError) as exc:  # keys nothing can encrypt for: never usable
        return Result(subscription.id, Outcome.EXPIRED, f"{type(exc).__name__}: {exc}")
    return Result(subscription.id, Outcome.DELIVERED)
