"""JSON API for members: the inbox, a thread, its share links, listening state, reactions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from relay import access, auth, inbox, links, thread_view, threads
from relay.db import utcnow
from relay.enums import LinkRights
from relay.errors import BadRequest, Forbidden, NotFound
from relay.models import Message, ShareLink, User
from relay.web import sse
from relay.web.http import base_url, json_body, require_user, services

MAX_LINK_DAYS = 366
MAX_LINKS = 50


async def list_threads(request: Request) -> Response:
    who = await require_user(request)
    async with services(request).reads.begin() as session:
        items = await inbox.threads_of(session, who.user)
    return JSONResponse({"threads": items})


async def thread_detail(request: Request) -> Response:
    svc = services(request)
    who = await require_user(request)
    thread_id, origin = request.path_params["id"], base_url(request)

    async def document() -> dict[str, Any]:
        async with svc.reads.begin() as session:
            seat = await access.thread_for_user(session, who.user, thread_id)
            return await thread_view.member_document(
                session, seat, origin=origin, secret=svc.secret, csrf=None
            )

    # Kept while the database is unchanged; the CSRF token is the caller's sign-in's own.
    body = await svc.answers.get(("thread", thread_id, who.user.id, origin), document)
    return JSONResponse({**body, "csrf": who.csrf_token})


async def thread_events(request: Request) -> Response:
    """Live updates of one thread (server-sent events); the stream ends when access does."""
    who = await require_user(request)
    svc = services(request)
    thread_id = request.path_params["id"]
    async with svc.reads.begin() as session:
        await access.thread_for_user(session, who.user, thread_id)

    async def still_allowed() -> bool:
        try:
            async with svc.reads.begin() as session:
                await access.thread_for_user(session, who.user, thread_id)
        except NotFound:
            return False
        return True

    assert svc.hub is not None
    return await sse.sse_response(request, svc.hub, {thread_id}, still_allowed=still_allowed)


# -- share links -------------------------------------------------------------------------


def link_json(
    request: Request,
    link: ShareLink,
    token: str | None,
    used_by: dict[str, Any] | None = None,
    can_revoke: bool = True,
) -> dict[str, Any]:
    """A link as those who may share see it; `token` and `url` are null for a link whose
    token this server cannot derive again (made before tokens were hashed)."""
    return {
        "id": link.key,
        "token": token,
        "url": f"{base_url(request)}/s/{token}" if token else None,
        "rights": link.rights.value,
        "label": link.label,
        "passcode": link.passcode_hash is not None,
        "message_id": link.message_id,
        "created_by": link.created_by,
        "created_at": link.created_at.isoformat(),
        "expires_at": link.expires_at.isoformat() if link.expires_at else None,
        "revoked_at": link.revoked_at.isoformat() if link.revoked_at else None,
        "live": access.link_is_live(link),
        "used_by": used_by or {"names": [], "anonymous": 0},
        "can_revoke": can_revoke,
    }


def _may_revoke(user: User, thread_owner: str, link: ShareLink) -> bool:
    return user.is_admin or user.id in (thread_owner, link.created_by)


async def list_links(request: Request) -> Response:
    who = await require_user(request)
    async with services(request).sessions.begin() as session:
        seat = await access.thread_for_user(session, who.user, request.path_params["id"])
        if not seat.can_share and not who.user.is_admin:
            raise Forbidden("Only members who may share this thread can see its links.")
        found = list(
            await session.scalars(
                select(ShareLink)
                .where(ShareLink.thread_id == seat.thread.id)
                .order_by(ShareLink.created_at, ShareLink.key)
            )
        )
        used = await thread_view.links_used(session, [link.key for link in found])
        # Admins see which links exist, to revoke them, but not their tokens.
        secret = services(request).secret if seat.can_share else None
        body = [
            link_json(
                request,
                link,
                links.shown_token(secret, link) if secret else None,
                used[link.key],
                _may_revoke(who.user, seat.thread.owner_id, link),
            )
            for link in found
        ]
    return JSONResponse({"links": body})


def _rights(value: object) -> LinkRights:
    try:
        return LinkRights(value if value is not None else "reply")
    except ValueError:
        raise BadRequest("'rights' must be 'view' or 'reply'.") from None


def _expiry(data: dict[str, Any]) -> datetime | None:
    """`expires_in` seconds from now (1 minute to a year), or none."""
    value = data.get("expires_in")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest("'expires_in' must be a number of seconds.")
    if not 60 <= value <= MAX_LINK_DAYS * 86400:
        raise BadRequest(f"'expires_in' must lie between 60 seconds and {MAX_LINK_DAYS} days.")
    return utcnow() + timedelta(seconds=value)


async def create_link(request: Request) -> Response:
    who = await require_user(request)
    data = await json_body(request)
    rights, expires_at = _rights(data.get("rights")), _expiry(data)
    label, passcode = data.get("label", ""), data.get("passcode")
    if not isinstance(label, str) or len(label) > threads.MAX_LABEL:
        raise BadRequest(f"'label' must be a string of at most {threads.MAX_LABEL} characters.")
    if passcode is not None and not isinstance(passcode, str):
        raise BadRequest("'passcode' must be a string.")
    try:
        passcode_hash = await auth.hash_passcode(passcode) if passcode else None
    except auth.AccountError as exc:
        raise BadRequest(str(exc)) from None
    message_id = data.get("message_id")
    async with services(request).sessions.begin() as session:
        seat = await access.thread_for_user(session, who.user, request.path_params["id"])
        if not seat.can_share:
            raise Forbidden("You can see this thread but not share it.")
        if message_id is not None:
            if not isinstance(message_id, str):
                raise BadRequest("'message_id' must be a message id.")
            opens_at = await access.message_in_thread(session, seat, message_id)
        else:
            opens_at = await session.scalar(
                select(Message)
                .where(Message.thread_id == seat.thread.id)
                .order_by(Message.created_at, Message.id)
                .limit(1)
            )
            if opens_at is None:
                raise NotFound("No such thread.")
        count = await session.scalar(
            select(ShareLink.key).where(ShareLink.thread_id == seat.thread.id).offset(MAX_LINKS)
        )
        if count is not None:
            raise BadRequest(f"A thread may have at most {MAX_LINKS} links; revoke old ones.")
        link, token = threads.new_link(
            session,
            seat.thread,
            services(request).secret,
            message_id=opens_at.id,
            created_by=who.user.id,
            rights=rights,
            expires_at=expires_at,
            passcode_hash=passcode_hash,
            label=label.strip(),
        )
        await session.flush()
        body = link_json(request, link, token)
    return JSONResponse(body, status_code=201)


async def revoke_link(request: Request) -> Response:
    """Revoking keeps the row, so the link answers 410 rather than 404 afterwards. The link
    is named by its token or by its id (the token's hash, as the link list gives it)."""
    who = await require_user(request)
    ref = request.path_params["token"]
    key = ref if links.is_key(ref) else links.key_of(ref)
    async with services(request).sessions.begin() as session:
        link = await session.get(ShareLink, key) if len(ref) <= 64 else None
        if link is None:
            raise NotFound("No such link.")
        try:
            seat = await access.thread_for_user(session, who.user, link.thread_id)
        except NotFound:
            raise NotFound("No such link.") from None
        if not _may_revoke(who.user, seat.thread.owner_id, link):
            raise Forbidden("Only the thread's owner or the link's creator can revoke it.")
        await threads.revoke(session, link)
    return Response(status_code=204)
