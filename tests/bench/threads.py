"""Thread latency: the thread page and the thread JSON for a thread of 200 messages, with
listening state and reactions, and a reply posted through the share link, against /healthz
(the framework's floor) in the same run."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import httpx

from tests.bench.core import Stack, log
from tests.support.server import add_user, serve

MESSAGES = 200


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(1000 * statistics.median(ordered), 2),
        "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 2),
    }


def _build(client: httpx.Client, listener: httpx.Client, messages: int) -> tuple[str, str]:
    """A thread of text messages; every other one heard and reacted to by a second member."""
    first = client.post("/api/messages", json={"kind": "text", "body": "Kick-off"}).json()
    share = first["share_url"]
    assert listener.get(share.replace(str(client.base_url).rstrip("/"), "")).status_code == 200
    parent = first["id"]
    for index in range(1, messages):
        body = {"kind": "text", "body": f"Reply {index}: " + "words " * 20, "parent_id": parent}
        parent = client.post("/api/messages", json=body).json()["id"]
        if index % 2:
            listener.put(f"/api/messages/{parent}/listen", json={"position": 0, "heard": True})
            listener.post(f"/api/messages/{parent}/reactions", json={"emoji": "👍"})
    return first["thread_id"], share.rsplit("/", 1)[1]


def _time(client: httpx.Client, path: str, rounds: int, body: dict | None = None) -> list[float]:
    """Seconds per GET of `path`, or per POST of `body` to it."""
    samples = []
    for _ in range(rounds):
        began = time.perf_counter()
        response = client.get(path) if body is None else client.post(path, json=body)
        samples.append(time.perf_counter() - began)
        assert response.status_code == (200 if body is None else 201), (path, response.text)
    return samples


def measure(stack: Stack, tmp: Path, *, rounds: int = 100, messages: int = MESSAGES) -> dict:
    listener_token = add_user(stack.env, "listener@example.org")
    process, base = serve(stack.env, tmp / "threads-serve.log")
    try:
        author = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {stack.token}"}, timeout=30
        )
        listener = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {listener_token}"}, timeout=30
        )
        with author, listener:
            thread_id, token = _build(author, listener, messages)
            log(f"thread of {messages} messages built")
            _time(author, f"/t/{thread_id}", 5)  # warm up
            floor = _percentiles(_time(author, "/healthz", rounds))
            json_ms = _percentiles(_time(author, f"/api/threads/{thread_id}", rounds))
            page_ms = _percentiles(_time(author, f"/t/{thread_id}", rounds))
            size = len(author.get(f"/api/threads/{thread_id}").content)
            # Last, as it makes the thread longer: a colleague's reply through the link.
            reply = {"kind": "text", "body": "Noted, thanks."}
            reply_ms = _percentiles(_time(listener, f"/s/{token}/messages", rounds // 2, reply))
    finally:
        process.stop()
    return {
        "messages": messages,
        "rounds": rounds,
        "healthz": floor,
        "thread_json": json_ms,
        "thread_page": page_ms,
        "link_reply": reply_ms,
        "thread_json_bytes": size,
        "json_p50_vs_healthz": round(json_ms["p50_ms"] / floor["p50_ms"], 1),
        "page_p50_vs_json": round(page_ms["p50_ms"] / json_ms["p50_ms"], 2),
        "link_reply_p50_vs_json": round(reply_ms["p50_ms"] / json_ms["p50_ms"], 2),
    }
