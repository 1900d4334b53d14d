"""Share-link tokens: capabilities that the database never holds readable.

A link's row keeps the SHA-256 of its token (`key`, looked up on every visit) and a random
`seed`; the token is the seed signed with the server's secret key. Those allowed to share
can copy a link again, while a copy of the database alone opens nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import Protocol

TOKEN_CHARS = 22  # 132 bits in URL-safe base64
SECRET_BYTES = 32
_PURPOSE = b"relay share link\x00"


def key_of(token: str) -> str:
    """The stored form of a token. A plain hash suffices: a token carries 132 random bits."""
    return hashlib.sha256(token.encode()).hexdigest()


def is_key(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def token_of(secret: bytes, seed: str) -> str:
    mac = hmac.new(secret, _PURPOSE + seed.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode()[:TOKEN_CHARS]


def mint(secret: bytes) -> tuple[str, str, str]:
    """A new link's (seed, token, key)."""
    seed = secrets.token_urlsafe(18)
    token = token_of(secret, seed)
    return seed, token, key_of(token)


class _Link(Protocol):
    key: str
    seed: str | None


def shown_token(secret: bytes, link: _Link) -> str | None:
    """The link's token, when this server can derive it: never for links made before
    tokens were hashed, nor with another secret key than the one that made the link."""
    if link.seed is None:
        return None
    token = token_of(secret, link.seed)
    return token if hmac.compare_digest(key_of(token), link.key) else None


def sign(secret: bytes, *parts: str) -> str:
    """A value only this server can make (for cookies derived from a link)."""
    message = "\x00".join(parts).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def load_secret(configured: str, path: Path) -> bytes:
    """RELAY_SECRET_KEY when set, else the key in the data folder, made on first start."""
    if configured:
        return configured.encode()
    secret = secrets.token_bytes(SECRET_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Owner-only, and created exclusively: a second process starting at once reads it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # the other process may not have written it yet
            if text := path.read_text().strip():
                return bytes.fromhex(text)
            time.sleep(0.02)
        raise
    with os.fdopen(fd, "w") as f:
        f.write(secret.hex())
    return secret
