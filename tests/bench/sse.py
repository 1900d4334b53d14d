"""Live updates under load: N listeners on loopback, events committed at a steady rate, and
the delay from commit to the `data:` line arriving, for growing N.

The listeners live in another process (tests.bench.sse_load) so that they do not share a
CPU budget or an event loop with the emitter; both use time.time() on one machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relay import events
from relay.db import create_engine, sessionmaker
from relay.hub import EventHub
from relay.migrate import upgrade
from relay.models import Event
from relay.web.sse import sse_response
from tests.bench.core import RssSampler, Stack, client, log, mb, running, shutdown
from tests.bench.sse_load import raise_fd_limit
from tests.support.server import ROOT, Process, free_port

# The one line to change once the route is wired: None serves `minimal_app` instead.
ROUTE: str | None = "/api/threads/{thread_id}/events"
MINIMAL_ROUTE = "/events/{thread_id}"
STEPS = (250, 500, 1000, 1500, 2000)
GRACE_SECONDS = 1.5  # after the last emit, for late deliveries


def minimal_app() -> Starlette:
    """`uvicorn --factory tests.bench.sse:minimal_app`: sse_response alone, no auth."""
    url = os.environ["RELAY_DATABASE_URL"]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, EventHub]]:
        engine = create_engine(url)
        hub = EventHub(engine)
        await hub.start()
        yield {"hub": hub}
        await hub.stop()
        await engine.dispose()

    async def stream(request: Request) -> Response:
        thread_ids = {request.path_params["thread_id"]}
        return await sse_response(request, request.state.hub, thread_ids, still_allowed=_yes)

    return Starlette(routes=[Route(MINIMAL_ROUTE, stream)], lifespan=lifespan)


async def _yes() -> bool:
    return True


@dataclass(frozen=True)
class Plan:
    rate: float = 5.0  # events committed per second
    seconds: float = 6.0  # of emitting per step
    threads: int = 1  # listeners and events spread round robin; 1: everyone hears everything


@dataclass
class Target:
    base: str
    paths: list[str]  # one per thread
    thread_ids: list[str]
    token: str | None
    pid: int


@contextlib.contextmanager
def sse_server(stack: Stack, tmp: Path, threads: int) -> Iterator[Target]:
    """`relay serve` with the real route, or the minimal app, on the stack's database."""
    if ROUTE is not None:
        # Every listener comes from 127.0.0.1: lift the per-address limit of streams.
        log_path = tmp / f"sse-{stack.name}.log"
        with running(stack, log_path, RELAY_STREAMS_PER_CLIENT="100000") as (process, base):
            with client(base, stack.token) as http:
                ids = [_new_thread(http) for _ in range(threads)]
            assert process.proc is not None
            paths = [ROUTE.format(thread_id=id_) for id_ in ids]
            yield Target(base, paths, ids, stack.token, process.proc.pid)
        return
    asyncio.run(_migrate(stack.env["RELAY_DATABASE_URL"]))
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "--factory", "tests.bench.sse:minimal_app"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = Process(argv, stack.env, tmp / f"sse-minimal-{stack.name}.log").start()
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_listening(process, port)
        ids = [f"bench-{n}" for n in range(threads)]
        paths = [MINIMAL_ROUTE.format(thread_id=id_) for id_ in ids]
        assert process.proc is not None
        yield Target(base, paths, ids, None, process.proc.pid)
    finally:
        shutdown(process)


def _new_thread(http: httpx.Client) -> str:
    response = http.post("/api/messages", json={"kind": "text", "body": "hi"})
    response.raise_for_status()
    return response.json()["thread_id"]


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()


