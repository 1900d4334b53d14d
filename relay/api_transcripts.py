"""JSON API for transcripts (read, correct a segment), search, and the caller's language."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from relay import access, inputs, link_auth, search, transcripts
from relay.errors import BadRequest, Forbidden
from relay.http import json_body, require_user, services
from relay.models import User

LANGUAGES = {"en", "nl"}  # what the UI offers; any ISO 639-1 code Whisper knows is accepted
SEARCH_LIMIT = 50


async def for_user(request: Request) -> Response:
    who = await require_user(request)
    async with services(request).sessions.begin() as session:
        message = await access.message_for_user(session, who.user, request.path_params["id"])
        body = await transcripts.transcript_body(session, message.id)
    return JSONResponse(body)


async def for_link(request: Request) -> Response:
    who = await link_auth.visitor(request)
    async with services(request).sessions.begin() as session:
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


async def search_messages(request: Request) -> Response:
    who = await require_user(request)
    query = request.query_params.get("q", "").strip()
    if not query:
        raise BadRequest("Say what to look for: /api/search?q=words")
    if len(query) > search.MAX_QUERY:
        raise BadRequest(f"A search may have at most {search.MAX_QUERY} characters.")
    async with services(request).sessions.begin() as session:
        hits = await search.search(session, who.user, query, SEARCH_LIMIT)
    return JSONResponse(
        {
            "query": query,
            "hits": [
                {
                    "message_id": hit.message_id,
                    "title": hit.title,
                    "kind": hit.kind,
                    "start": hit.start,
                    "snippet_html": hit.snippet_html,
                    "url": f"/m/{hit.message_id}#t={hit.start:.1f}",
                }
                for hit in hits
            ],
        }
    )


async def me(request: Request) -> Response:
    who = await require_user(request)
    if request.method == "PATCH":
        data = await json_body(request)
        if "language" in data:
            async with services(request).sessions.begin() as session:
                user = await session.get(User, who.user.id)
                user.language = inputs.language(data["language"])
            who.user.language = user.language
    user = who.user
    return JSONResponse(
        {
            "id": user.id,
            "email": user.email,
            "display_name": user.display_name,
            "is_admin": user.is_admin,
            "language": user.language,
        }
    )
