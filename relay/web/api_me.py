"""JSON API for the caller: their account and language, and searching what they may see."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from relay import inputs, names, search
from relay.errors import BadRequest
from relay.models import User
from relay.web.http import json_body, require_user, services

SEARCH_LIMIT = 50


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
            "display_name": names.display_name(user),
            "is_admin": user.is_admin,
            "language": user.language,
        }
    )


async def search_messages(request: Request) -> Response:
    who = await require_user(request)
    query = request.query_params.get("q", "").strip()
    if not query:
        raise BadRequest("Say what to look for: /api/search?q=words")
    if len(query) > search.MAX_QUERY:
        raise BadRequest(f"A search may have at most {search.MAX_QUERY} characters.")
    async with services(request).reads.begin() as session:
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
                    "url": f"/m/{hit.message_id}?t={hit.start:.1f}",
                    "thread_id": hit.thread_id,
                    "thread_title": hit.thread_title,
                    "speaker": hit.speaker,
                    "thread_url": hit.thread_url,
                }
                for hit in hits
            ],
        }
    )
