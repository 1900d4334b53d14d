"""Listening state and reactions (domain logic; no web framework here)."""

from __future__ import annotations

import unicodedata

from sqlalchemy.ext.asyncio import AsyncSession

from relay import events
from relay.models import Listen, Message, Reaction

MAX_EMOJI_CHARS = 10
# Emoji are symbols (So), skin tones (Sk), joiners and variation selectors (Cf, Mn), keycaps (Me).
_EMOJI_CATEGORIES = frozenset({"So", "Sk", "Mn", "Me", "Cf"})


class ReactionError(ValueError):
    """The reaction or listening report cannot be stored as asked."""


def check_emoji(value: object) -> str:
    """One emoji (possibly a sequence joined with ZWJ); never text or markup."""
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_EMOJI_CHARS:
        raise ReactionError("'emoji' must be a single emoji.")
    categories = [unicodedata.category(c) for c in value]
    if "So" not in categories or not all(c in _EMOJI_CATEGORIES for c in categories):
        raise ReactionError("'emoji' must be a single emoji.")
    return value


def check_moment(value: object, message: Message, name: str = "at") -> float | None:
    """A moment within the message, in seconds, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ReactionError(f"'{name}' must be a number of seconds.")
    limit = message.duration or 0.0
    if not 0 <= value <= limit + 0.5:
        raise ReactionError(f"'{name}' must lie within the message (0 to {limit:.1f} s).")
    return min(float(value), limit)


async def record_listen(
    session: AsyncSession, message: Message, user_id: str, position: float, heard: bool
) -> Listen:
    """Keep the furthest point reached; once heard, a message stays heard."""
    listen = await session.get(Listen, (message.id, user_id))
    before = None if listen is None else (listen.heard, _quarter(listen.position, message))
    if listen is None:
        listen = Listen(message_id=message.id, user_id=user_id, position=0.0, heard=False)
        session.add(listen)
    listen.position = max(listen.position or 0.0, position)
    listen.heard = bool(listen.heard) or heard
    # The author's "seen by" changes visibly only at these steps; progress reports every
    # few seconds would otherwise wake every listener of the thread.
    if before != (listen.heard, _quarter(listen.position, message)):
        events.emit(session, message.thread_id, "listen", message.id)
    return listen


def _quarter(position: float, message: Message) -> int:
    return int(4 * position / message.duration) if message.duration else 0


def add_reaction(
    session: AsyncSession, message: Message, user_id: str, emoji: str, at: float | None
) -> Reaction:
    reaction = Reaction(message_id=message.id, user_id=user_id, emoji=emoji, at=at)
    session.add(reaction)
    events.emit(session, message.thread_id, "reaction", message.id)
    return reaction


async def remove_reaction(session: AsyncSession, message: Message, reaction: Reaction) -> None:
    await session.delete(reaction)
    events.emit(session, message.thread_id, "reaction", message.id)
