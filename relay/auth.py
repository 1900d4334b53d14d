"""Accounts and credentials: argon2 passwords, hashed bearer tokens, hashed session ids."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from relay import names, throttle
from relay.db import Sessionmaker, utcnow
from relay.models import ApiToken, ShareLink, User, WebSession
from relay.settings import Settings

_hasher = PasswordHasher()
# Verifying against this keeps the time of a login for an unknown e-mail like a known one.
# Made on first use: a hash at import would cost every process 0.1 s and 64 MiB.
_DUMMY_HASH: str | None = None
MIN_PASSWORD = 8
LOGIN_WINDOW = timedelta(minutes=10)
LOGIN_REFUSED = "Too many failed sign-ins: wait a few minutes and try again."


class AccountError(ValueError):
    """A user cannot be created as asked."""


NAME_PROBLEMS = {
    "empty": "give a name with --name: none can be made from {email} (a name such as 'you' "
    "would read as the viewer)",
    "too_long": "a name may have at most {max} characters",
    "control": "a name may not contain control characters",
    "viewer": "'{name}' would read as the viewer on every page: give a name with --name",
}


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


MIN_PASSCODE, MAX_PASSCODE = 8, 128


async def hash_passcode(passcode: str) -> str:
    """A share link's passcode. Guesses are throttled per link and client address."""
    if not MIN_PASSCODE <= len(passcode) <= MAX_PASSCODE:
        raise AccountError(f"A passcode must have {MIN_PASSCODE} to {MAX_PASSCODE} characters.")
    return await asyncio.to_thread(_hasher.hash, passcode)


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
    return _DUMMY_HASH


