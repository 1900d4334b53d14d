"""The access log of `relay serve`: a line per request in the format of the other lines,
written together once per turn of the event loop, never with a share link's token."""

from __future__ import annotations

import asyncio
import io
import json
import re
from pathlib import Path

import httpx

from relay.logs import redact
from relay.web.request_log import AccessLines
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


class _Writes(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def _scope(path: str, query: bytes = b"") -> dict:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query,
        "http_version": "1.1",
        "client": ("192.0.2.7", 50123),
    }


async def test_lines_of_one_turn_are_written_at_once_in_text_and_json() -> None:
    text, as_json = _Writes(), _Writes()
    lines = AccessLines("text", text), AccessLines("json", as_json)
    for access in lines:
        for n in range(3):
            access.add(
                _scope(f"/s/{TOKEN}/media/m{n}/video"),
                "/s/{token}/media/{id}/{name}",
                206,
                0.00042,
                f"req-{n}",
            )
    assert text.writes == as_json.writes == 0  # not yet: at the end of this turn
    await asyncio.sleep(0)
    assert text.writes == as_json.writes == 1
    first = text.getvalue().splitlines()[0]
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO relay.request: 192.0.2.7:50123 - "
        r'"GET /s/AbCd…/media/m0/video HTTP/1.1" 206 0.4 ms',
        first,
    ), first
    records = [json.loads(line) for line in as_json.getvalue().splitlines()]
    assert [r["request_id"] for r in records] == ["req-0", "req-1", "req-2"]
    assert records[0] | {"time": "-"} == {
        "time": "-",
        "level": "info",
        "logger": "relay.request",
        "message": "GET /s/AbCd…/media/m0/video 206",
        "request_id": "req-0",
        "route": "/s/{token}/media/{id}/{name}",
        "method": "GET",
        "path": "/s/AbCd…/media/m0/video",
        "status": 206,
        "duration_ms": 0.4,
        "client": "192.0.2.7",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", records[0]["time"])
    assert TOKEN not in text.getvalue() + as_json.getvalue()


async def test_a_query_is_kept_with_its_tokens_redacted() -> None:
    out = _Writes()
    access = AccessLines("text", out)
    access.add(
        _scope("/oembed", f"url=http%3A%2F%2Fh%2Fs%2F{TOKEN}".encode()), "/oembed", 200, 0.001, "r"
    )
    await asyncio.sleep(0)
    assert '"GET /oembed?url=http%3A%2F%2Fh%2Fs%2FAbCd… HTTP/1.1" 200' in out.getvalue()


async def test_a_failed_write_never_fails_a_request_and_later_lines_are_written() -> None:
    class Full(_Writes):
        def write(self, text: str) -> int:
            if self.writes == 0:
                self.writes += 1
                raise OSError(28, "No space left on device")
            return super().write(text)

    out = Full()
    access = AccessLines("text", out)
    access.add(_scope("/healthz"), "/healthz", 200, 0.0, "r1")
    await asyncio.sleep(0)  # the write fails, quietly
    access.add(_scope("/readyz"), "/readyz", 200, 0.0, "r2")
    await asyncio.sleep(0)
    assert "/healthz" not in out.getvalue() and '"GET /readyz HTTP/1.1" 200' in out.getvalue()


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
