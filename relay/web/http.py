"""Request helpers for handlers: services, who is asking, CSRF, JSON bodies, URLs."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from starlette.requests import Request

from relay import auth
from relay.context import Services
from relay.errors import BadRequest, Forbidden, PayloadTooLarge, Unauthorized
from relay.inputs import MAX_ID

SESSION_COOKIE = "relay_session"
CSRF_HEADER = "x-csrf-token"
MAX_JSON_BYTES = 64 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Cached in the request's scope: lifespan state is shared between requests by some servers.
_PRINCIPAL = "relay.principal"
log = logging.getLogger(__name__)


def services(request: Request) -> Services:
    return request.state.relay


async def principal(request: Request) -> auth.Principal | None:
    """Resolve the caller once per request, from a bearer token or the session cookie, kept
    while the database is unchanged (relay.read_cache)."""
    if _PRINCIPAL in request.scope:
        return request.scope[_PRINCIPAL]
    found: auth.Principal | None = None
    if token := _bearer(request):
        key: tuple[str, str] | None = ("token", token)
    elif cookie := request.cookies.get(SESSION_COOKIE):
        key = ("session", cookie)
    else:
        key = None
    if key is not None:
        found = await services(request).answers.get(key, lambda: _resolve(request))
    request.scope[_PRINCIPAL] = found
    return found


async def _resolve(request: Request) -> auth.Principal | None:
    found, token = await _read_principal(request)
    if token is not None:
        _record_use(services(request), token)
    return found


def _record_use(svc: Services, token: str) -> None:
    """A token's last use, written beside the request: every request that waits for this
    token's owner would otherwise wait for the writer too."""
    key = f"token-use:{auth.digest(token)}"
    if key in svc.chores:
        return

    async def record() -> None:
        try:
            async with svc.sessions.begin() as writing:
                await auth.record_token_use(writing, token)
        except Exception:
            log.warning("could not record an API token's use", exc_info=True)
        finally:
            del svc.chores[key]

    svc.chores[key] = asyncio.create_task(record())


async def _read_principal(request: Request) -> tuple[auth.Principal | None, str | None]:
    if _bearer(request):
        async with services(request).one_statement() as connection:
            return await _lookup(request, connection)
    # A read transaction: on SQLite it runs beside writers instead of queueing behind them.
    async with services(request).reads.begin() as reading:
        return await _lookup(request, reading)


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def _lookup(
    request: Request, db: AsyncSession | AsyncConnection
) -> tuple[auth.Principal | None, str | None]:
    """The caller, and their bearer token when its use is due to be recorded."""
    if token := _bearer(request):
        hit = await auth.token_user(db, token)
        if hit is None:
            raise Unauthorized("The API token is not valid.")
        return auth.Principal(user=hit[0], via="token"), (token if hit[1] else None)
    assert isinstance(db, AsyncSession)
    if cookie := request.cookies.get(SESSION_COOKIE):
        found = await auth.session_user(db, cookie)
        if found is not None:
            return auth.Principal(user=found[0], via="session", csrf_token=found[1]), None
    return None, None


def known_principal(request: Request) -> auth.Principal | None:
    """The caller if this request has resolved it already (for error pages, which must not
    touch the database again)."""
    return request.scope.get(_PRINCIPAL)


async def require_user(request: Request, form_csrf: str | None = None) -> auth.Principal:
    """The signed-in caller; state-changing calls made with a cookie must carry the CSRF token."""
    who = await principal(request)
    if who is None:
        raise Unauthorized("Sign in, or send an API token as 'Authorization: Bearer …'.")
    if request.method not in SAFE_METHODS and who.via == "session":
        given = request.headers.get(CSRF_HEADER) or form_csrf or ""
        if not who.csrf_token or not auth.same(given, who.csrf_token):
            raise Forbidden("The CSRF token is missing or wrong: reload the page and try again.")
    return who


def _json_int(text: str) -> int:
    # Bounded before int(): a 5000-digit literal would raise inside json.loads otherwise.
    if len(text.lstrip("-")) > 19 or abs(value := int(text)) > MAX_ID:
        raise ValueError("integer out of range")
    return value


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 reads as infinity
        raise ValueError("number out of range")
    return value


def _json_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


async def json_body(request: Request) -> dict[str, Any]:
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise BadRequest("Send a JSON body with 'Content-Type: application/json'.")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_JSON_BYTES:
            raise PayloadTooLarge(f"A JSON body may have at most {MAX_JSON_BYTES} bytes.")
    try:
        data = json.loads(
            raw, parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant
        )
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise BadRequest("The body is not valid JSON.") from None
    except ValueError:
        raise BadRequest(
            f"The body has a number out of range: whole numbers lie within ±{MAX_ID}, and "
            "NaN and Infinity are not JSON."
        ) from None
    if not isinstance(data, dict):
        raise BadRequest("The JSON body must be an object.")
    return data


def base_url(request: Request) -> str:
    """Public origin for absolute links: RELAY_PUBLIC_URL, else the request's Host, which
    relay.web.middleware.AllowedHosts has checked against RELAY_ALLOWED_HOSTS."""
    configured = services(request).settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


def is_https(request: Request) -> bool:
    secure = services(request).settings.cookie_secure
    return secure if secure is not None else base_url(request).startswith("https://")
