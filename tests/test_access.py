"""Access-control matrix: every route × every kind of caller has an expected status, and a
refused cell leaks nothing of the message. A route without a row here fails the test."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.routing import Mount, Route

from relay.notify import unsubscribe
from relay.web.app import routes
from tests.conftest import World
from tests.support.access import (
    CALLERS,
    MEDIA,
    NO_USER,
    SECRET_TITLE,
    VIDEO,
    Arg,
    build_fixture,
    first_bytes,
    fresh_link,
    fresh_msg,
    fresh_reaction,
    headers_for,
    link,
    link_fresh_reaction,
    link_fresh_reply,
    link_guest_upload,
    link_msg,
    link_url,
    msg,
    thread,
    upload,
)


async def unsubscribe_token(f, caller: str) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    """The author's one-click token (the URL is the permission); "anonymous" holds a forged one."""
    token = unsubscribe.token(f.world.services.secret, f.world.author.id)
    return (token[:-4] + "AAAA" if caller == "anonymous" else token,)


def row(
    method: str, template: str, expect: dict[str, object], arg: Arg | None = None, **kw: object
):  # type: ignore[no-untyped-def]
    """One route's expectations; callers not named get expect['*']."""
    cells = {c: expect.get(c, expect.get("*")) for c in CALLERS}
    return (method, template, cells, arg, kw)


TUS_PATCH = {
    "headers": {
        "Tus-Resumable": "1.0.0",
        "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": "0",
    },
    "content": b"0123456789",
}
TUS = {"headers": {"Tus-Resumable": "1.0.0"}}
TUS_CREATE = {"headers": {"Tus-Resumable": "1.0.0", "Upload-Length": "5"}}
ANON_401 = {c: 401 for c in NO_USER}
ANON_303 = {c: 303 for c in NO_USER}
# Behind a link: no link at all is 404, a dead link 410, whoever else holds a live one gets in.
LINK = {"anonymous": 404, "other": 404, "revoked": 410, "expired": 410}
# ... and acting there needs a name (a guest) or an account.
LINK_ACT = {**LINK, "guest_view": 403, "guest_session": 403}
# A member through the view link watches: acting needs rights the link does not give.
VIEWER_ACT = {"view_member": 403}
TEXT = {"kind": "text", "body": "hello"}
PUSH_ENDPOINT = "https://push.example.org/send/access-matrix"
# A browser's PushSubscription.toJSON(): a real P-256 point and a 16-byte secret.
PUSH_SUBSCRIPTION = {
    "endpoint": PUSH_ENDPOINT,
    "expirationTime": None,
    "keys": {
        "p256dh": "BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQ"
        "FLXYp5Nksh8U",
        "auth": "tBHItJI5svbpez7KI4CCXg",
    },
}
# A guest's upload below its link: nobody else's, and 401 for those who have no name there.
TUS_NO_GUEST = {
    "guest_view": 401,
    "guest_session": 401,
    "author": 404,
    "admin": 404,
    "view_member": 404,
}

