"""Media renditions after an access check: byte ranges from the local store (read from the
page cache inside the event loop, or handed to nginx with X-Accel-Redirect), or a redirect
to a short-lived presigned URL of the S3 store. Local files carry ETag and Last-Modified,
so a phone that plays a message again asks with If-None-Match and gets 304."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from urllib.parse import quote

import anyio
from sqlalchemy import and_, bindparam, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from relay import access, read_cache
from relay.context import Services
from relay.errors import NotFound
from relay.models import Message, Rendition, ShareLink, ThreadMember
from relay.ranges import (
    ByteRange,
    RangeNotSatisfiable,
    not_modified,
    parse_range,
    range_applies,
)
from relay.storage import files
from relay.storage.base import Storage, inline_disposition
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
FILE_CHUNK = 1024 * 1024
# What decides whether the caller (:user_id) sees the message, its title and the rendition
# asked for (:name), in one statement built once, as plain columns.
_CHECKED = (
    select(
        Message.title,
        ThreadMember.user_id.label("member"),
        ThreadMember.via_link,
        ShareLink.revoked_at,
        ShareLink.expires_at,
        Rendition.name,
        Rendition.storage_key,
        Rendition.mime,
        Rendition.bytes,
    )
    .outerjoin(
        ThreadMember,
        and_(
            ThreadMember.thread_id == Message.thread_id,
            ThreadMember.user_id == bindparam("user_id"),
        ),
    )
    .outerjoin(ShareLink, ShareLink.key == ThreadMember.via_link)
    .outerjoin(
        Rendition, and_(Rendition.message_id == Message.id, Rendition.name == bindparam("name"))
    )
    .where(Message.id == bindparam("message_id"))
)


@dataclass(frozen=True)
class _Plan:
    """How a rendition is answered once access is granted; kept with the access check."""

    redirect: str | None  # a presigned URL of the S3 store
    headers: dict[str, str]
    key: str
    size: int
    path: Path | None  # the file in the local store

    @functools.cached_property
    def encoded_headers(self) -> list[tuple[bytes, bytes]]:
        """`headers` as a response sends them, encoded once for all the ranges it answers."""
        return _encoded(self.headers)


async def for_user(request: Request) -> Response:
    svc = services(request)
    who = await require_user(request)
    message_id, name = request.path_params["id"], request.path_params["name"]

    async def check() -> _Plan | None:
        if len(message_id) > 32:
            return None
        params = {"user_id": who.user.id, "message_id": message_id, "name": name}
        async with svc.one_statement() as connection:
            row = (await connection.execute(_CHECKED, params)).first()
        if row is None or not access.sees(who.user, row.member, row.via_link, row):
            return None
        if row.name is None:
            raise NotFound(f"This message has no {name!r} media (yet).")
        # The row reads like the message (its title) and like the rendition.
        return await _plan(svc, cast(Message, row), cast(Rendition, row))

    # Kept while the database is unchanged: a player's range requests cost no statement.
    plan = await svc.answers.get(("media", who.user.id, message_id, name), check)
    if plan is None:
        raise NotFound("No such message.")
    return _answer(request, svc, plan)


async def for_link(request: Request) -> Response:
    svc = services(request)
    who = await link_auth.visitor(request)
    async with svc.reads.begin() as session:
        message = await link_auth.opened_message(request, session, who)
        rendition = await _rendition(session, message, request.path_params["name"])
    return _answer(request, svc, await _plan(svc, message, rendition))


async def for_link_message(request: Request) -> Response:
    """Any message of the link's thread; the presigned URL is issued only after this check."""
    svc = services(request)
    who = await link_auth.visitor(request)
    async with svc.reads.begin() as session:
        seat = await link_auth.seat_for(request, session, request.path_params["token"], who)
        message = await access.message_in_thread(session, seat, request.path_params["id"])
        rendition = await _rendition(session, message, request.path_params["name"])
    return _answer(request, svc, await _plan(svc, message, rendition))


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


async def _plan(svc: Services, message: Message, rendition: Rendition) -> _Plan:
    storage, key = svc.storage, rendition.storage_key
    url = None
    if rendition.mime.startswith(REDIRECTED):
        url = await storage.presigned_url(
            key, content_type=rendition.mime, filename=_filename(message, rendition)
        )
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=60",
        "Content-Type": rendition.mime,
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": inline_disposition(_filename(message, rendition)),
    }
    path = storage.local_path(key)
    if path is not None and svc.settings.accel_redirect is not None:
        # nginx sends the file (sendfile, ranges, validators) from RELAY_MEDIA_DIR.
        headers["X-Accel-Redirect"] = svc.settings.accel_redirect + quote(key)
        # nginx may keep this yes as long as the relay keeps its own (infra/nginx.conf).
        headers["X-Accel-Expires"] = str(round(read_cache.SECONDS))
    return _Plan(url, headers, key, rendition.bytes, path)


