"""ASGI middleware around every response: which Host headers are answered, and the security
headers. Pure ASGI (not BaseHTTPMiddleware), so live streams and uploads pass untouched."""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relay.errors import BadRequest
from relay.settings import Settings
from relay.web.page_render import server_error


class SecurityHeaders:
    """On every response: nosniff, a Referrer-Policy and the Content-Security-Policy; pages and
    JSON are not stored by caches unless they say otherwise (static files and media do). Below
    /s/ (share links) no Referer at all and no search engine indexing either."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.policy = content_security_policy(settings).encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        share = scope["path"].startswith("/s/")

        async def send_protected(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self._protected(message.get("headers", ()), share)
            await send(message)

        await self.app(scope, receive, send_protected)

    def _protected(
        self, given: Iterable[tuple[bytes, bytes]], share: bool
    ) -> list[tuple[bytes, bytes]]:
        """The response's headers with ours, in one pass (this runs for every response)."""
        headers: list[tuple[bytes, bytes]] = []
        present, kind = set(), b""
        for name, value in given:
            low = name.lower()
            if low in _REPLACED or (share and low == b"x-robots-tag"):
                continue
            headers.append((name, value))
            present.add(low)
            if low == b"content-type":
                kind = value
        headers.append((b"x-content-type-options", b"nosniff"))
        headers.append((b"referrer-policy", b"no-referrer" if share else b"same-origin"))
        if b"content-security-policy" not in present:
            headers.append((b"content-security-policy", self.policy))
        stored = not kind or kind.startswith((b"text/html", b"application/json"))
        if stored and b"cache-control" not in present:
            headers.append((b"cache-control", b"no-store"))
        if share:
            headers.append((b"x-robots-tag", b"noindex"))
        return headers


# Set by SecurityHeaders whatever the response says.
_REPLACED = frozenset({b"x-content-type-options", b"referrer-policy"})


class ServerErrors:
    """An exception that nothing caught: people get the branded error page and programs the
    JSON error, inside SecurityHeaders (Starlette's own plain-text answer sits outside it).
    The exception goes on to the server, which logs it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception:
            if not started:
                await server_error(Request(scope))(scope, receive, send)
            raise


def media_origins(settings: Settings) -> list[str]:
    """Origins that media may come from besides our own: S3 answers with presigned URLs."""
    if settings.storage != "s3":
        return []
    s3 = settings.s3
    endpoint = s3.public_endpoint_url or s3.endpoint_url
    if not endpoint:
        hosts = ["s3.amazonaws.com", f"s3.{s3.region}.amazonaws.com"]
        if s3.addressing == "virtual":
            hosts = [f"{s3.bucket}.{host}" for host in hosts]
        return [f"https://{host}" for host in hosts]
    parts = urlsplit(endpoint)
    netloc = parts.netloc.lower()
    if s3.addressing == "virtual":
        netloc = f"{s3.bucket}.{netloc}"
    return [f"{parts.scheme}://{netloc}"]


def content_security_policy(settings: Settings) -> str:
    media = " ".join(["'self'", *media_origins(settings)])
    return "; ".join(
        [
            "default-src 'self'",
            f"img-src {media}",
            # blob: is the recorder's listen-back of a recording not yet sent.
            f"media-src {media} blob:",
            "script-src 'self'",
            "style-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ]
    )


def host_name(header: str) -> str:
    """The host of a Host header: without port, brackets or a final dot, in lower case."""
    host = header.strip().lower()
    if host.startswith("["):  # [::1]:8000
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """`*` allows any host, `*.example.org` its subdomains, anything else itself only."""
    for pattern in allowed:
        if pattern == "*" or host == pattern:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


class AllowedHosts:
    """Answers 400 to a Host header that is not ours: absolute links (share URLs, tus
    Location, oEmbed) are built from it when RELAY_PUBLIC_URL is not set."""

    def __init__(self, app: ASGIApp, hosts: Iterable[str]) -> None:
        self.app = app
        self.hosts = tuple(host_name(host) if host != "*" else host for host in hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("host")
        # Without a Host header, Starlette falls back to the address the server listens on.
        if header is None or host_allowed(host_name(header), self.hosts):
            await self.app(scope, receive, send)
            return
        detail = (
            "This server does not answer to that host name; its operator can allow it with "
            "RELAY_PUBLIC_URL or RELAY_ALLOWED_HOSTS."
        )
        await _refuse(send, detail)


async def _refuse(send: Send, detail: str) -> None:
    body = json.dumps(BadRequest(detail).as_json()).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body})
