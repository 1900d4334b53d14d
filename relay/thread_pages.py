"""Thread pages: for members at /t/{id}, for anyone with a link at /s/{token} (with its
passcode form and link previews), and the oEmbed endpoint that unfurls pasted links."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from relay import access, api_links, api_threads, auth, i18n, threads
from relay.access import Seat
from relay.db import utcnow
from relay.errors import BadRequest, NotFound, RelayError, TooManyRequests
from relay.http import base_url, principal, services
from relay.link_auth import (
    UNLOCK_COOKIE,
    PasscodeRequired,
    is_unlocked,
    seat_for,
    set_link_cookie,
    unlock_value,
    visitor,
)
from relay.models import Guest, LinkRights, MemberRole, Message, Rendition, ShareLink, User
from relay.page_render import duration_text, here, page, protect, redirect, render
from relay.thread_view import display_name

# Passcode guesses: 10 per link in 10 minutes, whichever instance they reach; argon2 makes
# each one slow too.
MAX_GUESSES, GUESS_WINDOW = 10, timedelta(minutes=10)
KIND_WORDS = {"audio": "Voice message", "video": "Video message", "text": "Message"}


def routes() -> list[Route]:
    return [
        Route("/t/{id}", page(member_thread), methods=["GET"]),
        Route("/s/{token}", page(link_thread), methods=["GET"]),
        Route("/s/{token}/unlock", page(unlock), methods=["POST"]),
        Route("/oembed", oembed, methods=["GET"]),
    ]


def _lang(request: Request) -> str:
    return i18n.pick(
        request.query_params.get("lang"),
        request.cookies.get(i18n.LANG_COOKIE),
        request.headers.get("accept-language"),
    )


def recorder_urls(thread: dict[str, Any], base: str, uploads: str) -> dict[str, Any]:
    """Where the inline recorder creates a reply (to the latest message; the page keeps that
    current), deletes it and finds its uploads."""
    messages = thread["messages"]
    return {
        "parent_id": messages[-1]["id"] if messages else None,
        "create_url": f"{base}/messages",
        "message_url": f"{base}/messages/",
        "upload_base": uploads,
        "inline": True,
    }


def _page(request: Request, thread: dict[str, Any], **context: Any) -> Response:
    lang = _lang(request)
    body = {
        "thread": thread,
        "lang": lang,
        "t": i18n.thread_strings(lang),
        "rt": i18n.strings(lang),
        "max_seconds": int(services(request).settings.media.max_duration_seconds),
        **context,
    }
    return render(request, "thread.html", body)


async def member_thread(request: Request) -> Response:
    who = await principal(request)
    if who is None:
        return redirect(request, "/login?next=" + quote(here(request), safe=""))
    async with services(request).sessions.begin() as session:
        seat = await access.thread_for_user(session, who.user, request.path_params["id"])
        document = await api_threads.member_document(request, session, seat)
    rec = recorder_urls(document, "/api", "/api/uploads/")
    return _page(request, document, user=who.user, csrf=who.csrf_token or "", rec=rec, og=None)


async def link_thread(request: Request) -> Response:
    token = request.path_params["token"]
    who = await visitor(request)
    async with services(request).sessions.begin() as session:
        link = await access.live_link(session, token)
        if not is_unlocked(request, link):
            return _passcode_page(request, error=False)
        seat = await seat_for(request, session, token, who)
        await _join(session, seat)
        document = await api_links.link_document(request, session, seat, who)
        og = await _preview(request, session, link)
    return _page(
        request,
        document,
        user=who.user if who.guest_link is None else None,
        csrf=document["csrf"] or "",
        rec=recorder_urls(document, f"/s/{token}", f"/s/{token}/uploads/"),
        og=og,
    )


async def _join(session: AsyncSession, seat: Seat) -> None:
    """A signed-in colleague who opens a link finds the thread in their inbox afterwards,
    for as long as the link lives."""
    user, link = seat.user, seat.link
    if user is None or link is None or await session.get(Guest, user.id) is not None:
        return
    role = MemberRole.member if link.rights is LinkRights.reply else MemberRole.viewer
    await threads.join(session, seat.thread.id, user.id, role, link.token)


def _passcode_page(request: Request, *, error: bool) -> Response:
    lang = _lang(request)
    context = {"lang": lang, "t": i18n.thread_strings(lang), "error": error}
    return render(request, "passcode.html", context, status=401)


async def unlock(request: Request) -> Response:
    token = request.path_params["token"]
    form = await request.form(max_files=0, max_fields=5, max_part_size=4096)
    passcode = form.get("passcode")
    sessions = services(request).sessions
    async with sessions.begin() as session:
        link = await access.live_link(session, token)
        if link.passcode_hash is not None:
            await _count_guess(session, link)
    if link.passcode_hash is None:
        return redirect(request, f"/s/{token}")
    # Checked after the guess is counted and committed, so parallel guesses cannot overtake it.
    given = passcode if isinstance(passcode, str) else ""
    if not given or not await auth.verify_password(link.passcode_hash, given[:128]):
        return _passcode_page(request, error=True)
    async with sessions.begin() as session:
        await session.execute(
            update(ShareLink).where(ShareLink.token == token).values(guesses=0, guesses_since=None)
        )
    response = redirect(request, f"/s/{token}")
    set_link_cookie(request, response, token, UNLOCK_COOKIE, unlock_value(link))
    return response


async def _count_guess(session: AsyncSession, link: ShareLink) -> None:
    """Counts one guess on the link's row, locked, or refuses it when the window is full."""
    await session.refresh(link, ["guesses", "guesses_since"], with_for_update=True)
    now = utcnow()
    if link.guesses_since is None or link.guesses_since <= now - GUESS_WINDOW:
        link.guesses, link.guesses_since = 0, now
    if link.guesses >= MAX_GUESSES:
        wait = (link.guesses_since + GUESS_WINDOW - now).total_seconds()
        raise TooManyRequests(
            "Too many wrong passcodes for this link: wait ten minutes and try again.",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    link.guesses += 1


# -- link previews ------------------------------------------------------------------------


async def _preview(request: Request, session: AsyncSession, link: ShareLink) -> dict[str, Any]:
    """Open Graph and Twitter card values for the message the link opens at. A protected
    link previews as nothing more than "a protected thread"."""
    if link.passcode_hash is not None:
        return {"title": "A protected Relay thread", "description": "", "image": None, "url": None}
    message = await session.get(Message, link.message_id)
    if message is None:
        raise NotFound("No such link.")
    author = await session.get(User, message.author_id)
    names = set(
        await session.scalars(select(Rendition.name).where(Rendition.message_id == message.id))
    )
    base = f"{base_url(request)}/s/{link.token}"
    image = next(
        (f"{base}/media/{message.id}/{n}" for n in ("poster", "preview") if n in names), None
    )
    what = KIND_WORDS.get(message.kind.value, "Message")
    author_name = display_name(author) if author is not None else ""
    parts = [what]
    if message.duration:
        parts.append(duration_text(message.duration))
    if author_name:
        parts.append(f"from {author_name}")
    return {
        "title": message.title or what,
        "author": author_name,
        "description": " · ".join(parts),
        "image": image,
        "url": base,
        "duration": round(message.duration) if message.duration else None,
        "kind": message.kind.value,
        "oembed": f"{base_url(request)}/oembed?url={quote(base, safe='')}&format=json",
    }


def _token_of(url: str, origin: str) -> str:
    parts = urlsplit(url)
    ours = urlsplit(origin)
    segments = parts.path.strip("/").split("/")
    if parts.netloc.lower() != ours.netloc.lower() or len(segments) != 2 or segments[0] != "s":
        raise NotFound("That URL is not a Relay share link.")
    return segments[1]


async def oembed(request: Request) -> Response:
    """oEmbed 1.0 (type "link"): 404 for unknown, revoked or expired links, 401 for
    protected ones, 501 for formats other than JSON, as the specification asks."""
    try:
        if request.query_params.get("format", "json") != "json":
            return protect(request, JSONResponse({"error": "not_implemented"}, status_code=501))
        url = request.query_params.get("url", "")
        if not url or len(url) > 2000:
            raise BadRequest("Give the share link as 'url'.")
        token = _token_of(url, base_url(request))
        async with services(request).sessions.begin() as session:
            try:
                link = await access.live_link(session, token)
            except RelayError:
                raise NotFound("No such link.") from None
            if link.passcode_hash is not None:
                raise PasscodeRequired("This link is protected by a passcode.")
            og = await _preview(request, session, link)
    except RelayError as exc:
        body = {"error": exc.code, "detail": exc.detail}
        return protect(request, JSONResponse(body, status_code=exc.status))
    data: dict[str, Any] = {
        "version": "1.0",
        "type": "link",
        "provider_name": "Relay",
        "provider_url": base_url(request),
        "title": og["title"],
        "author_name": og["author"],
        "cache_age": 300,
    }
    if og["image"]:
        data |= {"thumbnail_url": og["image"]}
    return protect(request, JSONResponse(data))
