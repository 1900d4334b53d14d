"""JSON API behind a share link: the thread, a guest's display name, replies, listening,
reactions, transcripts. Every call re-checks that the link is live (and unlocked)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from relay import (
    access,
    auth,
    inputs,
    listeners,
    reactions,
    thread_view,
    threads,
    throttle,
    transcripts,
    upload_start,
)
from relay.access import Seat
from relay.context import Services
from relay.errors import BadRequest, Forbidden, RelayError, Unauthorized
from relay.messages import delete_message
from relay.models import Guest, Message, ShareLink, User, new_id
from relay.web import sse
from relay.web.http import base_url, json_body, services
from relay.web.link_auth import (
    GUEST_COOKIE,
    GUEST_DAYS,
    LISTENER_COOKIE,
    Visitor,
    listener,
    seat_for,
    set_link_cookie,
    visitor,
)

HOUR = timedelta(hours=1)


async def thread(request: Request) -> Response:
    who = await visitor(request)
    token = request.path_params["token"]
    async with services(request).reads.begin() as session:
        seat = await seat_for(request, session, token, who)
        body = await thread_view.link_document(
            session, seat, origin=base_url(request), token=token, csrf=who.csrf
        )
    return JSONResponse(body)


async def events(request: Request) -> Response:
    """Live updates through a link: they stop when the link is revoked or expires."""
    who = await visitor(request)
    svc = services(request)
    token = request.path_params["token"]
    async with svc.reads.begin() as session:
        seat = await seat_for(request, session, token, who)

    async def still_allowed() -> bool:
        try:
            async with svc.reads.begin() as session:
                await seat_for(request, session, token, who)
        except RelayError:
            return False
        return True

    assert svc.hub is not None
    return await sse.sse_response(request, svc.hub, {seat.thread.id}, still_allowed=still_allowed)


async def become_guest(request: Request) -> Response:
    """Give a display name on a reply link: a guest identity bound to this link only."""
    token = request.path_params["token"]
    data = await json_body(request)  # JSON only: a cross-site form cannot send it
    name = inputs.guest_name(data.get("name"))
    svc = services(request)
    async with svc.sessions.begin() as session:
        seat = await seat_for(request, session, token, Visitor(None, None))
        if not seat.can_reply_with_name:
            raise Forbidden("This link lets you watch, not reply.")
        assert seat.link is not None
        most = svc.settings.limits.guests_per_link_hour
        await throttle.hit(
            session,
            throttle.Limit(
                f"guests:{seat.link.key}",
                most,
                HOUR,
                f"This link has taken {most} new names in the past hour: try again later.",
            ),
        )
        user_id = new_id()
        user = User(
            id=user_id,
            email=f"guest-{user_id}@guests.invalid",
            display_name=name,
            password_hash="!",  # never a valid argon2 hash: a guest cannot sign in
        )
        session.add(user)
        await session.flush()
        session.add(Guest(user_id=user_id, link_key=seat.link.key))
        # What they played before giving a name counts under it from now on.
        _, played, fresh = listener(request, seat.link)
        if not fresh:
            await listeners.adopt(session, seat.link.key, played, user_id)
        cookie, csrf = await auth.start_session(session, user, GUEST_DAYS, link=seat.link)
    response = JSONResponse({"id": user_id, "name": name, "csrf": csrf}, status_code=201)
    set_link_cookie(request, response, token, GUEST_COOKIE, cookie)
    if not fresh:
        response.delete_cookie(LISTENER_COOKIE, path=f"/s/{token}")
    return response


async def _seat_and_message(
    request: Request, session: AsyncSession, who: Visitor
) -> tuple[Seat, Message]:
    seat = await seat_for(request, session, request.path_params["token"], who)
    message = await access.message_in_thread(session, seat, request.path_params["id"])
    return seat, message


async def reply(request: Request) -> Response:
    who = await visitor(request)
    data = await json_body(request)
    kind = inputs.message_kind(data.get("kind"))
    draft = inputs.draft(data)
    parent_id = inputs.parent_id(data)
    svc = services(request)
    token = request.path_params["token"]

    async def author(session: AsyncSession) -> upload_start.Author:
        seat = await seat_for(request, session, token, who)
        access.require_reply(seat)
        assert seat.user is not None
        if parent_id is None:
            parent = await session.scalar(
                select(Message)
                .where(Message.thread_id == seat.thread.id)
                .order_by(Message.created_at.desc(), Message.id)
                .limit(1)
            )
        else:
            parent = await access.message_in_thread(session, seat, parent_id)
        if parent is None:
            raise BadRequest("This thread has no message to reply to.")
        is_guest = who.guest_link is not None
        if is_guest:
            await _guest_quota(svc, session, "messages", seat.user.id)
        return upload_start.Author(seat.user.id, parent, guest=is_guest)

    message, upload = await upload_start.start_message(svc, kind, draft, author)
    async with svc.sessions.begin() as session:
        seat = await seat_for(request, session, token, who)
        urls = thread_view.link_urls(base_url(request), token, None)
        (body,), _ = await thread_view.message_items(session, seat, urls, [message])
    if upload is not None:
        body |= {
            "upload_url": f"{base_url(request)}/s/{token}/uploads/{upload.id}",
            "upload_offset": 0,
        }
    return JSONResponse(body, status_code=201)


async def remove(request: Request) -> Response:
    who = await visitor(request)
    svc = services(request)
    async with svc.sessions.begin() as session:
        seat, message = await _seat_and_message(request, session, who)
        if seat.user is None or not access.can_change(seat.user, message):
            raise Forbidden("Only the author can delete a message.")
        await delete_message(session, svc.storage, message)
    return Response(status_code=204)


async def listen(request: Request) -> Response:
    """Listening through a link is an explicit act: a signed-in colleague who plays a
    message finds the thread in their inbox afterwards, for as long as the link lives.
    Someone without a name is counted by a cookie of this link (see relay.listeners)."""
    who = await visitor(request)
    data = await json_body(request)
    async with services(request).sessions.begin() as session:
        seat, message = await _seat_and_message(request, session, who)
        if seat.user is None:
            assert seat.link is not None
            return await _listen_nameless(request, session, seat.link, message, data)
        body = await reactions.save_listen(session, seat, message, data)
        if who.guest_link is None:
            await threads.join_through_link(session, seat)
    return JSONResponse(body)


async def _listen_nameless(
    request: Request, session: AsyncSession, link: ShareLink, message: Message, data: dict
) -> Response:
    position, heard = reactions.listen_input(message, data)
    cookie, stored, fresh = listener(request, link)
    most = services(request).settings.limits.listeners_per_link_hour
    limit = throttle.Limit(
        f"listeners:{link.key}",
        most,
        HOUR,
        f"This link has counted {most} new listeners in the past hour: try again later.",
    )
    row = await listeners.record(session, message, link.key, stored, position, heard, limit)
    response = JSONResponse(
        {"message_id": message.id, "position": row.position, "heard": row.heard}
    )
    if fresh:
        set_link_cookie(request, response, request.path_params["token"], LISTENER_COOKIE, cookie)
    return response


async def join(request: Request) -> Response:
    """Add the thread to a signed-in visitor's inbox, for as long as the link lives."""
    who = await visitor(request)
    async with services(request).sessions.begin() as session:
        seat = await seat_for(request, session, request.path_params["token"], who)
        if seat.user is None or who.guest_link is not None:
            raise Unauthorized("Sign in to keep this thread in your inbox.")
        await threads.join_through_link(session, seat)
    return JSONResponse({"thread_id": seat.thread.id, "inbox": True})


