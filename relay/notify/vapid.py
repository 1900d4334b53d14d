"""The server's VAPID key pair (RFC 8292): a P-256 key made on first use and kept in the
database, so every process and every restart signs with the same key (browsers subscribed
with its public half, and a new key would silence them all)."""

from __future__ import annotations

import base64
import time
from email.utils import parseaddr
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from relay.models import ServerKey

KEY_NAME = "vapid_private_key"
TOKEN_SECONDS = 12 * 3600  # a token's life; RFC 8292 allows at most 24 hours


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_private_key() -> str:
    """A fresh key as base64url of its 32-byte secret, the form pywebpush reads."""
    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def public_key(private: str) -> str:
    """The application server key a page subscribes with: the uncompressed point, base64url."""
    secret = int.from_bytes(unb64url(private), "big")
    point = ec.derive_private_key(secret, ec.SECP256R1()).public_key()
    raw = point.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(raw)


async def private_key(session: AsyncSession) -> str:
    """The stored key, made and stored on first use (the first to commit wins a race)."""
    found = await session.scalar(select(ServerKey.value).where(ServerKey.name == KEY_NAME))
    if found is not None:
        return found
    try:
        async with session.begin_nested():
            session.add(ServerKey(name=KEY_NAME, value=new_private_key()))
    except IntegrityError:
        pass
    return await session.scalar(select(ServerKey.value).where(ServerKey.name == KEY_NAME))


def claims(endpoint: str, public_url: str, sender: str, now: float | None = None) -> dict:
    """The JWT claims for one push service: its origin, a near expiry, and who to contact (the
    public https URL, else the mail sender's address, as RFC 8292 asks)."""
    url = urlsplit(endpoint)
    contact = public_url.rstrip("/") if public_url.startswith("https://") else ""
    if not contact:
        contact = f"mailto:{parseaddr(sender)[1] or 'relay@localhost'}"
    issued = int(now if now is not None else time.time())
    return {"aud": f"{url.scheme}://{url.netloc}", "exp": issued + TOKEN_SECONDS, "sub": contact}
