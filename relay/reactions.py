"""Listening state and reactions (domain logic; no web framework here)."""

from __future__ import annotations

import unicodedata
from typing import Any, NamedTuple

from sqlalchemy import bindparam, case, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from relay import events
from relay.access import Seat
from relay.errors import BadRequest, Forbidden, NotFound
from relay.inputs import parse_id
from relay.models import Listen, Message, Reaction
from relay.notify import batches

MAX_EMOJI_CHARS = 10
HEARD_FRACTION = 0.9  # playing this much of a message counts as having heard it
ZWJ = "\u200d"  # joins emoji into one: 👩 + ZWJ + 💻
_SELECTORS = frozenset("\ufe0e\ufe0f")  # text or emoji presentation
_SKIN_TONES = range(0x1F3FB, 0x1F400)
_REGIONAL = range(0x1F1E6, 0x1F200)  # two of them make a flag: 🇳 + 🇱
_TAGS = range(0xE0020, 0xE007F)  # spell a region after a black flag (England, Scotland)
_CANCEL_TAG = "\U000e007f"
_BLACK_FLAG = "\U0001f3f4"
_KEYCAP = "\u20e3"
_KEYCAP_BASES = frozenset("0123456789#*")
# Emoji whose code point is not a symbol (So): ‼ ⁉ ℹ ↔ ◻ ◼ ◽ ◾ ⤴ ⤵ 〰 〽
_OTHER_BASES = frozenset("\u203c\u2049\u2139\u2194\u25fb\u25fc\u25fd\u25fe\u2934\u2935\u3030\u303d")


class ReactionError(BadRequest):
    """The reaction or listening report cannot be stored as asked."""


def check_emoji(value: object) -> str:
    """One emoji: a symbol with its presentation selector and skin tone, ZWJ sequences of
    those, keycaps, and flags. Never text, markup or invisible format characters."""
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_EMOJI_CHARS:
        raise ReactionError("'emoji' must be a single emoji.")
    parts = value.split(ZWJ)
    if len(parts) == 1 and _is_flag(value):
        return value
    if not all(_is_element(part) for part in parts):
        raise ReactionError("'emoji' must be a single emoji.")
    return value


def _is_flag(text: str) -> bool:
    return len(text) == 2 and all(ord(c) in _REGIONAL for c in text)


def _is_element(text: str) -> bool:
    """One emoji of a ZWJ sequence (or the whole of a plain one)."""
    if not text:
        return False
    base, rest = text[0], text[1:]
    if base in _KEYCAP_BASES:
        return rest in (_KEYCAP, "\ufe0f" + _KEYCAP)
    if base == _BLACK_FLAG and rest.endswith(_CANCEL_TAG):
        return all(ord(c) in _TAGS for c in rest[:-1]) and len(rest) > 1
    if ord(base) in _REGIONAL or not (unicodedata.category(base) == "So" or base in _OTHER_BASES):
        return False
    if rest[:1] in _SELECTORS:
        rest = rest[1:]
    return rest == "" or (len(rest) == 1 and ord(rest) in _SKIN_TONES)


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


class Reached(NamedTuple):
    """How far a listener has played a message."""

    position: float
    heard: bool


async def record_listen(
    session: AsyncSession, message: Message, user_id: str, position: float, heard: bool
) -> Reached:
    """Keep the furthest point reached; once heard, a message stays heard, also when reports
    race (the update keeps the larger position in SQL). Core statements: a listening report
    every few seconds from every player is the busiest write there is."""
    connection = await session.connection()
    keys = {"m": message.id, "u": user_id}
    row = (await connection.execute(_REACHED, keys)).first()
    before = Reached(0.0, False) if row is None else Reached(row.position or 0.0, bool(row.heard))
    after = None
    if row is None:
        try:
            async with connection.begin_nested():  # another report may insert it first
                await connection.execute(
                    insert(Listen).values(
                        message_id=message.id, user_id=user_id, position=position, heard=heard
                    )
                )
            after = Reached(position, heard)
        except IntegrityError:
            pass
    if after is None:
        found = await connection.execute(_UPDATE_REACHED, {**keys, "p": position, "h": heard})
        reached = found.first()  # none if the message went meanwhile
        after = before if reached is None else Reached(*reached)
    # The author's "seen by" changes visibly only at these steps; progress reports every
    # few seconds would otherwise wake every listener of the thread.
    if row is None or (before.heard, quarter(before.position, message)) != (
        after.heard,
        quarter(after.position, message),
    ):
        events.emit(session, message.thread_id, "listen", message.id)
    return after


_LISTEN_KEY = (Listen.message_id == bindparam("m")) & (Listen.user_id == bindparam("u"))
_REACHED = select(Listen.position, Listen.heard).where(_LISTEN_KEY)
# The larger position and heard-or-not in one statement (updated_at by its onupdate).
_UPDATE_REACHED = (
    update(Listen)
    .where(_LISTEN_KEY)
    .values(
        position=case((Listen.position < bindparam("p"), bindparam("p")), else_=Listen.position),
        heard=or_(Listen.heard, bindparam("h")),
    )
    .returning(Listen.position, Listen.heard)
)


def quarter(position: float, message: Message) -> int:
    """The step of a message a listener has reached, as the author's "seen by" shows it."""
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


def is_heard(position: float, duration: float | None) -> bool:
    return duration is not None and duration > 0 and position >= HEARD_FRACTION * duration


# -- what a seat may do: callers have found the seat and the message in its thread --------


async def save_listen(
    session: AsyncSession, seat: Seat, message: Message, data: dict[str, Any]
) -> dict[str, Any]:
    if seat.user is None:
        raise Forbidden("Give your name first, so your listening can be remembered.")
    position, heard = listen_input(message, data)
    listen = await record_listen(session, message, seat.user.id, position, heard)
    return {"message_id": message.id, "position": listen.position, "heard": listen.heard}


def listen_input(message: Message, data: dict[str, Any]) -> tuple[float, bool]:
    """The position reached and whether that counts as heard, from a listening report."""
    position = check_moment(data.get("position", 0), message, "position") or 0.0
    heard = data.get("heard", False)
    if not isinstance(heard, bool):
        raise BadRequest("'heard' must be true or false.")
    return position, heard or is_heard(position, message.duration)


async def save_reaction(
    session: AsyncSession, seat: Seat, message: Message, data: dict[str, Any]
) -> dict[str, Any]:
    if not seat.can_reply:
        raise Forbidden("You can watch this thread but not react in it.")
    emoji = check_emoji(data.get("emoji"))
    at = check_moment(data.get("at"), message)
    reaction = add_reaction(session, message, seat.user.id, emoji, at)
    await session.flush()
    await batches.announce_reaction(session, message, reaction)
    return {"id": reaction.id, "message_id": message.id, "emoji": emoji, "at": at}


async def drop_reaction(session: AsyncSession, seat: Seat, message: Message, raw_id: str) -> None:
    reaction = await session.get(Reaction, id_) if (id_ := parse_id(raw_id)) else None
    if reaction is None or reaction.message_id != message.id:
        raise NotFound("No such reaction.")
    if seat.user is None or reaction.user_id != seat.user.id:
        raise Forbidden("You can remove only your own reactions.")
    await remove_reaction(session, message, reaction)
