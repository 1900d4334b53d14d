"""The browsers that asked for Web Push: checked on the way in (an https endpoint, a P-256
key and a 16-byte secret that encryption will accept), at most MAX_PER_USER per person."""

from __future__ import annotations

import binascii
import ipaddress
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from relay.errors import BadRequest
from relay.models import PushSubscription, ThreadMember
from relay.notify.vapid import unb64url

MAX_ENDPOINT = 2048
MAX_PER_USER = 20  # browsers per person; the oldest goes when another subscribes


def endpoint(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_ENDPOINT:
        raise BadRequest(f"'endpoint' must be the subscription's URL (at most {MAX_ENDPOINT}).")
    url = urlsplit(value)
    if url.scheme != "https" or not url.hostname or url.username or url.password:
        raise BadRequest("'endpoint' must be an https URL of a push service.")
    if _internal(url.hostname):
        raise BadRequest("'endpoint' must be a push service on the internet.")
    return value


def _internal(host: str) -> bool:
    """A host the server would reach inside its own network: pushes are POSTs the server makes
    on a user's word, so they must not be aimed at it (names that resolve inside are not
    caught here; a firewall is the place for that)."""
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def keys(value: Any) -> tuple[str, str]:
    """The subscription's p256dh and auth, as the browser's PushSubscription.toJSON() has them."""
    if not isinstance(value, dict):
        raise BadRequest("'keys' must hold 'p256dh' and 'auth', as PushSubscription.toJSON().")
    p256dh, auth = value.get("p256dh"), value.get("auth")
    try:
        point = unb64url(p256dh) if isinstance(p256dh, str) and len(p256dh) <= 128 else b""
        secret = unb64url(auth) if isinstance(auth, str) and len(auth) <= 64 else b""
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except (ValueError, binascii.Error):
        raise BadRequest("'keys.p256dh' must be a P-256 public key, base64url.") from None
    if len(secret) != 16:
        raise BadRequest("'keys.auth' must be 16 bytes, base64url.")
    return p256dh, auth


async def save(
    session: AsyncSession, user_id: str, url: str, p256dh: str, auth: str
) -> PushSubscription:
    """Store a browser's subscription for `user_id`; the same endpoint again (a key change, or
    someone else signed in on that browser) replaces the earlier one."""
    await session.execute(delete(PushSubscription).where(PushSubscription.endpoint == url))
    older = await session.scalars(
        select(PushSubscription.id)
        .where(PushSubscription.user_id == user_id)
        .order_by(PushSubscription.created_at.desc(), PushSubscription.id)
        .offset(MAX_PER_USER - 1)
    )
    if ids := list(older):
        await session.execute(delete(PushSubscription).where(PushSubscription.id.in_(ids)))
    subscription = PushSubscription(user_id=user_id, endpoint=url, p256dh=p256dh, auth=auth)
    session.add(subscription)
    await session.flush()
    return subscription


async def remove(session: AsyncSession, user_id: str, url: str) -> None:
    await session.execute(
        delete(PushSubscription).where(
            PushSubscription.user_id == user_id, PushSubscription.endpoint == url
        )
    )


async def of_user(session: AsyncSession, user_id: str) -> list[PushSubscription]:
    found = await session.scalars(
        select(PushSubscription).where(PushSubscription.user_id == user_id)
    )
    return list(found)


def has_any(user_id: Any) -> Any:
    """SQL: the user (a column) has at least one push subscription."""
    return exists().where(PushSubscription.user_id == user_id)


async def anyone_in_thread(session: AsyncSession, thread_id: str, author_id: str) -> bool:
    """Does any member of the thread other than the author have a push subscription? One
    indexed lookup, made for every new message when mail is off."""
    query = select(
        exists().where(
            ThreadMember.thread_id == thread_id,
            ThreadMember.user_id != author_id,
            has_any(ThreadMember.user_id),
        )
    )
    return bool(await session.scalar(query))
