"""The thread document: every message of a thread with its media, listening state, reactions
and who the thread waits on, built in a fixed number of queries however long the thread is."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, cast

from sqlalchemy import Row, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from relay import access, listener_counts, names
from relay.access import Seat, link_is_live
from relay.enums import MemberRole, MessageKind, MessageStatus, TranscriptStatus
from relay.message_view import load_media, load_renditions_of, message_json
from relay.models import (
    Guest,
    Listen,
    Message,
    Reaction,
    ShareLink,
    ThreadMember,
    Transcript,
    User,
)

MAX_MESSAGES = 1000


@dataclass(frozen=True)
class Urls:
    """Where the caller's page finds things; member pages and link pages differ."""

    self: str
    events: str
    messages: str
    guest: str | None
    links: str | None
    message: Callable[[str], str]  # base for a message's listen, reactions, transcript
    media: Callable[[str], str]  # base for a message's renditions
    share: Callable[[str], str | None]  # a message's share URL


def member_urls(thread_id: str, share_url: str | None) -> Urls:
    return Urls(
        self=f"/api/threads/{thread_id}",
        events=f"/api/threads/{thread_id}/events",
        messages="/api/messages",
        guest=None,
        links=f"/api/threads/{thread_id}/links",
        message=lambda mid: f"/api/messages/{mid}",
        media=lambda mid: f"/media/{mid}",
        share=lambda mid: share_url,
    )


def link_urls(origin: str, token: str, guest: str | None) -> Urls:
    base = f"/s/{token}"
    return Urls(
        self=f"{base}/thread",
        events=f"{base}/events",
        messages=f"{base}/messages",
        guest=guest,
        links=None,
        message=lambda mid: f"{base}/messages/{mid}",
        media=lambda mid: f"{base}/media/{mid}",
        share=lambda mid: f"{origin}{base}",
    )


async def member_document(
    session: AsyncSession, seat: Seat, *, origin: str, secret: bytes, csrf: str | None
) -> dict[str, Any]:
    """The thread as a member (or an admin reading) sees it at /api/threads/{id} and /t/{id}."""
    assert seat.user is not None
    thread_id = seat.thread.id
    urls = member_urls(thread_id, await access.seat_share_url(session, secret, origin, seat))
    return await thread_document(session, seat, urls, csrf=csrf)


async def link_document(
    session: AsyncSession, seat: Seat, *, origin: str, token: str, csrf: str | None
) -> dict[str, Any]:
    """The thread as a link's visitor sees it at /s/{token}/thread and /s/{token}."""
    guest_url = f"/s/{token}/guest" if seat.can_reply_with_name else None
    csrf = csrf if seat.user is not None else None
    return await thread_document(session, seat, link_urls(origin, token, guest_url), csrf=csrf)


def playable(message: Message) -> bool:
    return message.kind is MessageKind.text or message.status is MessageStatus.ready


def waiting_on(messages: Sequence[Message], member_ids: Sequence[str]) -> list[str]:
    """Members who have not posted since the latest message by someone else, in member order."""
    if not messages:
        return []
    latest = messages[-1]
    last_post: dict[str, int] = {}
    for index, message in enumerate(messages):
        last_post[message.author_id] = index
    return [
        uid
        for uid in member_ids
        if uid != latest.author_id and last_post.get(uid, -1) < len(messages) - 1
    ]


def still_to_hear(
    messages: Sequence[Message],
    member_ids: Sequence[str],
    heard_by: dict[str, set[str]],
    viewer_id: str | None,
) -> list[str]:
    """Who the thread page says it waits on: members who have not heard the latest playable
    message, leaving out its author, the viewer, and whoever posted after it."""
    index = next((i for i in range(len(messages) - 1, -1, -1) if playable(messages[i])), None)
    if index is None:
        return []
    latest = messages[index]
    moved_on = {m.author_id for m in messages[index:]}
    heard = heard_by.get(latest.id, set())
    return [
        uid for uid in member_ids if uid != viewer_id and uid not in moved_on and uid not in heard
    ]


class TranscriptView(NamedTuple):
    """What the thread document shows of a transcript."""

    status: TranscriptStatus
    language: str | None
    text: str
    error: str | None


class Named(Protocol):
    """A user as the thread document names them: a User, or a row of its columns."""

    id: str
    display_name: str | None
    email: str | None


def person(user: Named | None, guests: set[str]) -> dict[str, Any]:
    if user is None:
        return {"id": None, "name": names.UNKNOWN, "guest": False}
    return {"id": user.id, "name": display_name(user), "guest": user.id in guests}


def display_name(user: Named) -> str:
    return names.name_of(user.display_name, user.email)


# Users by id, which of them are guests, and who has heard each message.
People = tuple[dict[str, Named], set[str], dict[str, set[str]]]


