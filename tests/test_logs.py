"""The access log of `relay serve` never records a share link's token."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx

from relay.logs import RedactTokens, redact
from tests.support.server import add_user, serve, stack_env

TOKEN = "AbCdEfGhIjKlMnOpQrStUv"


def test_redact_keeps_four_characters_of_a_token_in_path_and_query() -> None:
    assert redact(f"/s/{TOKEN}") == "/s/AbCd…"
    assert redact(f"/s/{TOKEN}/media/x/audio?lang=nl") == "/s/AbCd…/media/x/audio?lang=nl"
    assert (
        redact(f"/oembed?url=http%3A%2F%2Fh%2Fs%2F{TOKEN}")
        == "/oembed?url=http%3A%2F%2Fh%2Fs%2FAbCd…"
    )
    assert redact("/api/messages/abc") == "/api/messages/abc"


def test_filter_rewrites_uvicorn_access_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/s/{TOKEN}/thread", "1.1", 200),
        None,
    )
    assert RedactTokens().filter(record)
    assert TOKEN not in record.getMessage() and "/s/AbCd…/thread" in record.getMessage()


def test_served_access_log_has_no_share_token(tmp_path: Path) -> None:
    env = stack_env(tmp_path / "var", f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}", None)
    token = add_user(env, "logs@example.org")
    log = tmp_path / "serve.log"
    process, base = serve(env, log, RELAY_WORKERS="0")
    try:
        headers = {"Authorization": f"Bearer {token}"}
        made = httpx.post(
            f"{base}/api/messages", json={"kind": "text", "body": "hi"}, headers=headers
        )
        share = made.json()["share_url"]
        assert httpx.get(share).status_code == 200
        assert httpx.get(f"{share}/thread").status_code == 200
    finally:
        process.stop()
    text = log.read_text()
    link = share.rsplit("/", 1)[1]
    assert link not in text
    assert f"/s/{link[:4]}…/thread" in text
