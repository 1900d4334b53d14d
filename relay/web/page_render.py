"""Rendering pages: templates, their Content-Security-Policy, and error pages."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from relay import humanize, i18n, names
from relay.errors import InternalError, NotFound, RelayError
from relay.web.http import known_principal

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "web" / "templates"

Handler = Callable[[Request], Awaitable[Response]]


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    env.filters["duration"] = humanize.clock
    env.filters["iso"] = humanize.iso
    env.filters["initials"] = humanize.initials
    env.filters["avatar_colour"] = humanize.avatar_colour
    env.globals["relative"] = humanize.relative
    env.globals["short"] = humanize.short
    return env


@functools.cache
def templates() -> Jinja2Templates:
    """Built on first use, not at import; each template is read from disk once and cached."""
    return Jinja2Templates(env=_environment())


def is_share(request: Request) -> bool:
    return request.url.path.startswith("/s/")


def page_lang(request: Request) -> str:
    """The page's language: `?lang=`, else the relay_lang cookie, else Accept-Language."""
    return i18n.pick(
        request.query_params.get("lang"),
        request.cookies.get(i18n.LANG_COOKIE),
        request.headers.get("accept-language"),
    )


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A page; the header's words follow the page's language, and the header names the
    signed-in user (`user`) as others see them."""
    context = {"share": is_share(request), "user": None, "csrf": "", **context}
    lang = context.get("lang") or page_lang(request)
    user = context["user"]
    context |= {
        "lang": lang,
        "chrome": i18n.chrome_strings(lang),
        "user_name": names.display_name(user) if user is not None else "",
    }
    return templates().TemplateResponse(request, name, context, status_code=status, headers=headers)


def redirect(location: str) -> Response:
    return RedirectResponse(location, status_code=303)


# -- errors ----------------------------------------------------------------------------


def wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/media/")):
        return False
    if path.startswith("/oembed"):
        return False
    parts = path.split("/")
    # Below a share link only the passcode form is a page; the rest is JSON and media.
    if len(parts) >= 4 and parts[1] == "s" and parts[3] != "unlock":
        return False
    return "text/html" in request.headers.get("accept", "")


def error_page(request: Request, exc: RelayError) -> Response:
    if exc.status == 401:
        if request.method in ("GET", "HEAD"):
            return redirect("/login?next=" + quote(here(request), safe=""))
        return redirect("/login")
    lang = page_lang(request)
    t = i18n.error_strings(lang)
    status = exc.status if f"title_{exc.status}" in t else 500 if exc.status >= 500 else 400
    title, advice = t[f"title_{status}"], t[f"text_{status}"]
    # Details are written in English: the English page shows them, the Dutch one its advice.
    detail = exc.detail if lang == "en" and exc.status < 500 else ""
    if advice.startswith(detail.rstrip(".")):  # the router's own 404 says the same
        detail = ""
    who = known_principal(request)
    context = {
        "user": who.user if who is not None and who.via == "session" else None,
        "csrf": (who.csrf_token or "") if who is not None else "",
        "status": exc.status,
        "title": title,
        "advice": advice,
        "detail": detail,
        "lang": lang,
        "t": t,
    }
    return render(request, "error.html", context, status=exc.status, headers=exc.headers)


def server_error(request: Request) -> Response:
    """The answer to an exception nothing caught; what it was goes to the log only."""
    error = InternalError("Something went wrong on the server. Try again in a moment.")
    if wants_html(request):
        return error_page(request, error)
    return JSONResponse(error.as_json(), status_code=error.status)


def as_relay_error(request: Request, exc: HTTPException) -> RelayError:
    """Starlette's own HTTP errors (no route, wrong method, a malformed form) as ours."""
    if exc.status_code == 404:
        return NotFound("There is nothing at this address.")
    detail = exc.detail
    if exc.status_code == 405:
        detail = f"This address does not take {request.method} requests."
    error = RelayError(detail, headers=dict(exc.headers or {}))
    error.status = exc.status_code
    error.code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    return error


def page(handler: Handler) -> Handler:
    """Pages answer errors with an HTML page whatever the Accept header says."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except RelayError as exc:
            return error_page(request, exc)
        except HTTPException as exc:  # a form that Starlette cannot parse
            return error_page(request, as_relay_error(request, exc))

    return wrapper


def here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")
