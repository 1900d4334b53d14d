"""tus upload throughput and server memory, next to a bare loopback copy of the same file."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from tests.bench.core import (
    MB,
    RssSampler,
    Stack,
    client,
    idle_rss,
    log,
    mb,
    new_message,
    raw_put,
    running,
    upload_file,
)
from tests.support.server import ROOT

RSS_GROWTH_TARGET_MB = 150
ROUNDS = 2


def write_random_file(path: Path, size: int) -> Path:
    """Random bytes written a MiB at a time, never held in memory whole."""
    with path.open("wb") as f:
        left = size
        while left > 0:
            f.write(os.urandom(min(MB, left)))
            left -= min(MB, left)
    return path


@contextlib.contextmanager
def sink() -> Iterator[str]:
    """tests.bench.sink in its own process; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.sink"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def disk_copy_mb_s(path: Path, tmp: Path) -> float:
    """Page-cache copy of the file on the same disk: the storage half of an upload."""
    target = tmp / "disk-copy"
    try:
        best = min(_timed(lambda: shutil.copyfile(path, target)) for _ in range(ROUNDS))
    finally:
        target.unlink(missing_ok=True)
    return round(path.stat().st_size / MB / best, 1)


def measure(stack: Stack, tmp: Path, path: Path, patches: int) -> dict[str, object]:
    """ROUNDS uploads into one `relay serve` (no workers), alternating with the raw peer."""
    size = path.stat().st_size
    relay_runs: list[dict[str, float]] = []
    raw_runs: list[float] = []
    with (
        running(stack, tmp / f"serve-{stack.name}.log", RELAY_WORKERS="0") as (process, base),
        sink() as sink_base,
        client(base, stack.token) as http,
        httpx.Client(base_url=sink_base, timeout=600) as raw_http,
    ):
        assert process.proc is not None
        pid = process.proc.pid
        new_message(http)  # warm up: first request, first database session
        idle = idle_rss(pid)

        def relay_once() -> None:
            url = new_message(http)["upload_url"]
            with RssSampler(pid) as sampler:
                seconds = _timed(lambda: upload_file(http, url, path, patches))
            relay_runs.append(
                {"seconds": seconds, "peak_rss": sampler.peak, "samples": sampler.samples}
            )
            log(f"{stack.name}: relay upload {size / MB / seconds:.0f} MB/s")

        def raw_once() -> None:
            raw_runs.append(_timed(lambda: raw_put(raw_http, path, patches)))
            log(f"{stack.name}: raw loopback {size / MB / raw_runs[-1]:.0f} MB/s")

        for index in range(ROUNDS):
            order = (relay_once, raw_once) if index % 2 == 0 else (raw_once, relay_once)
            for run in order:
                run()

    relay_best = min(r["seconds"] for r in relay_runs)
    raw_best = min(raw_runs)
    peak = max(int(r["peak_rss"]) for r in relay_runs)
    growth = (peak - idle) / MB
    return {
        "stack": stack.name,
        "file_mb": mb(size),
        "patches": patches,
        "patch_mb": mb(size / patches),
        "client_piece_mb": 1,
        "client": f"httpx {httpx.__version__}, streamed generator body with Content-Length",
        "rounds": ROUNDS,
        "relay_mb_s": round(size / MB / relay_best, 1),
        "relay_mb_s_runs": [round(size / MB / r["seconds"], 1) for r in relay_runs],
        "raw_mb_s": round(size / MB / raw_best, 1),
        "raw_mb_s_runs": [round(size / MB / s, 1) for s in raw_runs],
        "raw_peer": "same httpx requests to a plain Python socket server that discards the body",
        "throughput_ratio": round(raw_best / relay_best, 3),
        "idle_rss_mb": mb(idle),
        "peak_rss_mb": mb(peak),
        "peak_rss_mb_runs": [mb(r["peak_rss"]) for r in relay_runs],
        "rss_growth_mb": round(growth, 1),
        "rss_growth_target_mb": RSS_GROWTH_TARGET_MB,
        "rss_ok": growth <= RSS_GROWTH_TARGET_MB,
        "rss_scope": "relay serve process and its children, sampled every 50 ms",
        "rss_samples_runs": [int(r["samples"]) for r in relay_runs],
    }
