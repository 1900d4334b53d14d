"""JSON API for members: how far they have played a message, and their reactions to it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from relay import access, reactions
from relay.access import Seat
from relay.errors import Forbidden
from relay.models import Message, User
from relay.web.http import json_body, require_user, services


async def listen(request: Request) -> Response:
    who = await require_user(request)
    data = await json_body(request)
    async with services(request).sessions.begin() as session:
        seat, message = await _seat_and_message(session, who.user, request.path_params["id"])
        body = await reactions.save_listen(session, _acting(seat), message, data)
    return JSONResponse(body)


async def react(request: Request) -> Response:
    who = await require_user(request)
    data = await json_body(request)
    async with services(request).sessions.begin() as session:
        seat, message = await _seat_and_message(session, who.user, request.path_params["id"])
        body = await reactions.save_reaction(session, _acting(seat), message, data)
    return JSONResponse(body, status_code=201)


async def unreact(request: Request) -> Response:
    who = await require_user(request)
    async with services(request).sessions.begin() as session:
        seat, message = await _seat_and_message(session, who.user, request.path_params["id"])
        await reactions.drop_reaction(session, seat, message, request.path_params["reaction"])
    return Response(status_code=204)


async def _seat_and_message(
    session: AsyncSession, user: User, message_id: str
) -> tuple[Seat, Message]:
    # One statement: the seat's row carries the message.
    row, seat = await access.visible_message(session, user, message_id)
    return seat, row[3]


def _acting(seat: Seat) -> Seat:
    """Admins read threads they are not in, but leave no trace in them."""
    if seat.role is None:
        raise Forbidden("Admins can read this thread but not take part in it.")
    return seat