MATRIX = [
    row("GET", "/healthz", {"*": 200}),
    row("GET", "/readyz", {"*": 200}),
    # The tests' clients come from 127.0.0.1, one of the default metrics networks.
    row("GET", "/metrics", {"*": 200}),
    row("GET", "/api/openapi.json", {"*": 200}),
    row("GET", "/login", {"*": 200}),
    row("POST", "/login", {"*": 403}, data={"email": "x@example.org", "password": "wrong"}),
    row("POST", "/logout", {"*": 303}),  # anonymous: redirected to /login
    row("GET", "/", {**ANON_303, "*": 200}),
    row("GET", "/record", {**ANON_303, "*": 200}),
    # A message's address sends its readers on to the thread page, which checks again.
    row("GET", "/m/{}", {**ANON_303, "other": 404, "*": 303}, msg),
    row("GET", "/me", {**ANON_303, "*": 200}),
    # Anonymous: to the sign-in page; signed in: saved, back to the profile (303 both).
    row("POST", "/me", {"*": 303}, data={"name": "Ann Smit", "language": "en"}),
    row("POST", "/me/notifications", {"*": 303}, data={"email": "1", "digest": "daily"}),
    row("POST", "/me/sign-out-everywhere", {"*": 303}),
    row("GET", "/favicon.ico", {"*": 301}),
    row("GET", "/t/{}", {**ANON_303, "other": 404, "*": 200}, thread),
    row("POST", "/api/messages", {**ANON_401, "*": 201}, json={"kind": "audio"}),
    row("GET", "/api/messages", {**ANON_401, "*": 200}),
    row("GET", "/api/messages/{}", {**ANON_401, "other": 404, "*": 200}, msg),
    row(
        "DELETE",
        "/api/messages/{}",
        {**ANON_401, "other": 404, "view_member": 404, "admin": 403, "author": 204},
        fresh_msg,
    ),
    row(
        "PATCH",
        "/api/messages/{}",
        {**ANON_401, "other": 404, **VIEWER_ACT, "admin": 403, "author": 200},
        msg,
        json={"language": "nl"},
    ),
    row("GET", "/api/messages/{}/transcript", {**ANON_401, "other": 404, "*": 200}, msg),
    row(
        "PATCH",
        "/api/messages/{}/transcript/segments/0",
        # 404: no transcript yet
        {**ANON_401, "other": 404, **VIEWER_ACT, "admin": 403, "author": 404},
        msg,
        json={"text": "corrected"},
    ),
    row(
        "PUT",
        "/api/messages/{}/listen",
        {**ANON_401, "other": 404, "admin": 403, "view_member": 200, "author": 200},
        msg,
        json={"position": 2.5},
    ),
    row(
        "POST",
        "/api/messages/{}/reactions",
        {**ANON_401, "other": 404, **VIEWER_ACT, "admin": 403, "author": 201},
        msg,
        json={"emoji": "👍", "at": 1.5},
    ),
    row(
        "DELETE",
        "/api/messages/{}/reactions/{}",
        {**ANON_401, "other": 404, **VIEWER_ACT, "admin": 403, "author": 204},
        fresh_reaction,
    ),
    row("GET", "/api/threads", {**ANON_401, "*": 200}),
    row("GET", "/api/threads/{}", {**ANON_401, "other": 404, "*": 200}, thread),
    row("GET", "/api/threads/{}/events", {**ANON_401, "other": 404, "*": 200}, thread, stream=True),
    row("GET", "/api/threads/{}/links", {**ANON_401, "other": 404, **VIEWER_ACT, "*": 200}, thread),
    row(
        "POST",
        "/api/threads/{}/links",
        {**ANON_401, "other": 404, **VIEWER_ACT, "admin": 403, "author": 201},
        thread,
        json={"rights": "view", "expires_in": 3600},
    ),
    row(
        "DELETE",
        "/api/links/{}",
        {**ANON_401, "other": 404, **VIEWER_ACT, "admin": 204, "author": 204},
        fresh_link,
    ),
    row("GET", "/api/search", {**ANON_401, "*": 200}, params={"q": "numbers"}),
    row("GET", "/api/me", {**ANON_401, "*": 200}),
    row("PATCH", "/api/me", {**ANON_401, "*": 200}, json={"language": "en"}),
    # One-click unsubscribe (RFC 8058): no cookie and no CSRF token, the signed URL decides.
    row("GET", "/unsubscribe/{}", {"anonymous": 404, "*": 200}, unsubscribe_token),
    row(
        "POST",
        "/unsubscribe/{}",
        {"anonymous": 404, "*": 200},
        unsubscribe_token,
        data={"List-Unsubscribe": "One-Click"},
    ),
    row("GET", "/sw.js", {"*": 200}),
    row("GET", "/api/push/key", {**ANON_401, "*": 200}),
    # The same browser for every caller: each takes the subscription over (the last wins).
    row("POST", "/api/push/subscriptions", {**ANON_401, "*": 201}, json=PUSH_SUBSCRIPTION),
    row(
        "DELETE",
        "/api/push/subscriptions",
        {**ANON_401, "*": 204},
        json={"endpoint": PUSH_ENDPOINT},
    ),
    row("OPTIONS", "/api/uploads/", {"*": 204}),
    row("POST", "/api/uploads/", {**ANON_401, "*": 201}, **TUS_CREATE),
    row("OPTIONS", "/api/uploads/{}", {"*": 204}, upload),
    row(
        "HEAD",
        "/api/uploads/{}",
        {**ANON_401, "other": 404, "view_member": 404, "admin": 404, "author": 200},
        upload,
        **TUS,
    ),
    row(
        "PATCH",
        "/api/uploads/{}",
        {**ANON_401, "other": 404, "view_member": 404, "admin": 404, "author": 204},
        upload,
        **TUS_PATCH,
    ),
    row(
        "DELETE",
        "/api/uploads/{}",
        {**ANON_401, "other": 404, "view_member": 404, "admin": 404, "author": 204},
        upload,
        **TUS,
    ),
    row("GET", "/media/{}/video", {**ANON_401, "other": 404, "*": MEDIA}, msg),
    row("HEAD", "/media/{}/video", {**ANON_401, "other": 404, "*": MEDIA}, msg),
    row("GET", "/s/{}", {**LINK, "*": 200}, link),
    row("POST", "/s/{}/unlock", {**LINK, "*": 303}, link, data={"passcode": "whatever"}),
    row("POST", "/s/{}/join", {**LINK, "*": 303}, link),
    row("GET", "/s/{}/status", {**LINK, "*": 200}, link),
    row("GET", "/s/{}/transcript", {**LINK, "*": 200}, link),
    row("GET", "/s/{}/thread", {**LINK, "*": 200}, link),
    row("GET", "/s/{}/events", {**LINK, "*": 200}, link, stream=True),
    row("GET", "/s/{}/media/video", {**LINK, "*": MEDIA}, link),
    row("HEAD", "/s/{}/media/video", {**LINK, "*": MEDIA}, link),
    row("GET", "/s/{}/media/{}/video", {**LINK, "*": MEDIA}, link_msg),
    row("HEAD", "/s/{}/media/{}/video", {**LINK, "*": MEDIA}, link_msg),
    row("GET", "/s/{}/messages/{}/transcript", {**LINK, "*": 200}, link_msg),
    row(
        "POST",
        "/s/{}/guest",
        {**LINK_ACT, **VIEWER_ACT, "guest_session": 201, "*": 201},
        link,
        json={"name": "Ann"},
    ),
    row("POST", "/s/{}/messages", {**LINK_ACT, **VIEWER_ACT, "*": 201}, link, json=TEXT),
    row(
        "DELETE",
        "/s/{}/messages/{}",
        {**LINK_ACT, **VIEWER_ACT, "guest_reply": 403, "admin": 403, "author": 204},
        link_fresh_reply,
    ),
    row(
        "PUT",
        "/s/{}/messages/{}/listen",
        # Without a name too: a nameless visitor is counted (by a cookie of the link).
        {**LINK, "*": 200},
        link_msg,
        json={"position": 3, "heard": False},
    ),
    row(
        "POST",
        "/s/{}/messages/{}/reactions",
        {**LINK_ACT, **VIEWER_ACT, "*": 201},
        link_msg,
        json={"emoji": "🎉"},
    ),
    row(
        "DELETE",
        "/s/{}/messages/{}/reactions/{}",
        {**LINK_ACT, **VIEWER_ACT, "guest_reply": 403, "admin": 403, "author": 204},
        link_fresh_reaction,
    ),
    row("OPTIONS", "/s/{}/uploads/{}", {"*": 204}, link_guest_upload),
    row(
        "HEAD",
        "/s/{}/uploads/{}",
        {**LINK, **TUS_NO_GUEST, "guest_reply": 200},
        link_guest_upload,
        **TUS,
    ),
    row(
        "PATCH",
        "/s/{}/uploads/{}",
        {**LINK, **TUS_NO_GUEST, "guest_reply": 204},
        link_guest_upload,
        **TUS_PATCH,
    ),
    row(
        "DELETE",
        "/s/{}/uploads/{}",
        {**LINK, **TUS_NO_GUEST, "guest_reply": 204},
        link_guest_upload,
        **TUS,
    ),
    row(
        "GET",
        "/oembed",
        {"anonymous": 404, "other": 404, "revoked": 404, "expired": 404, "*": 200},
        params_from=link_url,
    ),
]


