"""One-click unsubscribe from notification mail (RFC 8058). The POST carries no cookie and no
CSRF token: the signed token in the URL is the permission. A GET only asks, so a link scanner
that opens every URL in a mail stops nothing."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relay.errors import NotFound
from relay.models import User
from relay.notify import unsubscribe
from relay.notify.words import words
from relay.web.http import services
from relay.web.page_render import page, page_lang, render


def routes() -> list[Route]:
    return [
        Route("/unsubscribe/{token}", page(ask), methods=["GET"]),
        Route("/unsubscribe/{token}", page(stop), methods=["POST"]),
    ]


async def _user(request: Request) -> User:
    svc = services(request)
    user_id = unsubscribe.user_id(svc.secret, request.path_params["token"])
    async with svc.sessions.begin() as session:
        user = await session.get(User, user_id) if user_id else None
        if user is None:
            raise NotFound("This unsubscribe link is not valid.")
        if request.method == "POST":
            user.notify_email = False
        return user


async def ask(request: Request) -> Response:
    return _page(request, await _user(request), done=False)


async def stop(request: Request) -> Response:
    return _page(request, await _user(request), done=True)


def _page(request: Request, user: User, *, done: bool) -> Response:
    lang = user.ui_language or page_lang(request)
    context = {"lang": lang, "w": words(lang), "done": done, "token": request.path_params["token"]}
    return render(request, "unsubscribe.html", context)