async def verify_password(password_hash: str | None, password: str, pool: Executor) -> bool:
    """Checked in `pool`, whose size bounds the checks running at once: a flood of them
    queues instead of taking every core from the requests being served."""

    def _verify() -> bool:
        try:
            matched = _hasher.verify(password_hash or _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return False
        return matched and password_hash is not None

    return await asyncio.get_running_loop().run_in_executor(pool, _verify)


async def create_user(
    session: AsyncSession, email: str, password: str, *, admin: bool = False, name: str = ""
) -> User:
    email = normalise_email(email)
    name = names.tidy(name) or names.from_email(email)
    if (why := names.problem(name)) is not None:
        raise AccountError(NAME_PROBLEMS[why].format(name=name, email=email, max=names.MAX_NAME))
    if await session.scalar(select(User.id).where(User.email == email)):
        raise AccountError(f"a user with the e-mail {email} exists already")
    user = User(
        email=email,
        password_hash=await hash_password(password),
        is_admin=admin,
        display_name=name,
    )
    session.add(user)
    await session.flush()
    return user


def login_limits(email: str, address: str, most: int) -> tuple[throttle.Limit, throttle.Limit]:
    """Sign-ins counted per account (known or not, so the count tells nothing) and per
    client address."""
    return (
        throttle.Limit(f"login:acct:{email}", most, LOGIN_WINDOW, LOGIN_REFUSED),
        throttle.Limit(f"login:addr:{address}", most, LOGIN_WINDOW, LOGIN_REFUSED),
    )


class SignInServices(Protocol):
    """What signing in needs of relay.context.Services."""

    settings: Settings
    sessions: Sessionmaker
    hashing: Executor


async def authenticate(
    services: SignInServices, email: str, password: str, *, address: str
) -> User | None:
    """The user, or None; TooManyRequests after too many failures for the account or from
    the address. The attempt is counted and committed before the password is checked, so
    parallel attempts cannot overtake the count; a right one takes its count back and
    clears the account's failures. The check runs after the transaction that read the hash
    ends: on SQLite every transaction holds the write lock."""
    try:
        email = normalise_email(email)
    except AccountError:
        email = ""
    account, client = login_limits(email, address, services.settings.limits.login_failures)
    async with services.sessions.begin() as session:
        await throttle.hit(session, account, client)
        user = await session.scalar(select(User).where(User.email == email)) if email else None
    password_hash = user.password_hash if user else None
    if not await verify_password(password_hash, password, services.hashing) or user is None:
        return None
    async with services.sessions.begin() as session:
        await throttle.clear(session, account.key)
        await throttle.forgive(session, client.key)
    return user


async def issue_api_token(session: AsyncSession, user: User, name: str = "cli") -> str:
    token = "rl_" + new_secret()
    session.add(ApiToken(user_id=user.id, token_hash=digest(token), name=name))
    await session.flush()
    return token


async def user_for_token(session: AsyncSession, token: str) -> User | None:
    found = await token_user(session, token)
    if found is not None and found[1]:
        await record_token_use(session, token)
    return found[0] if found else None


async def token_user(db: AsyncSession | AsyncConnection, token: str) -> tuple[User, bool] | None:
    """(owner, whether its use is due to be recorded) of a bearer token: one statement,
    no write, and no ORM session needed (the hottest lookup: every API request)."""
    row = (await db.execute(_TOKEN_USER, {"token_hash": digest(token)})).first()
    if row is None:
        return None
    *values, last_used_at = row
    user = User(**dict(zip(_USER_ATTRIBUTES, values, strict=True)))
    make_transient_to_detached(user)  # as if loaded by a session that has ended
    # Written at most once a minute: a write per request would serialise every request.
    return user, last_used_at is None or utcnow() - last_used_at > timedelta(minutes=1)


_USER_ATTRIBUTES = [User.__mapper__.get_property_by_column(c).key for c in User.__table__.columns]
# Built once: constructing the statement cost more than running it.
_TOKEN_USER = (
    select(*User.__table__.columns, ApiToken.last_used_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


async def record_token_use(session: AsyncSession, token: str) -> None:
    await session.execute(
        update(ApiToken).where(ApiToken.token_hash == digest(token)).values(last_used_at=utcnow())
    )


async def remember_page_language(session: AsyncSession, user_id: str, lang: str) -> None:
    """The language of the pages someone signs in with, for jobs that have no page to ask."""
    await session.execute(
        update(User)
        .where(User.id == user_id, User.ui_language.is_distinct_from(lang))
        .values(ui_language=lang)
    )


async def start_session(
    session: AsyncSession,
    user: User,
    days: int,
    *,
    link: ShareLink | None = None,
) -> tuple[str, str]:
    """Returns (cookie value, csrf token); only the cookie's digest is stored. With `link`,
    a guest's session: bound to that link and ending with it."""
    cookie, csrf = new_secret(), new_secret()
    expires_at = utcnow() + timedelta(days=days)
    if link is not None and link.expires_at is not None:
        expires_at = min(expires_at, link.expires_at)
    session.add(
        WebSession(
            id_hash=digest(cookie),
            user_id=user.id,
            link_key=link.key if link is not None else None,
            csrf_token=csrf,
            expires_at=expires_at,
        )
    )
    await session.flush()
    return cookie, csrf


async def _live_session(session: AsyncSession, cookie: str) -> WebSession | None:
    row = await session.get(WebSession, digest(cookie)) if len(cookie) <= 200 else None
    return row if row is not None and row.expires_at > utcnow() else None


async def session_user(session: AsyncSession, cookie: str) -> tuple[User, str] | None:
    """The account behind a sign-in cookie; a guest's cookie never stands for an account."""
    row = await _live_session(session, cookie)
    if row is None or row.link_key is not None:
        return None
    user = await session.get(User, row.user_id)
    return (user, row.csrf_token) if user else None


async def guest_session(session: AsyncSession, cookie: str) -> tuple[User, str, str] | None:
    """(guest, csrf token, key of the link the guest is bound to) behind a guest cookie."""
    row = await _live_session(session, cookie)
    if row is None or row.link_key is None:
        return None
    user = await session.get(User, row.user_id)
    return (user, row.csrf_token, row.link_key) if user else None


async def end_session(session: AsyncSession, cookie: str) -> None:
    await session.execute(delete(WebSession).where(WebSession.id_hash == digest(cookie)))


async def end_all_sessions(session: AsyncSession, user: User) -> int:
    """Signs the account out in every browser; its API tokens stay. Returns how many."""
    result = await session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return result.rowcount or 0