def test_every_route_has_a_row() -> None:
    covered = {(method, template) for method, template, *_ in MATRIX}
    missing = []
    for route in routes():
        if isinstance(route, Mount):
            continue  # static files: public by design
        assert isinstance(route, Route)
        path = route.path.replace("{name}", "video").replace("{position}", "0")
        for name in route.param_convertors:
            path = path.replace("{" + name + "}", "{}")
        for method in route.methods or []:
            # Starlette answers HEAD on every GET route; GET's row speaks for it.
            if (method, path) not in covered and not (
                method == "HEAD" and ("GET", path) in covered
            ):
                missing.append(f"{method} {route.path}")
    assert not missing, f"routes without access-control cells: {missing}"


@pytest.mark.parametrize(
    ("method", "template", "cells", "arg", "kw"), MATRIX, ids=[f"{m} {t}" for m, t, *_ in MATRIX]
)
async def test_access_matrix(
    world: World, tmp_path: Path, method, template, cells, arg, kw
) -> None:  # type: ignore[no-untyped-def]
    fixture = await build_fixture(world, tmp_path)
    media_ok = 302 if world.services.settings.storage == "s3" else 200
    failures = []
    for caller in CALLERS:
        path = template.format(*await arg(fixture, caller)) if arg else template
        headers = {**headers_for(fixture, caller), **kw.get("headers", {})}
        extra = {k: v for k, v in kw.items() if k not in ("headers", "params_from", "stream")}
        if "params_from" in kw:
            (url,) = await kw["params_from"](fixture, caller)
            extra["params"] = {"url": url, "format": "json"}
        if kw.get("stream"):
            response = await first_bytes(world, method, path, headers)
        else:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=world.app), base_url="http://relay.test"
            ) as client:
                response = await client.request(method, path, headers=headers, **extra)
        expected = media_ok if cells[caller] == MEDIA else cells[caller]
        if response.status_code != expected:
            failures.append(
                f"{caller}: {response.status_code} != {expected} ({response.text[:120]})"
            )
        if response.status_code >= 400 and (
            SECRET_TITLE in response.text or VIDEO[8:40] in response.content
        ):
            failures.append(f"{caller}: a refused response leaks the message")
    assert not failures, "\n".join(failures)
