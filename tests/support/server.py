"""Run real `relay` processes (serve, worker, user add) for end-to-end tests and benchmarks,
or the app of a test behind uvicorn on the test's own loop."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn

from relay.settings import S3Settings

RELAY = [sys.executable, "-m", "relay.cli"]
TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = 64 * 1024
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def on_uvicorn(app: object) -> AsyncIterator[str]:
    """The app behind uvicorn on this loop, for live streams: they never end, and httpx's ASGI
    transport waits for the end of a response. Yields the base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def stream_head(
    base: str, path: str, headers: dict[str, str], method: str = "GET"
) -> httpx.Response:
    """Status, headers and the first bytes of a live stream."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        async with client.stream(method, path, headers=headers) as response:
            first = b""
            async for chunk in response.aiter_bytes():
                first = chunk
                break
            return httpx.Response(response.status_code, headers=response.headers, content=first)


def stack_env(
    data_dir: Path, database_url: str, s3: S3Settings | None, **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env |= {
        "RELAY_DATA_DIR": str(data_dir),
        "RELAY_DATABASE_URL": database_url,
        "RELAY_JOB_POLL_SECONDS": "0.2",
        "PYTHONUNBUFFERED": "1",
    }
    if s3 is not None:
        env |= {
            "RELAY_STORAGE": "s3",
            "RELAY_S3_ENDPOINT_URL": s3.endpoint_url or "",
            "RELAY_S3_BUCKET": s3.bucket,
            "RELAY_S3_ACCESS_KEY": s3.access_key or "",
            "RELAY_S3_SECRET_KEY": s3.secret_key or "",
            "RELAY_S3_REGION": s3.region,
            "RELAY_S3_PART_SIZE": str(s3.part_size),
        }
    return env | extra


def add_user(env: dict[str, str], email: str, password: str = "correct horse battery") -> str:
    """`relay user add`; returns the API token from the last line of its output."""
    return add_users(env, [email], password)[email]


# `relay user add` for each address in one process: a process and its imports cost more than
# the account itself.
_ADD_USERS = """
import sys
from relay.cli import main
for email in sys.argv[2:]:
    if main(["user", "add", "--email", email, "--password", sys.argv[1]]) != 0:
        sys.exit(1)
"""


def add_users(
    env: dict[str, str], emails: list[str], password: str = "correct horse battery"
) -> dict[str, str]:
    """`relay user add` for each address; returns their API tokens."""
    result = subprocess.run(
        [sys.executable, "-c", _ADD_USERS, password, *emails],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = result.stdout.strip().splitlines()
    tokens = [line for i, line in enumerate(lines) if i and lines[i - 1].startswith("created ")]
    assert len(tokens) == len(emails), result.stdout
    return dict(zip(emails, tokens, strict=True))


@dataclass
class Process:
    argv: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> Process:
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def serve(env: dict[str, str], log: Path, **extra: str) -> tuple[Process, str]:
    port = free_port()
    process = Process([*RELAY, "serve", "--port", str(port)], env | extra, log).start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.proc is not None
        if process.proc.poll() is not None:
            raise RuntimeError(f"relay serve exited:\n{process.tail()}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"relay serve did not become ready:\n{process.tail()}")


def worker(env: dict[str, str], log: Path, *args: str) -> Process:
    return Process([*RELAY, "worker", *args], env, log).start()


async def wait_status(client: httpx.AsyncClient, message_id: str, *, seconds: float = 90) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = (await client.get(f"/api/messages/{message_id}")).json()
        if body["status"] in ("ready", "failed"):
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"message {message_id} stayed {body['status']}")


async def upload(
    client: httpx.AsyncClient, url: str, data: bytes, start: int = 0, stop: int | None = None
) -> None:
    """PATCH data[start:stop] in CHUNK pieces; the piece that ends the data sets its length."""
    offset, stop = start, len(data) if stop is None else stop
    while offset < stop:
        chunk = data[offset : min(stop, offset + CHUNK)]
        final = {"Upload-Length": str(len(data))} if offset + len(chunk) == len(data) else {}
        headers = {
            **TUS,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": str(offset),
            **final,
        }
        response = await client.patch(url, content=chunk, headers=headers)
        assert response.status_code == 204, response.text
        offset = int(response.headers["Upload-Offset"])


def front_conf(
    tmp: Path,
    ports: list[int],
    media_dir: Path | None = None,
    extra: str = "",
    kept: Path | None = None,
) -> tuple[Path, int]:
    """infra/nginx.conf with this run's web processes, a free port, its folders in tmp (the
    relay's kept answers in `kept` when given), the media folder when given, and `extra`
    locations; with the port it listens on."""
    port = free_port()
    text = (ROOT / "infra" / "nginx.conf").read_text()
    servers = "\n        ".join(f"server 127.0.0.1:{p};" for p in ports)
    swaps = [
        ("pid /run/nginx-relay.pid;", f"pid {tmp / 'nginx.pid'};"),
        # Workers as the user who made tmp (as root, nginx would run them as nobody).
        ("worker_processes auto;", f"user {getpass.getuser()};\nworker_processes auto;"),
        ("proxy_cache_path /run/nginx-relay-media ", f"proxy_cache_path {kept or tmp / 'kept'} "),
        ("server 127.0.0.1:8000;", servers),
        ("listen 8080;", f"listen 127.0.0.1:{port};"),
        ("root /var/lib/relay/media;", f"root {media_dir or tmp / 'media'};"),
        ("        location @relay {", f"{extra}\n        location @relay {{"),
    ]
    for old, new in swaps:
        assert old in text, old
        text = text.replace(old, new)
    conf = tmp / "nginx.conf"
    conf.write_text(text)
    return conf, port


@contextlib.contextmanager
def nginx(conf: Path, tmp: Path) -> Iterator[None]:
    """nginx with this configuration, in the foreground, until the block ends."""
    temp = tmp / "nginx-temp"
    temp.mkdir(exist_ok=True)
    argv = ["nginx", "-c", str(conf), "-p", str(temp), "-g", "daemon off;"]
    proc = subprocess.Popen(argv, stderr=(tmp / "nginx.log").open("wb"), start_new_session=True)
    try:
        time.sleep(0.5)
        if proc.poll() is not None:
            raise RuntimeError((tmp / "nginx.log").read_text())
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)
