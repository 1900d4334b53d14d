"""Accounts and credentials: argon2 passwords, hashed bearer tokens, hashed session ids."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relay.db import utcnow
from relay.models import ApiToken, User, WebSession

_hasher = PasswordHasher()
# Verifying against this keeps the time of a login for an unknown e-mail like a known one.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MIN_PASSWORD = 8


class AccountError(ValueError):
    """A user cannot be created as asked."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user, through a bearer token or a session cookie."""

    user: User
    via: str  # "token" or "session"
    csrf_token: str | None = None


def new_secret() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320 or email.startswith("@") or email.endswith("@"):
        raise AccountError(f"{email!r} is not an e-mail address")
    return email


async def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    return await asyncio.to_thread(_hasher.hash, password)


MIN_PASSCODE, MAX_PASSCODE = 4, 128


async def hash_passcode(passcode: str) -> str:
    """A share link's passcode: shorter than a password is allowed, it guards one thread."""
    if not MIN_PASSCODE <= len(passcode) <= MAX_PASSCODE:
        raise AccountError(f"a passcode has {MIN_PASSCODE} to {MAX_PASSCODE} characters")
    return await asyncio.to_thread(_hasher.hash, passcode)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def _verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(_verify)


async def create_user(
    session: AsyncSession, email: str, password: str, *, admin: bool = False, name: str = ""
) -> User:
    email = normalise_email(email)
    if await session.scalar(select(User.id).where(User.email == email)):
        raise AccountError(f"a user with the e-mail {email} exists already")
    user = User(
        email=email,
        password_hash=await hash_password(password),
        is_admin=admin,
        display_name=name or email.split("@")[0],
    )
    session.add(user)
    await session.flush()
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    try:
        email = normalise_email(email)
    except AccountError:
        email = ""
    user = await session.scalar(select(User).where(User.email == email)) if email else None
    ok = await verify_password(user.password_hash if user else None, password)
    return user if ok and user else None


async def issue_api_token(session: AsyncSession, user: User, name: str = "cli") -> str:
    token = "rl_" + new_secret()
    session.add(ApiToken(user_id=user.id, token_hash=digest(token), name=name))
    await session.flush()
    return token


async def user_for_token(session: AsyncSession, token: str) -> User | None:
    row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token)))
    if row is None:
        return None
    now = utcnow()
    # Written at most once a minute: a write per request would serialise SQLite readers.
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        await session.execute(
            update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now)
        )
    return await session.get(User, row.user_id)


async def start_session(session: AsyncSession, user: User, days: int) -> tuple[str, str]:
    """Returns (cookie value, csrf token); only the cookie's digest is stored."""
    cookie, csrf = new_secret(), new_secret()
    session.add(
        WebSession(
            id_hash=digest(cookie),
            user_id=user.id,
            csrf_token=csrf,
            expires_at=utcnow() + timedelta(days=days),
        )
    )
    await session.flush()
    return cookie, csrf


async def session_user(session: AsyncSession, cookie: str) -> tuple[User, str] | None:
    row = await session.get(WebSession, digest(cookie))
    if row is None or row.expires_at <= utcnow():
        return None
    user = await session.get(User, row.user_id)
    return (user, row.csrf_token) if user else None


async def end_session(session: AsyncSession, cookie: str) -> None:
    await session.execute(delete(WebSession).where(WebSession.id_hash == digest(cookie)))
