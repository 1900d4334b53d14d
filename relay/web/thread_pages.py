"""Thread pages: for members at /t/{id}, for anyone with a link at /s/{token} (with its
passcode form and link previews), and the oEmbed endpoint that unfurls pasted links."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from relay import access, auth, i18n, thread_view, threads, throttle
from relay.errors import BadRequest, NotFound, NotImplementedFormat, RelayError, TooManyRequests
from relay.humanize import clock
from relay.models import Message, Rendition, ShareLink, User
from relay.thread_view import display_name
from relay.web.http import base_url, principal, services
from relay.web.link_auth import (
    LISTENER_COOKIE,
    UNLOCK_COOKIE,
    PasscodeRequired,
    is_unlocked,
    listener,
    seat_for,
    set_link_cookie,
    unlock_value,
    visitor,
)
from relay.web.page_render import here, page, page_lang, redirect, render

# Passcode guesses, whichever instance they reach: 10 per link and client address in 10
# minutes, so that a stranger cannot lock out the holder, and 100 per link from everywhere;
# argon2 makes each one slow too.
ADDRESS_GUESSES, LINK_GUESSES, GUESS_WINDOW = 10, 100, timedelta(minutes=10)
ADDRESS_REFUSED = "Too many wrong passcodes from here: wait a few minutes and try again."
LINK_REFUSED = "Too many wrong passcodes for this link: wait a few minutes and try again."
KIND_WORDS = {"audio": "Voice message", "video": "Video message", "text": "Message"}


def routes() -> list[Route]:
    return [
        Route("/t/{id}", page(member_thread), methods=["GET"]),
        Route("/s/{token}", page(link_thread), methods=["GET"]),
        Route("/s/{token}/unlock", page(unlock), methods=["POST"]),
        Route("/s/{token}/join", page(join), methods=["POST"]),
        Route("/oembed", oembed, methods=["GET"]),
    ]


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


def participants(thread: dict[str, Any]) -> list[str]:
    """The names in the page's head, as thread.js draws them: whoever started the thread,
    whoever posted, and whoever it waits on, each once."""
    people = [thread.get("owner"), *(m["author"] for m in thread["messages"])]
    found: list[str] = []
    for who in [*people, *thread.get("waiting_on", [])]:
        name = (who or {}).get("name")
        if name and name not in found:
            found.append(name)
    return found


def _page(request: Request, thread: dict[str, Any], **context: Any) -> Response:
    lang = page_lang(request)
    body = {
        "thread": thread,
        "people": participants(thread),
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
        return redirect("/login?next=" + quote(here(request), safe=""))
    async with services(request).sessions.begin() as session:
        seat = await access.thread_for_user(session, who.user, request.path_params["id"])
        document = await thread_view.member_document(
            session,
            seat,
            origin=base_url(request),
            secret=services(request).secret,
            csrf=who.csrf_token,
        )
    rec = recorder_urls(document, "/api", "/api/uploads/")
    # Members for good share from the page; view-only members and admins reading do not.
    share = bool(document["me"]["can_share"])
    csrf = who.csrf_token or ""
    return _page(request, document, user=who.user, csrf=csrf, rec=rec, og=None, can_share=share)


async def link_thread(request: Request) -> Response:
    token = request.path_params["token"]
    who = await visitor(request)
    async with services(request).sessions.begin() as session:
        link = await access.live_link(session, token)
        if not is_unlocked(request, link):
            return _passcode_page(request, error=False)
        seat = await seat_for(request, session, token, who)
        joinable = seat.user is not None and who.guest_link is None
        if joinable and seat.user is not None:
            joinable = not await threads.is_member(session, seat.thread.id, seat.user.id)
        document = await thread_view.link_document(
            session, seat, origin=base_url(request), token=token, csrf=who.csrf
        )
        og = await _preview(request, session, link, token)
    response = _page(
        request,
        document,
        user=who.user if who.guest_link is None else None,
        csrf=document["csrf"] or "",
        rec=recorder_urls(document, f"/s/{token}", f"/s/{token}/uploads/"),
        og=og,
        join_url=f"/s/{token}/join" if joinable else None,
    )
    # Whoever plays without a name is counted once, however many reports the page sends
    # at once: the page hands out the listener cookie before the first.
    cookie, _, fresh = listener(request, link)
    if seat.user is None and fresh:
        set_link_cookie(request, response, token, LISTENER_COOKIE, cookie)
    return response


async def join(request: Request) -> Response:
    """The link page's "Add to my inbox": joining is an explicit act, never a side effect
    of opening a link (any site can make a browser open one)."""
    token = request.path_params["token"]
    who = await visitor(request)
    form = await request.form(max_files=0, max_fields=5, max_part_size=4096)
    given = form.get("csrf")
    async with services(request).sessions.begin() as session:
        seat = await seat_for(request, session, token, who, given if isinstance(given, str) else "")
        if seat.user is None or who.guest_link is not None:
            return redirect("/login?next=" + quote(f"/s/{token}", safe=""))
        await threads.join_through_link(session, seat)
    return redirect(f"/t/{seat.thread.id}")


def _passcode_page(
    request: Request, *, error: bool, refused: TooManyRequests | None = None
) -> Response:
    lang = page_lang(request)
    t = i18n.thread_strings(lang)
    notice, status, headers = (t["passcode_wrong"] if error else None), 401, None
    if refused is not None:
        name = "passcode_too_many_link" if refused.detail == LINK_REFUSED else "passcode_too_many"
        minutes = math.ceil(int(refused.headers["Retry-After"]) / 60)
        notice, status, headers = t[name].replace("{minutes}", str(minutes)), 429, refused.headers
    # An absolute action: the page is served at /s/{token} and at /s/{token}/unlock.
    action = f"/s/{quote(request.path_params['token'], safe='')}/unlock"
    context = {"lang": lang, "t": t, "error": error, "notice": notice, "action": action}
    return render(request, "passcode.html", context, status=status, headers=headers)


async def unlock(request: Request) -> Response:
    token = request.path_params["token"]
    form = await request.form(max_files=0, max_fields=5, max_part_size=4096)
    passcode = form.get("passcode")
    sessions = services(request).sessions
    address = request.client.host if request.client else "unknown"
    try:
        async with sessions.begin() as session:
            link = await access.live_link(session, token)
            if link.passcode_hash is None:
                return redirect(f"/s/{token}")
            from_here, anywhere = await _count_guess(session, token, address)
    except TooManyRequests as exc:
        return _passcode_page(request, error=False, refused=exc)
    # Checked after the guess is counted and committed, so parallel guesses cannot overtake it.
    given = passcode if isinstance(passcode, str) else ""
    pool = services(request).hashing
    right = given and await auth.verify_password(
        link.passcode_hash, given[: auth.MAX_PASSCODE], pool
    )
    if not right:
        return _passcode_page(request, error=True)
    async with sessions.begin() as session:
        # The holder's wrong guesses are forgotten; the link's count takes back the right one.
        await throttle.clear(session, from_here.key)
        await throttle.forgive(session, anywhere.key)
    response = redirect(f"/s/{token}")
    set_link_cookie(
        request, response, token, UNLOCK_COOKIE, unlock_value(services(request).secret, link)
    )
    return response


async def _count_guess(
    session: AsyncSession, token: str, address: str
) -> tuple[throttle.Limit, throttle.Limit]:
    """Counts one guess from the address and one on the link, or refuses it (429) when
    either is full; returns both limits. Keyed by the token's digest: the database never
    holds a token readable."""
    link = auth.digest(token)
    limits = (
        throttle.Limit(
            f"passcode:{link}:{address}", ADDRESS_GUESSES, GUESS_WINDOW, ADDRESS_REFUSED
        ),
        throttle.Limit(f"passcode:{link}", LINK_GUESSES, GUESS_WINDOW, LINK_REFUSED),
    )
    await throttle.hit(session, *limits)
    return limits


# -- link previews ------------------------------------------------------------------------


async def _preview(
    request: Request, session: AsyncSession, link: ShareLink, token: str
) -> dict[str, Any]:
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
    base = f"{base_url(request)}/s/{token}"
    image = next(
        (f"{base}/media/{message.id}/{n}" for n in ("poster", "preview") if n in names), None
    )
    what = KIND_WORDS.get(message.kind.value, "Message")
    author_name = display_name(author) if author is not None else ""
    parts = [what]
    if message.duration:
        parts.append(clock(message.duration))
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
    if request.query_params.get("format", "json") != "json":
        raise NotImplementedFormat("Only the JSON format is served.")
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
        og = await _preview(request, session, link, token)
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
    return JSONResponse(data)
