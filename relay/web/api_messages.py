"""JSON API for messages: create (with its share link and tus upload), list, detail, change
(the language it is transcribed in), delete."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from relay import access, inputs, transcripts, upload_start
from relay.enums import MessageStatus
from relay.errors import BadRequest, Forbidden
from relay.message_view import load_media, message_json
from relay.messages import delete_message
from relay.models import Message, Upload, User
from relay.web.http import base_url, json_body, require_user, services

LIST_LIMIT = 100


async def _describe(
    request: Request, session: AsyncSession, user: User, messages: list[Message]
) -> list[dict[str, Any]]:
    """Messages as JSON, with a fixed number of queries however many there are."""
    origin = base_url(request)
    ids = [m.id for m in messages]
    secret = services(request).secret
    shares = await access.share_urls(session, secret, origin, user, {m.thread_id for m in messages})
    renditions, transcripts = await load_media(session, ids)
    # The newest unfinished upload of each message still uploading (oldest first, so the
    # newest overwrites).
    uploading = [m.id for m in messages if m.status is MessageStatus.uploading]
    uploads = {
        u.message_id: u
        for u in await session.scalars(
            select(Upload)
            .where(Upload.message_id.in_(uploading), Upload.completed_at.is_(None))
            .order_by(Upload.created_at)
        )
    }
    items = []
    for message in messages:
        data = message_json(
            message,
            renditions=renditions.get(message.id, []),
            media_base=f"{origin}/media/{message.id}",
            share_url=shares.get(message.thread_id),
            transcript=transcripts.get(message.id),
        )
        if (upload := uploads.get(message.id)) is not None:
            data["upload_url"] = f"{origin}/api/uploads/{upload.id}"
            data["upload_offset"] = upload.offset
        items.append(data)
    return items


async def create(request: Request) -> Response:
    who = await require_user(request)
    svc = services(request)
    data = await json_body(request)
    kind = inputs.message_kind(data.get("kind"))
    draft = inputs.draft(data)
    parent_id = inputs.parent_id(data)

    async def author(session: AsyncSession) -> upload_start.Author:
        if not parent_id:
            return upload_start.Author(who.user.id)
        access.require_reply(await access.message_seat(session, who.user, parent_id))
        return upload_start.Author(who.user.id, await session.get(Message, parent_id))

    message, _ = await upload_start.start_message(svc, kind, draft, author)
    async with svc.sessions.begin() as session:
        (body,) = await _describe(request, session, who.user, [message])
    return JSONResponse(body, status_code=201, headers={"Location": f"/api/messages/{message.id}"})


async def list_own(request: Request) -> Response:
    who = await require_user(request)
    async with services(request).reads.begin() as session:
        messages = await session.scalars(
            select(Message)
            .where(Message.author_id == who.user.id)
            .order_by(Message.created_at.desc())
            .limit(LIST_LIMIT)
        )
        items = await _describe(request, session, who.user, list(messages.all()))
    return JSONResponse({"messages": items})


async def detail(request: Request) -> Response:
    who = await require_user(request)
    async with services(request).reads.begin() as session:
        message = await access.message_for_user(session, who.user, request.path_params["id"])
        (body,) = await _describe(request, session, who.user, [message])
    return JSONResponse(body)


async def change(request: Request) -> Response:
    """The author sets the message's language ("nl", "en" or null to detect it): a playable
    recording is transcribed again in it."""
    who = await require_user(request)
    svc = services(request)
    data = await json_body(request)
    async with svc.sessions.begin() as session:
        message = await access.message_for_user(session, who.user, request.path_params["id"])
        if not access.can_change(who.user, message):
            raise Forbidden("Only the author can change a message.")
        if not isinstance(data, dict) or set(data) != {"language"}:
            raise BadRequest('Send the language as {"language": "nl"}, "en" or null.')
        language = inputs.language(data["language"])
        attempts = svc.settings.jobs.transcribe_attempts
        await transcripts.set_language(session, message, language, attempts=attempts)
        (body,) = await _describe(request, session, who.user, [message])
    return JSONResponse(body)


async def remove(request: Request) -> Response:
    who = await require_user(request)
    svc = services(request)
    async with svc.sessions.begin() as session:
        message = await access.message_for_user(session, who.user, request.path_params["id"])
        if not access.can_change(who.user, message):
            raise Forbidden("Only the author can delete a message.")
        await delete_message(session, svc.storage, message)
    return Response(status_code=204)
