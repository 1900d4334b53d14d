"""One-click unsubscribe tokens (RFC 8058): the POST carries no cookie, so the URL itself
proves whose mail it stops. A token is the person's id signed with the server's key."""

from __future__ import annotations

import base64
import hashlib
import hmac


def _signature(secret: bytes, user_id: str) -> str:
    digest = hmac.new(secret, b"unsubscribe:" + user_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def token(secret: bytes, user_id: str) -> str:
    return f"{user_id}.{_signature(secret, user_id)}"


def user_id(secret: bytes, value: str) -> str | None:
    """Whose token this is, or None when it is not one of ours."""
    who, _, signature = value.rpartition(".")
    if not who or not hmac.compare_digest(signature, _signature(secret, who)):
        return None
    return who
