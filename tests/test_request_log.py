"""RELAY_LOG_FORMAT=json: one JSON object per line from `relay serve`, each request's line
with its route template, status and duration; the request id comes back in X-Request-ID
(the caller's own when it sends a sane one) and follows the work into the jobs it queued."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx

from tests.support.server import TUS, add_user, serve, stack_env
from tests.support.speech import make_silence


def lines(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def test_json_lines_carry_the_request_id_into_jobs(tmp_path: Path) -> None:
    env = stack_env(tmp_path / "var", f"sqlite+aiosqlite:///{tmp_path}/relay.db", None)
    token = add_user(env, "kim@example.org")
    log = tmp_path / "serve.log"
    process, base = serve(env, log, RELAY_LOG_FORMAT="json")
    try:
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=auth, timeout=30) as client:
            created = client.post(
                "/api/messages", json={"kind": "audio"}, headers={"X-Request-ID": "trace-41"}
            )
            assert created.headers["X-Request-ID"] == "trace-41"
            message = created.json()
            wav = make_silence(tmp_path / "quiet.wav", 1.5).read_bytes()
            patched = client.patch(
                message["upload_url"],
                content=wav,
                headers={
                    **TUS,
                    "Content-Type": "application/offset+octet-stream",
                    "Upload-Offset": "0",
                    "Upload-Length": str(len(wav)),
                    "X-Request-ID": "trace-42",
                },
            )
            assert patched.status_code == 204, patched.text
            # Not sane (spaces, too long): replaced by one of ours.
            odd = client.get("/api/me", headers={"X-Request-ID": "not sane, " * 9 + "nor short"})
            assert re.fullmatch(r"[0-9a-f]{16}", odd.headers["X-Request-ID"])
            share = message["share_url"].rsplit("/", 1)[1]
            client.get(f"/s/{share}")
            deadline = time.monotonic() + 60
            while client.get(f"/api/messages/{message['id']}").json()["status"] != "ready":
                assert time.monotonic() < deadline
                time.sleep(0.2)
        time.sleep(0.3)
        written = lines(log)  # every line is JSON (json.loads raises otherwise)
        requests = [w for w in written if w["logger"] == "relay.request"]
        create = next(w for w in requests if w.get("request_id") == "trace-41")
        assert (create["route"], create["method"], create["status"]) == (
            "/api/messages",
            "POST",
            201,
        )
        assert create["duration_ms"] >= 0
        link = next(w for w in requests if w["route"] == "/s/{token}")
        assert share not in json.dumps(link) and link["path"] == f"/s/{share[:4]}…"
        ready = [w for w in written if "ready" in w["message"] and w["logger"] != "relay.request"]
        # The job's line names the request that queued it: the recording's creation when its
        # live job made it ready, else the PATCH that finished it (the whole file came in
        # one request, before a worker took the live job).
        assert ready, written
        live = "(live," in ready[0]["message"]
        assert ready[0].get("request_id") == ("trace-41" if live else "trace-42"), ready
    finally:
        process.stop()
