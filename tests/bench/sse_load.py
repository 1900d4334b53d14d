"""SSE load generator, run in a process of its own by tests.bench.sse:

    python -m tests.bench.sse_load --base http://127.0.0.1:PORT --path /events/t1 [--path ...] \\
        --connections 1000 [--token TOKEN]

Opens the connections with plain asyncio streams (HTTP/1.1 GET, chunked body read by hand),
prints `ready {"connected": n, "errors": n}` once each has its first chunk or failed, records
when every `data:` line arrives, and on a line on stdin (or EOF) prints one JSON document:
{"connected", "held", "errors", "received": {event_id: [unix times]}}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

OPENING = 200  # connections being opened at once, below uvicorn's listen backlog


@dataclass
class Tally:
    connected: int = 0
    held: int = 0
    errors: int = 0
    received: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def request_bytes(host: str, path: str, token: str | None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n{auth}\r\n"
    return head.encode()


def data_ids(chunk: bytes) -> list[int]:
    """Event ids in the `data:` lines of an SSE chunk."""
    return [
        json.loads(line[5:])["id"]
        for line in chunk.split(b"\n")
        if line.startswith(b"data:") and b'"id"' in line
    ]


async def _read_chunk(reader: asyncio.StreamReader) -> bytes:
    size = int((await reader.readline()).split(b";")[0], 16)
    if size == 0:
        raise EOFError
    return (await reader.readexactly(size + 2))[:-2]


async def _listen(url: str, token: str | None, tally: Tally, opening: asyncio.Semaphore) -> None:
    parts = urlsplit(url)
    try:
        async with opening, asyncio.timeout(30):  # TimeoutError is an OSError
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            writer.write(request_bytes(parts.netloc, parts.path or "/", token))
            status = await reader.readline()
            if b" 200 " not in status:
                raise ConnectionError(status.decode(errors="replace").strip())
            while (await reader.readline()) not in (b"\r\n", b""):
                pass  # headers
            await _read_chunk(reader)  # `retry:`: the server has subscribed us
        tally.connected += 1
        tally.held += 1
    except (OSError, EOFError, ValueError, asyncio.IncompleteReadError):
        tally.errors += 1
        return
    try:
        while True:
            chunk = await _read_chunk(reader)
            now = time.time()
            for event_id in data_ids(chunk):
                tally.received[event_id].append(now)
    except (OSError, EOFError, ValueError, asyncio.IncompleteReadError):
        tally.held -= 1
        tally.errors += 1
    finally:
        writer.close()


async def run(urls: list[str], connections: int, token: str | None) -> Tally:
    tally = Tally()
    opening = asyncio.Semaphore(OPENING)
    tasks = [
        asyncio.create_task(_listen(urls[n % len(urls)], token, tally, opening))
        for n in range(connections)
    ]
    while tally.connected + tally.errors < connections:  # noqa: ASYNC110 - a bench, not a server
        await asyncio.sleep(0.05)
    print("ready " + json.dumps({"connected": tally.connected, "errors": tally.errors}))
    sys.stdout.flush()
    await asyncio.to_thread(sys.stdin.readline)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.sse_load")
    parser.add_argument("--base", required=True)
    parser.add_argument("--path", action="append", required=True, help="repeat: round robin")
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--token")
    args = parser.parse_args(argv)
    raise_fd_limit()
    urls = [args.base + path for path in args.path]
    tally = asyncio.run(run(urls, args.connections, args.token))
    report = {
        "connected": tally.connected,
        "held": tally.held,
        "errors": tally.errors,
        "received": tally.received,
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
