"""tus 1.0 endpoints at /api/uploads/ (core, creation, creation-with-upload,
creation-defer-length, termination, expiration)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from relay import tus, upload_service, upload_start
from relay.context import Services
from relay.enums import MessageStatus
from relay.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PayloadTooLarge,
    RelayError,
    Unauthorized,
    UnsupportedMediaType,
)
from relay.inputs import Draft
from relay.messages import kind_for_type, title_from_filename
from relay.models import Message, Upload
from relay.web import link_auth
from relay.web.http import base_url, require_user, services


class _TooLong(Exception):
    """The body went past what the upload may still take."""


class Body:
    """The request body as chunks; a client that drops ends it, one that sends more than
    `allowance` bytes raises _TooLong.

    Ending quietly on a disconnect lets the caller keep every byte that did arrive, so the
    client can resume from the server's offset. A body that is too long is refused whole:
    raising makes the store drop what it wrote and the offset stay where it was.
    """

    def __init__(self, request: Request, allowance: int) -> None:
        self.request = request
        self.allowance = allowance
        self.received = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.request.stream():
                if not chunk:
                    continue
                self.received += len(chunk)
                if self.received > self.allowance:
                    raise _TooLong
                yield chunk
        except ClientDisconnect:
            return


async def _owner(request: Request) -> str:
    """Who may touch uploads here: the signed-in user, or behind /s/{token}/uploads the
    guest (or member) replying through that live link."""
    if "token" not in request.path_params:
        return (await require_user(request)).user.id
    who = await link_auth.visitor(request)
    async with services(request).sessions.begin() as session:
        seat = await link_auth.seat_for(request, session, request.path_params["token"], who)
    if seat.user is None:
        raise Unauthorized("Give your name on the link's page before uploading a reply.")
    return seat.user.id


def _headers(upload: Upload, **extra: str) -> dict[str, str]:
    headers = tus.base_headers() | {"Upload-Expires": tus.http_date(upload.expires_at)}
    return headers | extra


async def options(request: Request) -> Response:
    limit = services(request).settings.max_upload_bytes
    headers = tus.base_headers() | {
        "Tus-Version": tus.VERSION,
        "Tus-Extension": tus.EXTENSIONS,
        "Tus-Max-Size": str(limit),
    }
    return Response(status_code=204, headers=headers)


def _check_length(length: int | None, limit: int) -> None:
    if length is None:
        return
    if length > limit:
        raise PayloadTooLarge(f"An upload may have at most {limit} bytes; this one has {length}.")
    if length == 0:
        raise BadRequest("The upload is empty: a recording needs at least one byte.")


async def _target_message(
    request: Request, user_id: str, metadata: dict[str, str]
) -> Message | None:
    """The existing message named in Upload-Metadata, checked; None means make a new one."""
    message_id = metadata.get("message")
    if not message_id:
        return None
    async with services(request).sessions.begin() as session:
        message = await session.get(Message, message_id)
    if message is None or message.author_id != user_id:
        raise NotFound("No such message.")
    if message.status is not MessageStatus.uploading:
        # Not 409: tus clients take 409 as "offset mismatch" and retry the creation forever.
        raise BadRequest("This message has its media already; create a new message.")
    return message


async def create(request: Request) -> Response:
    tus.check_version(request.headers)
    who = await require_user(request)
    svc = services(request)
    length = tus.creation_length(request.headers)
    _check_length(length, svc.settings.max_upload_bytes)
    metadata = tus.parse_metadata(request.headers.get("upload-metadata"))
    message = await _target_message(request, who.user.id, metadata)
    with_body = request.headers.get("content-type") == tus.CONTENT_TYPE
    made = message is None
    upload = None
    try:
        if message is None:
            filetype = metadata.get("filetype", "")
            title = metadata.get("title") or title_from_filename(metadata.get("filename", ""))
            message, upload = await upload_start.start_message(
                svc,
                kind_for_type(filetype),
                Draft(title=title),
                upload_start.Author(who.user.id),
                length=length,
                metadata=metadata,
            )
        else:
            upload = await upload_start.open_upload(
                svc, message_id=message.id, owner_id=who.user.id, length=length, metadata=metadata
            )
        assert upload is not None
        headers = _headers(upload, Location=f"{base_url(request)}/api/uploads/{upload.id}")
        if with_body:
            headers["Upload-Offset"] = str(await _receive(request, svc, upload, length))
    except RelayError:
        # The answer names no upload to resume, so nothing this request made may stay.
        if made and message is not None:
            await upload_start.discard_message(svc, message.id)
        elif upload is not None:
            await upload_service.terminate(svc, upload)
        raise
    return Response(status_code=201, headers=headers)


async def head(request: Request) -> Response:
    tus.check_version(request.headers)
    owner = await _owner(request)
    async with services(request).sessions.begin() as session:
        upload = await upload_service.load(session, request.path_params["id"], owner)
    headers = _headers(upload, **{"Upload-Offset": str(upload.offset)})
    if upload.length is None:
        headers["Upload-Defer-Length"] = "1"
    else:
        headers["Upload-Length"] = str(upload.length)
    if upload.metadata_json:
        headers["Upload-Metadata"] = tus.format_metadata(upload.metadata_json)
    return Response(status_code=200, headers=headers)


async def patch(request: Request) -> Response:
    tus.check_version(request.headers)
    owner = await _owner(request)
    svc = services(request)
    if request.headers.get("content-type") != tus.CONTENT_TYPE:
        raise UnsupportedMediaType(f"A PATCH body must have 'Content-Type: {tus.CONTENT_TYPE}'.")
    async with svc.sessions.begin() as session:
        upload = await upload_service.load(session, request.path_params["id"], owner)
    offset = tus.parse_size(request.headers.get("upload-offset"), "Upload-Offset")
    if offset is None:
        raise BadRequest("A PATCH needs an Upload-Offset header.")
    if offset != upload.offset:
        raise Conflict(
            f"Upload-Offset must be {upload.offset}, the number of bytes received.",
            headers=_headers(upload, **{"Upload-Offset": str(upload.offset)}),
        )
    length = upload.length
    declared = tus.parse_size(request.headers.get("upload-length"), "Upload-Length")
    if declared is not None:
        if length is not None and declared != length:
            raise BadRequest(f"Upload-Length is {length} already and cannot change.")
        if declared < upload.offset:
            raise BadRequest(
                f"Upload-Length {declared} is less than the {upload.offset} bytes received."
            )
        _check_length(declared, svc.settings.max_upload_bytes)
        length = declared
    if upload.completed_at is not None:
        # A client repeating its last, empty PATCH (say, after a reload) is told it is done.
        if request.headers.get("content-length", "0") == "0" and declared in (None, length):
            return Response(
                status_code=204, headers=_headers(upload, **{"Upload-Offset": str(offset)})
            )
        raise Conflict("This upload is complete already.")
    upload_start.check_free_space(svc.settings)
    new_offset = await _receive(request, svc, upload, length)
    async with svc.sessions.begin() as session:
        upload = await session.get(Upload, upload.id) or upload
    return Response(status_code=204, headers=_headers(upload, **{"Upload-Offset": str(new_offset)}))


async def _receive(request: Request, svc: Services, upload: Upload, length: int | None) -> int:
    limit = length if length is not None else svc.settings.max_upload_bytes
    sent = tus.parse_size(request.headers.get("content-length"), "Content-Length")
    if sent is not None and upload.offset + sent > limit:
        what = "the declared Upload-Length" if length is not None else "the size limit"
        raise PayloadTooLarge(
            f"{sent} more bytes after {upload.offset} would go beyond {what} of {limit} bytes."
        )
    body = Body(request, limit - upload.offset)
    try:
        return await upload_service.append(svc, upload.id, upload.offset, length, body)
    except _TooLong:
        raise PayloadTooLarge(
            f"The body went beyond {limit} bytes; none of it was kept.",
            headers=tus.base_headers() | {"Upload-Offset": str(upload.offset)},
        ) from None


async def terminate(request: Request) -> Response:
    tus.check_version(request.headers)
    owner = await _owner(request)
    svc = services(request)
    async with svc.sessions.begin() as session:
        upload = await upload_service.load(session, request.path_params["id"], owner)
    await upload_service.terminate(svc, upload)
    return Response(status_code=204, headers=tus.base_headers())
