"""Server-rendered pages: sign-in, the inbox, the recorder; a message's address, the favicon
and the status a share page polls."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from relay import access, auth, i18n, inbox, message_view, search
from relay.errors import Forbidden, TooManyRequests
from relay.models import Message
from relay.web import link_auth
from relay.web.http import SESSION_COOKIE, base_url, is_https, principal, require_user, services
from relay.web.page_render import here, page, page_lang, redirect, render

LOGIN_CSRF_COOKIE = "relay_login_csrf"
LOGIN_CSRF_FIELD = "csrf"
MAX_FIELD = 1024
SEARCH_LIMIT = 50


def routes() -> list[Route]:
    return [
        Route("/", page(home), methods=["GET"]),
        Route("/login", page(login_form), methods=["GET"]),
        Route("/login", page(login), methods=["POST"]),
        Route("/logout", page(logout), methods=["POST"]),
        Route("/m/{id}", page(message_page), methods=["GET"]),
        Route("/record", page(record_page), methods=["GET"]),
        Route("/favicon.ico", favicon, methods=["GET"]),
        Route("/s/{token}/status", share_status, methods=["GET"]),
    ]


# -- sign-in ---------------------------------------------------------------------------


def safe_next(value: str | None) -> str:
    """A local path to go to after sign-in; anything that could leave the site becomes "/"."""
    if not value or len(value) > 2000 or not value.startswith("/"):
        return "/"
    # Browsers read "//host" and "/\host" as another origin and drop tabs and newlines.
    if value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in value):
        return "/"
    return value


async def _form(request: Request) -> FormData:
    return await request.form(max_files=0, max_fields=10, max_part_size=64 * 1024)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value[:MAX_FIELD] if isinstance(value, str) else ""


def _login_csrf(request: Request) -> str:
    value = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return value if 32 <= len(value) <= 64 else auth.new_secret()


def _login(
    request: Request,
    *,
    csrf: str,
    next_path: str,
    email: str = "",
    error: bool = False,
    refused: TooManyRequests | None = None,
) -> Response:
    lang = page_lang(request)
    t = i18n.login_strings(lang)
    notice, status = (t["login_wrong"], 400) if error else (None, 200)
    if refused is not None:
        minutes = math.ceil(int(refused.headers["Retry-After"]) / 60)
        notice, status = t["login_too_many"].replace("{minutes}", str(minutes)), 429
    context = {
        "login_csrf": csrf,
        "next": next_path,
        "email": email,
        "notice": notice,
        "lang": lang,
        "t": t,
    }
    headers = refused.headers if refused is not None else None
    return render(request, "login.html", context, status=status, headers=headers)


async def login_form(request: Request) -> Response:
    csrf = _login_csrf(request)
    next_path = safe_next(request.query_params.get("next"))
    response = _login(request, csrf=csrf, next_path=next_path)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        csrf,
        path="/login",
        secure=is_https(request),
        httponly=True,
        samesite="lax",
    )
    return _remember_lang(request, response, request.query_params.get("lang"), page_lang(request))


async def login(request: Request) -> Response:
    form = await _form(request)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not auth.same(cookie, _field(form, LOGIN_CSRF_FIELD)):
        raise Forbidden("The sign-in form has expired: reload the page and try again.")
    email, password = _field(form, "email"), _field(form, "password")
    next_path = safe_next(_field(form, "next"))
    settings = services(request).settings
    address = request.client.host if request.client else "unknown"
    try:
        user = await auth.authenticate(services(request), email, password, address=address)
    except TooManyRequests as exc:
        return _login(request, csrf=cookie, next_path=next_path, email=email, refused=exc)
    if user is None:
        # One message for both cases: never tell which of the two was wrong.
        return _login(request, csrf=cookie, next_path=next_path, email=email, error=True)
    async with services(request).sessions.begin() as session:
        if old := request.cookies.get(SESSION_COOKIE):
            await auth.end_session(session, old)
        value, _ = await auth.start_session(session, user, settings.session_days)
        await auth.remember_page_language(session, user.id, page_lang(request))
    response = redirect(next_path)
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=settings.session_days * 86400,
        path="/",
        secure=is_https(request),
        httponly=True,
        samesite="lax",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


async def logout(request: Request) -> Response:
    form = await _form(request)
    await require_user(request, form_csrf=_field(form, "csrf"))
    if cookie := request.cookies.get(SESSION_COOKIE):
        async with services(request).sessions.begin() as session:
            await auth.end_session(session, cookie)
    response = redirect("/login")
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=is_https(request), httponly=True, samesite="lax"
    )
    return response


# -- messages --------------------------------------------------------------------------


async def home(request: Request) -> Response:
    """The inbox: threads the user takes part in or was shared, newest activity first; with
    `?q=`, what was said or written that matches, each hit opening its thread at that moment.
    A plain GET form, so searching works without JavaScript."""
    who = await principal(request)
    if who is None:
        return redirect(
            "/login" + ("?next=" + quote(here(request), safe="") if request.query_params else ""),
        )
    asked = request.query_params.get("lang")
    lang = page_lang(request)
    t = i18n.inbox_strings(lang)
    query = request.query_params.get("q", "").strip()
    hits: list[search.Hit] = []
    notice = None
    async with services(request).reads.begin() as session:
        if len(query) > search.MAX_QUERY:
            notice = t["search_too_long"].replace("{max}", str(search.MAX_QUERY))
        elif query:
            hits = await search.search(session, who.user, query, SEARCH_LIMIT)
        threads = await inbox.threads_of(session, who.user)
    context = {"threads": threads, "query": query, "hits": hits, "notice": notice}
    response = render(request, "home.html", {**_who(who), **context, "lang": lang, "t": t})
    return _remember_lang(request, response, asked, lang)


async def message_page(request: Request) -> Response:
    """A message's own address (old links, search results of API clients) opens its thread
    at that message. 303, not 301: the answer depends on who asks (a stranger gets 404, an
    anonymous caller the sign-in page), so no browser may keep it."""
    who = await principal(request)
    if who is None:
        return redirect("/login?next=" + quote(here(request), safe=""))
    async with services(request).reads.begin() as session:
        message = await access.message_for_user(session, who.user, request.path_params["id"])
    return redirect(message_url(message, request.query_params.get("t")))


def message_url(message: Message, at: str | None = None) -> str:
    """The thread page at a message; `at` (seconds) plays it from there."""
    try:
        seconds = float(at) if at is not None else math.nan
    except ValueError:
        seconds = math.nan
    query = f"?t={seconds:.1f}" if math.isfinite(seconds) and seconds >= 0 else ""
    return f"/t/{quote(message.thread_id)}{query}#m-{quote(message.id)}"


async def favicon(request: Request) -> Response:
    """Browsers ask for /favicon.ico where a page names no icon (JSON, media)."""
    return RedirectResponse("/static/icon.svg", status_code=301)


async def record_page(request: Request) -> Response:
    who = await principal(request)
    if who is None:
        return redirect("/login?next=" + quote(here(request), safe=""))
    asked = request.query_params.get("lang")
    lang = page_lang(request)
    strings = i18n.strings(lang)
    reply_to = request.query_params.get("reply_to")
    parent = None
    if reply_to is not None:
        async with services(request).sessions.begin() as session:
            found = await access.message_for_user(session, who.user, reply_to)
        parent = {
            "id": found.id,
            "title": found.title or strings["untitled"],
            "url": message_url(found),
        }
    context = {
        **_who(who),
        "lang": lang,
        "t": strings,
        # The recorder stops where the pipeline would refuse the media anyway.
        "max_seconds": int(services(request).settings.media.max_duration_seconds),
        "parent": parent,
    }
    return _remember_lang(request, render(request, "record.html", context), asked, lang)


def _remember_lang(request: Request, response: Response, asked: str | None, lang: str) -> Response:
    """A language chosen with the page's switch link (`?lang=`) holds for the next pages."""
    if asked in i18n.CATALOGS:
        response.set_cookie(
            i18n.LANG_COOKIE,
            lang,
            max_age=365 * 86400,
            path="/",
            secure=is_https(request),
            samesite="lax",
        )
    return response


async def share_status(request: Request) -> Response:
    """The share page polls this while the message is being processed."""
    token = request.path_params["token"]
    who = await link_auth.visitor(request)
    async with services(request).sessions.begin() as session:
        message = await link_auth.opened_message(request, session, who)
        renditions = await message_view.load_renditions(session, message.id)
    return JSONResponse(_link_json(request, token, message, renditions))


def _link_json(
    request: Request, token: str, message: Message, renditions: Sequence[Any]
) -> dict[str, Any]:
    return message_view.message_json(
        message,
        renditions=list(renditions),
        media_base=f"/s/{token}/media",
        share_url=_share_url(request, token),
    )


def _who(who: auth.Principal) -> dict[str, Any]:
    return {"user": who.user, "csrf": who.csrf_token or ""}


def _share_url(request: Request, token: str) -> str:
    return f"{base_url(request)}/s/{token}"
