"""What the benchmarks share: stacks of real `relay serve` processes, a tus client that
streams a file, an RSS sampler, and machine information."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from relay.settings import MiB, S3Settings
from tests.support.server import ROOT, Process, add_user, serve, stack_env

MB = MiB  # every "MB" in the report is 2**20 bytes
PIECE = MiB  # the client reads the file in pieces of this size
TUS = {"Tus-Resumable": "1.0.0"}
SWIFT_SCRIPT = ROOT / "infra" / "swift.sh"


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def machine_info() -> dict[str, object]:
    ffmpeg = subprocess.run(
        ["ffmpeg", "-version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.splitlines()[0]

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=ROOT, timeout=30
        ).stdout.strip()

    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)),
        "memory_mb": round(psutil.virtual_memory().total / MB),
        # Other processes on the machine compete with both sides of every comparison.
        "loadavg_at_start": [round(n, 2) for n in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "ffmpeg": ffmpeg,
        "git_head": git("rev-parse", "--short", "HEAD") or None,
        # Other work in progress is measured too.
        "git_uncommitted_files": len(git("status", "--porcelain").splitlines()),
    }


# Stacks ------------------------------------------------------------------------------------


@dataclass
class Stack:
    name: str  # "embedded" or "scaled"
    env: dict[str, str]
    token: str


@contextlib.contextmanager
def embedded_stack(tmp: Path) -> Iterator[Stack]:
    """SQLite file + local media folder: the `relay serve` default."""
    env = stack_env(tmp / "var", f"sqlite+aiosqlite:///{tmp / 'relay.db'}", None)
    yield Stack("embedded", env, add_user(env, "bench@example.org"))


@contextlib.contextmanager
def scaled_stack(tmp: Path) -> Iterator[Stack]:
    """PostgreSQL + Swift through s3api, with a database and a bucket of its own."""
    # conftest and tests.support.storage import pytest: only the --s3 run pays for that.
    from tests.conftest import create_pg_database, drop_pg_database
    from tests.support.storage import _remove_bucket

    result = subprocess.run(
        [str(SWIFT_SCRIPT), "start"], capture_output=True, text=True, timeout=180
    )
    if result.returncode != 0:
        raise RuntimeError(f"infra/swift.sh start failed:\n{result.stdout}\n{result.stderr}")
    s3 = S3Settings(
        bucket=f"relay-bench-{secrets.token_hex(4)}",
        endpoint_url=f"http://127.0.0.1:{os.environ.get('RELAY_SWIFT_PORT', '18080')}",
        region="us-east-1",
        access_key="test:tester",
        secret_key="testing",
        addressing="path",
        part_size=5 * MiB,
    )
    url = asyncio.run(create_pg_database())
    try:
        env = stack_env(tmp / "var", url, s3)
        yield Stack("scaled", env, add_user(env, "bench@example.org"))
    finally:
        _remove_bucket(s3)
        asyncio.run(drop_pg_database(url))


@contextlib.contextmanager
def running(stack: Stack, log_path: Path, **extra: str) -> Iterator[tuple[Process, str]]:
    """`relay serve` on a free port; stopped, and its whole process group killed, at exit."""
    process, base = serve(stack.env, log_path, **extra)
    try:
        yield process, base
    finally:
        shutdown(process)


def shutdown(process: Process) -> None:
    process.stop()
    # ffmpeg children of an embedded worker may outlive a stopped server.
    if process.proc is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.proc.pid, signal.SIGKILL)


# tus client --------------------------------------------------------------------------------


def client(base: str, token: str) -> httpx.Client:
    timeout = httpx.Timeout(60.0, read=600.0)
    return httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
    )


def new_message(http: httpx.Client, kind: str = "video") -> dict:
    response = http.post("/api/messages", json={"kind": kind, "title": "bench"})
    response.raise_for_status()
    return response.json()


def file_message(http: httpx.Client, path: Path, kind: str = "video") -> tuple[dict, str]:
    """A message whose media comes as a file of known length, as the pages send a chosen file
    (web/static/recorder.js): the message, its streaming upload deleted, and an upload of the
    file's length; the message and that upload's URL. Its work starts after the last byte."""
    message = new_message(http, kind=kind)
    http.delete(message["upload_url"], headers=TUS).raise_for_status()
    meta = base64.b64encode(message["id"].encode()).decode()
    created = http.post(
        "/api/uploads/",
        headers={
            **TUS,
            "Upload-Length": str(path.stat().st_size),
            "Upload-Metadata": f"message {meta}",
        },
    )
    created.raise_for_status()
    return message, created.headers["Location"]


def file_pieces(path: Path, start: int, stop: int) -> Iterator[bytes]:
    """Bytes [start, stop) of the file, read in PIECE-sized pieces as they are sent."""
    with path.open("rb") as f:
        f.seek(start)
        remaining = stop - start
        while remaining > 0:
            piece = f.read(min(PIECE, remaining))
            if not piece:
                raise RuntimeError(f"{path} ended {remaining} bytes early")
            remaining -= len(piece)
            yield piece


def upload_file(
    http: httpx.Client, url: str, path: Path, patches: int, *, deferred: bool = True
) -> None:
    """The whole file in `patches` streamed PATCHes; the first one declares Upload-Length
    when the upload's length was `deferred`."""
    total = path.stat().st_size
    bounds = [total * i // patches for i in range(patches + 1)]
    for index, (start, stop) in enumerate(zip(bounds, bounds[1:], strict=False)):
        headers = {
            **TUS,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": str(start),
            # An explicit length keeps httpx from sending the generator chunked.
            "Content-Length": str(stop - start),
        }
        if index == 0 and deferred:
            headers["Upload-Length"] = str(total)
        response = http.patch(url, content=file_pieces(path, start, stop), headers=headers)
        if response.status_code != 204 or int(response.headers["Upload-Offset"]) != stop:
            raise RuntimeError(f"PATCH {start}-{stop}: {response.status_code} {response.text}")


def raw_put(http: httpx.Client, path: Path, patches: int) -> None:
    """The same requests as upload_file, to a sink that discards them."""
    total = path.stat().st_size
    bounds = [total * i // patches for i in range(patches + 1)]
    for start, stop in zip(bounds, bounds[1:], strict=False):
        headers = {"Content-Length": str(stop - start)}
        response = http.put("/sink", content=file_pieces(path, start, stop), headers=headers)
        if response.status_code != 204:
            raise RuntimeError(f"sink answered {response.status_code}")


# Memory ------------------------------------------------------------------------------------


def tree_rss(pid: int) -> int:
    """RSS in bytes of a process and all its descendants."""
    root = psutil.Process(pid)
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += proc.memory_info().rss
    return total


def idle_rss(pid: int, samples: int = 5, interval: float = 0.05) -> int:
    readings = []
    for _ in range(samples):
        readings.append(tree_rss(pid))
        time.sleep(interval)
    return int(statistics.median(readings))


class RssSampler:
    """Peak tree RSS of a process, sampled every `interval` seconds on a thread."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.NoSuchProcess):
                self.peak = max(self.peak, tree_rss(self.pid))
                self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(psutil.NoSuchProcess):
            self.peak = max(self.peak, tree_rss(self.pid))


def mb(n: float) -> float:
    return round(n / MB, 1)