def _answer(request: Request, svc: Services, plan: _Plan) -> Response:
    if plan.redirect is not None:
        # The presigned URL is reissued only after an access check.
        return RedirectResponse(plan.redirect, 302, headers={"Cache-Control": "no-store"})
    if plan.path is None:  # small files of the S3 store (captions, JSON) pass through here
        return _stream(request, svc.storage, plan, dict(plan.headers))
    if "X-Accel-Redirect" in plan.headers:
        return Response(status_code=200, headers=plan.headers)
    opened = files.open_file(plan.path)
    if opened is None:
        raise NotFound("This media is missing from the store.")
    try:
        return _file_response(request, opened, plan)
    except BaseException:
        os.close(opened.fd)
        raise


def _file_response(request: Request, opened: files.OpenFile, plan: _Plan) -> Response:
    """200, 206, 304 or 416 for a local file; the response closes the descriptor."""
    size = opened.size
    headers = {"ETag": opened.etag, "Last-Modified": opened.last_modified}
    # One pass over the request's headers (names are lower case in ASGI).
    asked = {k: v.decode("latin-1") for k, v in request.scope["headers"] if k in _CONDITIONS}
    if not_modified(
        asked.get(b"if-none-match"), asked.get(b"if-modified-since"), opened.etag, opened.mtime
    ):
        return FileSlice(opened.fd, 0, 0, 304, _encoded(_validators(plan.headers | headers)))
    byte_range = None
    if range_applies(asked.get(b"if-range"), opened.etag, opened.last_modified):
        try:
            byte_range = parse_range(asked.get(b"range"), size)
        except RangeNotSatisfiable:
            headers["Content-Range"] = f"bytes */{size}"
            headers["Content-Length"] = "0"
            return FileSlice(opened.fd, 0, 0, 416, plan.encoded_headers + _encoded(headers))
    start, stop, status = _span(byte_range, size, headers)
    if request.method == "HEAD":
        stop = start
    return FileSlice(opened.fd, start, stop, status, plan.encoded_headers + _encoded(headers))


_CONDITIONS = frozenset({b"range", b"if-range", b"if-none-match", b"if-modified-since"})


def _span(byte_range: ByteRange | None, size: int, headers: dict[str, str]) -> tuple[int, int, int]:
    """Where the answer starts and stops, and its status; sets the length headers."""
    start, stop, status = 0, size, 200
    if byte_range is not None:
        start, stop, status = byte_range.start, byte_range.stop, 206
        headers["Content-Range"] = byte_range.content_range(size)
    headers["Content-Length"] = str(stop - start)
    return start, stop, status


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """As Starlette's Response sends a dict of headers (FileSlice has no body to measure)."""
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


def _validators(headers: dict[str, str]) -> dict[str, str]:
    """What a 304 repeats of the 200 it stands for."""
    keep = ("Cache-Control", "ETag", "Last-Modified", "X-Content-Type-Options")
    return {name: headers[name] for name in keep}


def _stream(request: Request, storage: Storage, plan: _Plan, headers: dict[str, str]) -> Response:
    size = plan.size
    try:
        byte_range = parse_range(request.headers.get("range"), size)
    except RangeNotSatisfiable:
        headers["Content-Range"] = f"bytes */{size}"
        return Response(status_code=416, headers=headers)
    start, stop, status = _span(byte_range, size, headers)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    body = storage.read(plan.key, start, stop)
    return StreamingResponse(body, status_code=status, headers=headers)


class FileSlice(Response):
    """Bytes [start, stop) of an open file, read at most a MiB at a time (from the page cache
    inside the event loop when it holds them); the descriptor is closed once sent."""

    def __init__(
        self, fd: int, start: int, stop: int, status_code: int, headers: list[tuple[bytes, bytes]]
    ) -> None:
        self.fd, self.start, self.stop = fd, start, stop
        self.status_code = status_code
        self.background = None
        self.raw_headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            if self.stop == self.start:  # HEAD, 304, 416
                await send({"type": "http.response.body", "body": b""})
                return
            if self.stop - self.start <= FILE_CHUNK:
                body = await files.pread(self.fd, self.stop - self.start, self.start)
                await send({"type": "http.response.body", "body": body})
                return
            # A player that seeks drops the connection: stop reading the file then.
            async with anyio.create_task_group() as group:

                async def watch() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    group.cancel_scope.cancel()

                group.start_soon(watch)
                await self._send_chunks(send)
                group.cancel_scope.cancel()
        finally:
            os.close(self.fd)

    async def _send_chunks(self, send: Send) -> None:
        offset = self.start
        while offset < self.stop:
            chunk = await files.pread(self.fd, min(FILE_CHUNK, self.stop - offset), offset)
            offset += len(chunk)
            more = bool(chunk) and offset < self.stop
            await send({"type": "http.response.body", "body": chunk, "more_body": more})
            if not chunk:
                return
