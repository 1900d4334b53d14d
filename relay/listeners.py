"""Nameless listeners of a share link: people who play a message through a link without
giving a name. They are counted, never named. A signed random id in a cookie below the
link's path stands for one browser; the database keeps only its hash, per message and link.
Revoking a link keeps its rows, so the author's counts stay."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from relay import events, links, reactions, throttle
from relay.db import utcnow
from relay.models import AnonymousListen, Message

_ID_BYTES = 16
_SIGNATURE_CHARS = 32


def mint(secret: bytes, link_key: str) -> str:
    """A new listener cookie for one link: a random id and its signature, so that a script
    cannot make up ids (each new one is counted against the link's hourly limit)."""
    id_ = secrets.token_urlsafe(_ID_BYTES)
    return f"{id_}.{_signature(secret, link_key, id_)}"


def listener_of(secret: bytes, link_key: str, cookie: str | None) -> str | None:
    """The stored form of a valid cookie of this link (its SHA-256), or None."""
    if not cookie or len(cookie) > 100:
        return None
    id_, _, signature = cookie.partition(".")
    if not id_ or not hmac.compare_digest(signature, _signature(secret, link_key, id_)):
        return None
    return stored_form(cookie)


def stored_form(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def _signature(secret: bytes, link_key: str, id_: str) -> str:
    return links.sign(secret, "listener", link_key, id_)[:_SIGNATURE_CHARS]


async def record(
    session: AsyncSession,
    message: Message,
    link_key: str,
    listener: str,
    position: float,
    heard: bool,
    new_listener: throttle.Limit,
) -> AnonymousListen:
    """Keep the furthest point reached, as for named listeners. A listener new to the link
    counts against `new_listener` (429 when the link has taken too many this hour)."""
    row = await session.get(AnonymousListen, (message.id, link_key, listener))
    before = None if row is None else (row.heard, reactions.quarter(row.position, message))
    if row is None:
        known = await session.scalar(
            select(AnonymousListen.message_id)
            .where(AnonymousListen.link_key == link_key, AnonymousListen.listener == listener)
            .limit(1)
        )
        if known is None:
            await throttle.hit(session, new_listener)
        # Two first reports of one browser at once insert one row, on PostgreSQL too.
        insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
        key = {"message_id": message.id, "link_key": link_key, "listener": listener}
        await session.execute(
            insert(AnonymousListen)
            .values(**key, position=0.0, heard=False, updated_at=utcnow())
            .on_conflict_do_nothing(index_elements=list(key))
        )
        row = await session.get(AnonymousListen, tuple(key.values()), populate_existing=True)
        assert row is not None
    row.position = max(row.position or 0.0, position)
    row.heard = bool(row.heard) or heard
    if before != (row.heard, reactions.quarter(row.position, message)):
        events.emit(session, message.thread_id, "listen", message.id)
    return row


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def adopt(session: AsyncSession, link_key: str, listener: str, user_id: str) -> None:
    """A listener who gives a name: what they played counts under that name from now on."""
    rows = list(
        await session.scalars(
            select(AnonymousListen).where(
                AnonymousListen.link_key == link_key, AnonymousListen.listener == listener
            )
        )
    )
    for row in rows:
        message = await session.get(Message, row.message_id)
        if message is not None:
            await reactions.record_listen(session, message, user_id, row.position, row.heard)
    await session.execute(
        delete(AnonymousListen).where(
            AnonymousListen.link_key == link_key, AnonymousListen.listener == listener
        )
    )