async def thread_document(
    session: AsyncSession, seat: Seat, urls: Urls, *, csrf: str | None
) -> dict[str, Any]:
    thread = seat.thread
    # Rows, not ORM objects (building those cost more than the statement): a row of the
    # messages table reads like a Message here, and its transcript's columns come along.
    connection = await session.connection()
    rows = (await connection.execute(_MESSAGES, {"thread_id": thread.id})).all()
    messages = cast(list[Message], rows)
    transcripts = {
        row.id: TranscriptView(row.t_status, row.t_language, row.t_text, row.t_error)
        for row in rows
        if row.t_status is not None
    }
    members = await _live_members(session, thread.id)
    # The caller too: a guest who has not posted yet is still a guest.
    me = {seat.user.id} if seat.user is not None else set()
    items, (people, guests, heard_by) = await message_items(
        session,
        seat,
        urls,
        messages,
        also={thread.owner_id, *me, *(uid for uid, _ in members)},
        transcripts=transcripts,
    )
    member_ids = [uid for uid, role in members if role is not MemberRole.viewer]
    me_id = seat.user.id if seat.user is not None else None
    return {
        "id": thread.id,
        "title": next((m.title for m in messages if m.title), ""),
        "created_at": thread.created_at.isoformat(),
        "last_activity_at": thread.last_activity_at.isoformat(),
        "owner": person(people.get(thread.owner_id), guests),
        "me": _me(seat, guests),
        "urls": {
            "self": urls.self,
            "events": urls.events,
            "messages": urls.messages,
            "guest": urls.guest,
            "links": urls.links,
        },
        "csrf": csrf,
        "messages": items,
        "waiting_on": [
            person(people.get(uid), guests)
            for uid in still_to_hear(messages, member_ids, heard_by, me_id)
        ],
        "first_unheard": next((item["id"] for item in items if item["new"]), None),
    }


async def message_items(
    session: AsyncSession,
    seat: Seat,
    urls: Urls,
    messages: Sequence[Message],
    *,
    also: set[str] | None = None,
    transcripts: dict[str, TranscriptView] | dict[str, Transcript] | None = None,
) -> tuple[list[dict[str, Any]], People]:
    """The messages as the thread document lists them, in a fixed number of queries however
    many there are; with the people they name (and those in `also`). `transcripts`: those of
    the messages when the caller has read them already (all of them, even if none)."""
    me = seat.user
    ids = [m.id for m in messages]
    if transcripts is None:
        renditions, transcripts = await load_media(session, ids)
    else:
        renditions = await load_renditions_of(session, ids)
    # Plain rows on the session's connection: ORM objects cost more to build than the
    # statements do to run, and nothing here changes them.
    connection = await session.connection()
    listens = (await connection.execute(_LISTENS, {"ids": ids})).all()
    # Only authors see who played their messages without a name.
    mine_ids = [m.id for m in messages if me is not None and m.author_id == me.id]
    nameless = await listener_counts.per_message(session, mine_ids)
    reactions = (await connection.execute(_REACTIONS, {"ids": ids})).all()
    people_ids = (
        {m.author_id for m in messages}
        | {lst.user_id for lst in listens}
        | {r.user_id for r in reactions}
        | (also or set())
    )
    people: dict[str, Named] = {}
    guests: set[str] = set()
    for user in await connection.execute(_PEOPLE, {"ids": list(people_ids)}):
        people[user.id] = user
        if user.guest is not None:
            guests.add(user.id)

    by_message: dict[str, list[Row[Any]]] = {}
    heard_by: dict[str, set[str]] = {}
    for listen in listens:
        by_message.setdefault(listen.message_id, []).append(listen)
        if listen.heard:
            heard_by.setdefault(listen.message_id, set()).add(listen.user_id)
    reactions_of: dict[str, list[Row[Any]]] = {}
    for reaction in reactions:
        reactions_of.setdefault(reaction.message_id, []).append(reaction)

    items = []
    for message in messages:
        data = message_json(
            message,
            renditions=renditions.get(message.id, []),
            media_base=urls.media(message.id),
            share_url=urls.share(message.id),
            transcript=transcripts.get(message.id),
        )
        mine = me is not None and message.author_id == me.id
        own = next((x for x in by_message.get(message.id, []) if me and x.user_id == me.id), None)
        base = urls.message(message.id)
        data |= {
            "at": message.at,
            "author": person(people.get(message.author_id), guests),
            "mine": mine,
            "new": not mine and (own is None or not own.heard) and playable(message),
            "listen": None if own is None else {"position": own.position, "heard": own.heard},
            "seen_by": [
                {**person(people.get(x.user_id), guests), "position": x.position, "heard": x.heard}
                for x in by_message.get(message.id, [])
                if mine and x.user_id != message.author_id
            ],
            # People who played it through a link without giving a name: counted, not named.
            "anonymous_listeners": _counted(nameless.get(message.id) if mine else None),
            "reactions": [
                {
                    "id": r.id,
                    "emoji": r.emoji,
                    "at": r.at,
                    "user": person(people.get(r.user_id), guests),
                    "mine": me is not None and r.user_id == me.id,
                }
                for r in reactions_of.get(message.id, [])
            ],
            "urls": {
                "listen": f"{base}/listen",
                "reactions": f"{base}/reactions",
                "transcript": f"{base}/transcript",
                "delete": base if mine else None,
                # The author (with an account) sets the language it is transcribed in.
                "language": f"/api/messages/{message.id}" if mine and me.id not in guests else None,
            },
        }
        items.append(data)
    return items, (people, guests, heard_by)


