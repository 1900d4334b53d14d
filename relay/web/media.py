"""Media renditions after an access check: byte ranges from the local store, or a redirect
to a short-lived presigned URL of the S3 store."""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from relay import access
from relay.errors import NotFound
from relay.models import Message, Rendition
from relay.ranges import RangeNotSatisfiable, parse_range
from relay.storage.base import inline_disposition
from relay.web import link_auth
from relay.web.http import require_user, services

# Media elements and images may load from the store's origin. Captions (<track>) and the JSON
# the player fetches would need CORS on the store, so those small files pass through here.
REDIRECTED = ("video/", "audio/", "image/")
EXTENSIONS = {
    "video/mp4": "mp4",
    "audio/mp4": "m4a",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "application/json": "json",
    "text/vtt": "vtt",
}


async def for_user(request: Request) -> Response:
    who = await require_user(request)
    async with services(request).reads.begin() as session:
        message = await access.message_for_user(session, who.user, request.path_params["id"])
        rendition = await _rendition(session, message, request.path_params["name"])
    return await _serve(request, message, rendition)


async def for_link(request: Request) -> Response:
    who = await link_auth.visitor(request)
    async with services(request).reads.begin() as session:
        message = await link_auth.opened_message(request, session, who)
        rendition = await _rendition(session, message, request.path_params["name"])
    return await _serve(request, message, rendition)


async def for_link_message(request: Request) -> Response:
    """Any message of the link's thread; the presigned URL is issued only after this check."""
    who = await link_auth.visitor(request)
    async with services(request).reads.begin() as session:
        seat = await link_auth.seat_for(request, session, request.path_params["token"], who)
        message = await access.message_in_thread(session, seat, request.path_params["id"])
        rendition = await _rendition(session, message, request.path_params["name"])
    return await _serve(request, message, rendition)


async def _rendition(session, message: Message, name: str) -> Rendition:  # type: ignore[no-untyped-def]
    rendition = await session.scalar(
        select(Rendition).where(Rendition.message_id == message.id, Rendition.name == name)
    )
    if rendition is None:
        raise NotFound(f"This message has no {name!r} media (yet).")
    return rendition


def _filename(message: Message, rendition: Rendition) -> str:
    stem = "".join(c for c in (message.title or "relay-message") if c.isalnum() or c in " -_")
    return f"{stem.strip()[:80] or 'relay-message'}.{EXTENSIONS.get(rendition.mime, 'bin')}"


async def _serve(request: Request, message: Message, rendition: Rendition) -> Response:
    storage = services(request).storage
    url = None
    if rendition.mime.startswith(REDIRECTED):
        url = await storage.presigned_url(
            rendition.storage_key,
            content_type=rendition.mime,
            filename=_filename(message, rendition),
        )
    if url is not None:
        # The presigned URL is reissued only after this request's access check.
        return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
    size = rendition.bytes
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=60",
        "Content-Type": rendition.mime,
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": inline_disposition(_filename(message, rendition)),
    }
    try:
        byte_range = parse_range(request.headers.get("range"), size)
    except RangeNotSatisfiable:
        headers["Content-Range"] = f"bytes */{size}"
        return Response(status_code=416, headers=headers)
    start, stop, status = 0, size, 200
    if byte_range is not None:
        start, stop, status = byte_range.start, byte_range.stop, 206
        headers["Content-Range"] = byte_range.content_range(size)
    headers["Content-Length"] = str(stop - start)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    body = storage.read(rendition.storage_key, start, stop)
    return StreamingResponse(body, status_code=status, headers=headers)