async def react(request: Request) -> Response:
    who = await visitor(request)
    data = await json_body(request)
    svc = services(request)
    async with svc.sessions.begin() as session:
        seat, message = await _seat_and_message(request, session, who)
        if who.guest_link is not None and seat.user is not None:
            await _guest_quota(svc, session, "reactions", seat.user.id)
        body = await reactions.save_reaction(session, seat, message, data)
    return JSONResponse(body, status_code=201)


async def _guest_quota(svc: Services, session: AsyncSession, what: str, guest_id: str) -> None:
    """Guests have no account to answer for a flood: their posts are counted per hour."""
    limits = svc.settings.limits
    most = limits.guest_messages_hour if what == "messages" else limits.guest_reactions_hour
    reason = f"Guests may add {most} {what} an hour: try again later."
    await throttle.hit(session, throttle.Limit(f"guest-{what}:{guest_id}", most, HOUR, reason))


async def unreact(request: Request) -> Response:
    who = await visitor(request)
    async with services(request).sessions.begin() as session:
        seat, message = await _seat_and_message(request, session, who)
        await reactions.drop_reaction(session, seat, message, request.path_params["reaction"])
    return Response(status_code=204)


async def transcript(request: Request) -> Response:
    who = await visitor(request)
    async with services(request).sessions.begin() as session:
        _, message = await _seat_and_message(request, session, who)
        body = await transcripts.transcript_body(session, message.id)
    return JSONResponse(body)