def _counted(found: tuple[int, int] | None) -> dict[str, int]:
    count, heard = found or (0, 0)
    return {"count": count, "heard": heard}


def _me(seat: Seat, guests: set[str]) -> dict[str, Any]:
    user = seat.user
    if user is None:
        role = "visitor"
    elif user.id in guests:
        role = "guest"
    elif seat.role is None:
        role = "admin" if user.is_admin and seat.link is None else "visitor"
    else:
        role = seat.role.value
    needs_name = seat.can_reply_with_name
    return {
        "id": user.id if user else None,
        "name": display_name(user) if user else None,
        "role": role,
        "can_reply": seat.can_reply,
        "can_share": seat.can_share,
        "needs_name": needs_name,
    }


async def links_used(session: AsyncSession, link_keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Who came through each link: the names of its guests and of the colleagues who joined
    through it (while it lives), and how many played something there without a name."""
    names: dict[str, list[str]] = {key: [] for key in link_keys}
    rows = await session.execute(
        select(Guest.link_key, User)
        .join(User, User.id == Guest.user_id)
        .where(Guest.link_key.in_(names))
        .order_by(Guest.created_at, User.id)
    )
    joined = await session.execute(
        select(ThreadMember.via_link, User)
        .join(User, User.id == ThreadMember.user_id)
        .where(ThreadMember.via_link.in_(names))
        .order_by(ThreadMember.joined_at, User.id)
    )
    for key, user in [*rows.all(), *joined.all()]:
        if key is not None:
            names[key].append(display_name(user))
    nameless = await listener_counts.per_link(session, names)
    return {
        key: {"names": found, "anonymous": nameless.get(key, 0)} for key, found in names.items()
    }


async def _live_members(session: AsyncSession, thread_id: str) -> list[tuple[str, MemberRole]]:
    """Members in joining order, leaving out those whose link has died."""
    rows = await (await session.connection()).execute(_MEMBERS, {"thread_id": thread_id})
    return [
        (row.user_id, row.role)
        for row in rows
        # The row's revoked_at and expires_at are its link's.
        if row.via_link is None or (row.link is not None and link_is_live(cast(ShareLink, row)))
    ]


# The statements of a thread document, built once (building one costs about as much as running
# it); :ids expands to the thread's message ids, or to the people it names.
_IDS = bindparam("ids", expanding=True)
_MESSAGES = (
    select(
        Message.__table__,
        Transcript.status.label("t_status"),
        Transcript.language.label("t_language"),
        Transcript.text.label("t_text"),
        Transcript.error.label("t_error"),
    )
    .outerjoin(Transcript, Transcript.message_id == Message.id)
    .where(Message.thread_id == bindparam("thread_id"))
    .order_by(Message.created_at, Message.id)
    .limit(MAX_MESSAGES)
)
_LISTENS = select(Listen.message_id, Listen.user_id, Listen.position, Listen.heard).where(
    Listen.message_id.in_(_IDS)
)
_REACTIONS = (
    select(Reaction.id, Reaction.message_id, Reaction.user_id, Reaction.emoji, Reaction.at)
    .where(Reaction.message_id.in_(_IDS))
    .order_by(Reaction.id)
)
_PEOPLE = (
    select(User.id, User.display_name, User.email, Guest.user_id.label("guest"))
    .outerjoin(Guest, Guest.user_id == User.id)
    .where(User.id.in_(_IDS))
)
_MEMBERS = (
    select(
        ThreadMember.user_id,
        ThreadMember.role,
        ThreadMember.via_link,
        ShareLink.key.label("link"),
        ShareLink.revoked_at,
        ShareLink.expires_at,
    )
    .outerjoin(ShareLink, ShareLink.key == ThreadMember.via_link)
    .where(ThreadMember.thread_id == bindparam("thread_id"))
    .order_by(ThreadMember.joined_at, ThreadMember.user_id)
)
