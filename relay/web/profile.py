"""The profile page, /me: the name others read, the language, and signing out everywhere.
Plain forms with the session's CSRF token, so it all works without JavaScript."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relay import auth, i18n, inputs, names
from relay.errors import BadRequest
from relay.i18n_site import LANGUAGE_NAMES
from relay.models import User
from relay.notify import timing
from relay.web.http import SESSION_COOKIE, is_https, principal, require_user, services
from relay.web.page_render import here, page, page_lang, redirect, render

LANG_MAX_AGE = 365 * 86400


def routes() -> list[Route]:
    return [
        Route("/me", page(profile_page), methods=["GET"]),
        Route("/me", page(save_profile), methods=["POST"]),
        Route("/me/notifications", page(save_notifications), methods=["POST"]),
        Route("/me/sign-out-everywhere", page(sign_out_everywhere), methods=["POST"]),
    ]


async def _form(request: Request) -> FormData:
    return await request.form(max_files=0, max_fields=10, max_part_size=4096)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value[:1024] if isinstance(value, str) else ""


async def profile_page(request: Request) -> Response:
    who = await principal(request)
    if who is None:
        return redirect("/login?next=" + quote(here(request), safe=""))
    saved = request.query_params.get("saved")
    name, speech = names.display_name(who.user), who.user.language
    return _render(request, who, name=name, speech=speech, saved=saved)


async def save_profile(request: Request) -> Response:
    form = await _form(request)
    who = await require_user(request, form_csrf=_field(form, "csrf"))
    name = names.tidy(_field(form, "name"))
    language = _field(form, "language")
    if language not in i18n.CATALOGS:
        language = page_lang(request)
    try:
        speech = inputs.language(_field(form, "speech"))
    except BadRequest:
        speech = who.user.language
    if (why := names.problem(name)) is not None:
        return _render(request, who, name=name, speech=speech, problem=why, status=400)
    async with services(request).sessions.begin() as session:
        user = await session.get(User, who.user.id)
        assert user is not None
        user.display_name, user.language, user.ui_language = name, speech, language
    response = redirect("/me?saved=profile")
    # The page language is kept per browser, as the pages' switch links keep it.
    response.set_cookie(
        i18n.LANG_COOKIE,
        language,
        max_age=LANG_MAX_AGE,
        path="/",
        secure=is_https(request),
        samesite="lax",
    )
    return response


async def save_notifications(request: Request) -> Response:
    """Mail about new replies on or off (one-click unsubscribe turns it off), and how often."""
    form = await _form(request)
    who = await require_user(request, form_csrf=_field(form, "csrf"))
    async with services(request).sessions.begin() as session:
        user = await session.get(User, who.user.id)
        assert user is not None
        user.notify_email = _field(form, "email") == "1"
        user.notify_reactions = _field(form, "reactions") == "1"
        user.notify_digest = "daily" if _field(form, "digest") == "daily" else "thread"
        focus = [timing.clock_time(_field(form, name)) for name in ("focus_from", "focus_until")]
        user.focus_from, user.focus_until = (
            (f"{focus[0]:%H:%M}", f"{focus[1]:%H:%M}") if None not in focus else (None, None)
        )
        zone = _field(form, "time_zone")[:64]
        if zone and timing.zone(zone).key == zone:
            user.time_zone = zone
    return redirect("/me?saved=notifications#notify-title")


async def sign_out_everywhere(request: Request) -> Response:
    form = await _form(request)
    who = await require_user(request, form_csrf=_field(form, "csrf"))
    async with services(request).sessions.begin() as session:
        await auth.end_all_sessions(session, who.user)
    response = redirect("/login")
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=is_https(request), httponly=True, samesite="lax"
    )
    return response


def _render(
    request: Request,
    who: auth.Principal,
    *,
    name: str,
    speech: str | None,
    saved: str | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    lang = page_lang(request)
    t = i18n.profile_strings(lang)
    mail = services(request).settings.mail
    error = None
    if problem is not None:
        error = t[f"name_{problem}"].replace("{name}", name).replace("{max}", str(names.MAX_NAME))
    context: dict[str, Any] = {
        "user": who.user,
        "csrf": who.csrf_token or "",
        "lang": lang,
        "t": t,
        "name": name,
        "email": who.user.email,
        "languages": LANGUAGE_NAMES,
        # What the account speaks: "" lets Relay detect it; a code set through the API
        # that the menu does not name stays one of its choices.
        "speech": speech or "",
        "speeches": {"": t["speech_detect"], **LANGUAGE_NAMES, **_other(speech)},
        "saved": saved == "profile",
        "notify_saved": saved == "notifications",
        "error": error,
        "mail_enabled": mail.enabled,
        "notify_email": who.user.notify_email,
        "notify_digest": who.user.notify_digest,
        "notify_reactions": who.user.notify_reactions,
        "notify_minutes": max(1, round(mail.delay_seconds / 60)),
        "digest_hour": mail.digest_hour,
        "focus_from": who.user.focus_from,
        "focus_until": who.user.focus_until,
        "time_zone": who.user.time_zone,
    }
    return render(request, "profile.html", context, status=status)


def _other(code: str | None) -> dict[str, str]:
    return {code: code} if code and code not in LANGUAGE_NAMES else {}
