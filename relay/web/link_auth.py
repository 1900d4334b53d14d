"""Who is behind a share-link request: a guest bound to this link (cookie scoped to the
link's path), a signed-in user, or nobody; and whether the link's passcode was given."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from relay import access, auth, links, listeners
from relay.access import Seat
from relay.errors import Forbidden, Unauthorized
from relay.models import Message, ShareLink, User
from relay.web.http import CSRF_HEADER, SAFE_METHODS, is_https, principal, services

GUEST_COOKIE = "relay_guest"
UNLOCK_COOKIE = "relay_unlock"
LISTENER_COOKIE = "relay_listener"  # a nameless visitor's browser, counted when it plays
GUEST_DAYS = 90


class PasscodeRequired(Unauthorized):
    code = "passcode_required"


@dataclass(frozen=True)
class Visitor:
    user: User | None
    csrf: str | None  # None: no cookie was used, so no CSRF token is needed
    guest_link: str | None = None  # the key of the link a guest is bound to


def link_path(token: str) -> str:
    return f"/s/{token}"


def unlock_value(secret: bytes, link: ShareLink) -> str:
    """Signed, and derived from the passcode's hash: a new passcode locks out every old
    cookie, and a copy of the database cannot forge one."""
    return links.sign(secret, "unlock", link.key, link.passcode_hash or "")


def is_unlocked(request: Request, link: ShareLink) -> bool:
    if link.passcode_hash is None:
        return True
    expected = unlock_value(services(request).secret, link)
    return auth.same(request.cookies.get(UNLOCK_COOKIE, ""), expected)


async def visitor(request: Request) -> Visitor:
    """Resolve the caller before any other transaction opens (SQLite has one writer)."""
    if cookie := request.cookies.get(GUEST_COOKIE):
        async with services(request).reads.begin() as session:
            hit = await auth.guest_session(session, cookie)
        if hit is not None:
            return Visitor(*hit)
    who = await principal(request)
    if who is None:
        return Visitor(None, None)
    return Visitor(who.user, who.csrf_token if who.via == "session" else None)


async def seat_for(
    request: Request, session: AsyncSession, token: str, who: Visitor, form_csrf: str = ""
) -> Seat:
    """The visitor's seat through a live, unlocked link; CSRF-checked for changes."""
    link = await access.live_link(session, token)
    if not is_unlocked(request, link):
        raise PasscodeRequired("This link is protected: enter its passcode first.")
    user = who.user
    if who.guest_link is not None and who.guest_link != link.key:
        user = None
    if user is not None and request.method not in SAFE_METHODS and who.csrf is not None:
        if not auth.same(request.headers.get(CSRF_HEADER) or form_csrf, who.csrf):
            raise Forbidden("The CSRF token is missing or wrong: reload the page and try again.")
    return await access.link_seat(session, link, user)


async def opened_message(request: Request, session: AsyncSession, who: Visitor) -> Message:
    """The message a link opens at (what /s/{token}/media/{name} and friends serve)."""
    seat = await seat_for(request, session, request.path_params["token"], who)
    assert seat.link is not None
    return await access.message_in_thread(session, seat, seat.link.message_id)


def listener(request: Request, link: ShareLink) -> tuple[str, str, bool]:
    """The nameless visitor's listener cookie for this link, its stored form, and whether
    it is new (they brought none that this link signed)."""
    secret = services(request).secret
    cookie = request.cookies.get(LISTENER_COOKIE)
    if cookie is not None and (stored := listeners.listener_of(secret, link.key, cookie)):
        return cookie, stored, False
    cookie = listeners.mint(secret, link.key)
    return cookie, listeners.stored_form(cookie), True


def set_link_cookie(
    request: Request, response: Response, token: str, name: str, value: str
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=GUEST_DAYS * 86400,
        path=link_path(token),
        secure=is_https(request),
        httponly=True,
        samesite="lax",
    )
