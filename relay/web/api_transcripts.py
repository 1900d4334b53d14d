"""JSON API for transcripts: read one, and the author's correction of a segment."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from relay import access, transcripts
from relay.errors import BadRequest, Forbidden
from relay.web import link_auth
from relay.web.http import json_body, require_user, services


async def for_user(request: Request) -> Response:
    who = await require_user(request)
    async with services(request).reads.begin() as session:
        message = await access.message_for_user(session, who.user, request.path_params["id"])
        body = await transcripts.transcript_body(session, message.id)
    return JSONResponse(body)


async def for_link(request: Request) -> Response:
    who = await link_auth.visitor(request)
    async with services(request).reads.begin() as session:
        message = await link_auth.opened_message(request, session, who)
        body = await transcripts.transcript_body(session, message.id)
    return JSONResponse(body)


async def edit_segment(request: Request) -> Response:
    who = await require_user(request)
    svc = services(request)
    data = await json_body(request)
    new_text = data.get("text")
    if not isinstance(new_text, str):
        raise BadRequest('Send the corrected text as {"text": "..."}.')
    try:
        position = int(request.path_params["position"])
    except ValueError:
        raise BadRequest("The segment position must be a whole number.") from None
    async with svc.sessions.begin() as session:
        message = await access.message_for_user(session, who.user, request.path_params["id"])
        if not access.can_change(who.user, message):
            raise Forbidden("Only the author can correct a transcript.")
        segments = await transcripts.edit_segment(session, message, position, new_text)
    await transcripts.save_captions(svc, message, segments)
    async with svc.sessions.begin() as session:
        body = await transcripts.transcript_body(session, message.id)
    return JSONResponse(body)
