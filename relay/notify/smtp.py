"""Sending mail with aiosmtplib, configured by one URL: smtp://host:port (plain, or STARTTLS
when the server offers it), smtp+starttls://… (STARTTLS required), smtps://user:pass@host:465
(TLS from the start)."""

from __future__ import annotations

from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

from relay.settings import MailSettings

DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class MailNotSent(Exception):
    """The SMTP server could not be reached or refused the mail; worth another try."""


async def send(settings: MailSettings, mail: EmailMessage) -> str:
    """Hand `mail` to the server; returns the server's answer, e.g. "250 OK queued"."""
    url = urlsplit(settings.smtp_url)
    try:
        _, answer = await aiosmtplib.send(
            mail,
            hostname=url.hostname or "localhost",
            port=url.port or DEFAULT_PORTS[url.scheme],
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password) if url.password else None,
            use_tls=url.scheme == "smtps",
            start_tls=True if url.scheme == "smtp+starttls" else None,
            timeout=settings.timeout_seconds,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise MailNotSent(f"{type(exc).__name__}: {exc}") from exc
    return answer