def _wait_listening(process: Process, port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.proc is not None
        if process.proc.poll() is not None:
            raise RuntimeError(f"SSE server exited:\n{process.tail()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"SSE server did not listen:\n{process.tail()}")


# Emitting ----------------------------------------------------------------------------------


async def emit_steadily(url: str, thread_ids: list[str], rate: float, seconds: float) -> dict:
    """Commit events at random (Poisson) times, `rate` a second on average, round robin over
    the threads; per event id, its thread and the time its commit returned. Random times
    keep the emitter from falling into step with the 0.2 s poller, which would flatter it."""
    engine = create_engine(url)
    sessions = sessionmaker(engine)
    commits: dict[int, tuple[str, float]] = {}
    chance = random.Random(7)
    at = time.monotonic()
    try:
        for n in range(int(rate * seconds)):
            at += chance.expovariate(rate)
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            thread_id = thread_ids[n % len(thread_ids)]
            async with sessions.begin() as session:
                events.emit(session, thread_id, "message")
                row = next(row for row in session.new if isinstance(row, Event))
            commits[row.id] = (thread_id, time.time())
    finally:
        await engine.dispose()
    return commits


# One step ----------------------------------------------------------------------------------


def _generator(target: Target, connections: int, log_path: Path) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "tests.bench.sse_load", "--base", target.base]
    argv += ["--connections", str(connections)]
    for path in target.paths:
        argv += ["--path", path]
    if target.token:
        argv += ["--token", target.token]
    return subprocess.Popen(
        argv,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log_path.open("ab"),
        text=True,
    )


def latencies(commits: dict[int, tuple[str, float]], received: dict[str, list[float]]) -> list:
    """Seconds from commit to arrival, one per delivery (JSON keys are strings)."""
    return [
        arrived - committed
        for event_id, (_, committed) in commits.items()
        for arrived in received.get(str(event_id), [])
    ]


def percentile(values: list[float], q: int) -> float | None:
    if len(values) < 2:
        return values[0] if values else None
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def step(target: Target, url: str, connections: int, plan: Plan, tmp: Path) -> dict:
    generator = _generator(target, connections, tmp / "sse-load.log")
    assert generator.stdin is not None and generator.stdout is not None
    try:
        ready = generator.stdout.readline()
        if not ready.startswith("ready "):
            raise RuntimeError(f"load generator: {ready!r}")
        with RssSampler(target.pid) as rss:
            commits = asyncio.run(emit_steadily(url, target.thread_ids, plan.rate, plan.seconds))
            time.sleep(GRACE_SECONDS)
        generator.stdin.write("stop\n")
        generator.stdin.flush()
        tally = json.loads(generator.stdout.readline())
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            generator.wait(timeout=30)
        if generator.poll() is None:
            generator.kill()
            generator.wait()
    delays = latencies(commits, tally["received"])
    # Listeners are spread round robin over the threads, as are the events.
    per_thread = [len(range(i, connections, len(target.paths))) for i in range(len(target.paths))]
    expected = sum(per_thread[target.thread_ids.index(t)] for t, _ in commits.values())
    return {
        "connections": connections,
        "connected": tally["connected"],
        "held": tally["held"],
        "errors": tally["errors"],
        "events": len(commits),
        "deliveries": len(delays),
        "deliveries_expected": expected,
        "p50_ms": _ms(percentile(delays, 50)),
        "p95_ms": _ms(percentile(delays, 95)),
        "max_ms": _ms(max(delays, default=None)),
        "relay_rss_peak_mb": mb(rss.peak),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def healthy(result: dict) -> bool:
    """Every listener held on and got every event, 95% of them within a second."""
    return (
        result["held"] == result["connections"]
        and result["deliveries"] >= result["deliveries_expected"]
        and result["p95_ms"] is not None
        and result["p95_ms"] < 1000
    )


def measure(
    stack: Stack, tmp: Path, *, steps: tuple[int, ...] = STEPS, plan: Plan = Plan()
) -> dict[str, object]:
    """Step the number of listeners up; stops after the first step that is not healthy."""
    raise_fd_limit()  # relay serve inherits it
    url = stack.env["RELAY_DATABASE_URL"]
    results = []
    with sse_server(stack, tmp, plan.threads) as target:
        for connections in steps:
            log(f"sse: {connections} listeners, {plan}")
            results.append(step(target, url, connections, plan, tmp))
            log(f"sse: {json.dumps(results[-1])}")
            if not healthy(results[-1]):
                break
    passing = [r["connections"] for r in results if healthy(r)]
    return {
        "stack": stack.name,
        "server": "relay serve" if ROUTE else "minimal uvicorn app with relay.sse_response",
        "threads": plan.threads,
        "events_per_second": plan.rate,
        "seconds_per_step": plan.seconds,
        "poll_seconds": 0.2,
        "steps": results,
        "max_listeners_p95_under_1s": max(passing, default=0),
    }


def main() -> int:
    import tempfile

    from tests.bench.core import embedded_stack

    with tempfile.TemporaryDirectory(prefix="relay-bench-sse-") as name:
        tmp = Path(name)
        with embedded_stack(tmp / "embedded") as stack:
            report = measure(stack, tmp)
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
