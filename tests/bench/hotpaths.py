"""Hot paths under load: wrk (2 threads, 32 connections) against one `relay serve` on the
embedded default, next to /healthz and to nginx serving the same file; tus ingest next to
@tus/server on the same file and client. `python -m tests.bench hotpaths`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from relay import keys
from relay.db import create_engine, sessionmaker
from relay.models import Rendition
from relay.settings import Settings
from relay.storage import open_storage
from tests.bench.core import (
    MB,
    RssSampler,
    Stack,
    client,
    embedded_stack,
    idle_rss,
    log,
    machine_info,
    mb,
    new_message,
    scaled_stack,
    shutdown,
    upload_file,
)
from tests.bench.upload import write_random_file
from tests.support.server import ROOT, front_conf, nginx, serve

SECONDS = 4
THREADS, CONNECTIONS = 2, 32
THREAD_MESSAGES = 20
MEDIA_BYTES = 8 * MB
RANGE = "bytes=1048576-1114111"  # 64 KiB
UPLOAD_MB, PATCHES, ROUNDS = 200, 4, 3
ACCEL = "/internal-media/"
TUS_NODE = ROOT / "tests" / "bench" / "tus_node"
# wrk's summary as one JSON line, so nothing depends on its human-readable layout.
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %d, "seconds": %.3f, "non_2xx_3xx": %d, '
    .. '"socket_errors": %d, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f}\\n',
    summary.requests, summary.duration / 1e6, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def _wrk_argv(
    url: str, script: Path, headers: dict[str, str] | None, threads: int, connections: int
) -> list[str]:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{SECONDS}s", "-s", str(script)]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    return [*argv, url]


def _wrk_result(url: str, stdout: str) -> dict[str, float]:
    result = json.loads(next(x for x in stdout.splitlines() if x.startswith("{")))
    result["req_s"] = round(result["requests"] / result["seconds"], 1)
    result["loadavg_1m"] = round(os.getloadavg()[0], 2)
    log(f"{url}: {result['req_s']} req/s, p95 {result['p95_ms']} ms")
    return result


def wrk(url: str, script: Path, headers: dict[str, str] | None = None) -> dict[str, float]:
    argv = _wrk_argv(url, script, headers, THREADS, CONNECTIONS)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    return _wrk_result(url, out.stdout)


def reads_beside_writes(
    me_url: str, listen_url: str, script: Path, writes: Path, bearer: dict[str, str]
) -> dict[str, dict[str, float]]:
    """/api/me from 16 connections while 16 others PUT listening positions without pause."""
    half = CONNECTIONS // 2
    procs = [
        subprocess.Popen(_wrk_argv(url, lua, bearer, 1, half), stdout=subprocess.PIPE, text=True)
        for url, lua in ((me_url, script), (listen_url, writes))
    ]
    outs = [proc.communicate(timeout=60)[0] for proc in procs]
    return {
        "api_me": _wrk_result(me_url, outs[0]),
        "listen_writes": _wrk_result(listen_url, outs[1]),
    }


# Every request a write: a listening position, stored as the furthest point reached.
WRK_LISTEN = """
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"position": 0, "heard": false}'
"""


def _thread(http: httpx.Client) -> str:
    first = http.post("/api/messages", json={"kind": "text", "body": "Kick-off"}).json()
    parent = first["id"]
    for index in range(1, THREAD_MESSAGES):
        body = {"kind": "text", "body": f"Reply {index}: " + "words " * 20, "parent_id": parent}
        response = http.post("/api/messages", json=body)
        response.raise_for_status()
        parent = response.json()["id"]
    return first["thread_id"]


def _media(http: httpx.Client, stack: Stack, tmp: Path, data: bytes) -> tuple[str, str]:
    """A message with an 8 MB video rendition put straight into the stack's store and database."""
    message_id = new_message(http, "video")["id"]
    key = keys.rendition(message_id, "video.mp4")
    path = tmp / "rendition.mp4"
    path.write_bytes(data)
    asyncio.run(_store_rendition(Settings.from_env(stack.env), message_id, key, path))
    path.unlink()
    return message_id, key


async def _store_rendition(settings: Settings, message_id: str, key: str, path: Path) -> None:
    await open_storage(settings).put_file(key, path, "video/mp4")
    engine = create_engine(settings.database_url)
    try:
        async with sessionmaker(engine).begin() as session:
            size = path.stat().st_size
            rendition = Rendition(
                message_id=message_id, name="video", storage_key=key, mime="video/mp4", bytes=size
            )
            session.add(rendition)
    finally:
        await engine.dispose()


@contextlib.contextmanager
def tus_node(tmp: Path) -> Iterator[str]:
    """@tus/server with its file store, installed from tests/bench/tus_node/package.json."""
    if not (TUS_NODE / "node_modules" / "@tus" / "server").is_dir():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=TUS_NODE, check=True)
    store = tmp / "tus-node-files"
    store.mkdir()
    proc = subprocess.Popen(
        ["node", "server.mjs", str(store)],
        cwd=TUS_NODE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        yield f"http://127.0.0.1:{int(proc.stdout.readline())}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _upload_node(http: httpx.Client, path: Path) -> float:
    created = http.post("/files", headers={"Tus-Resumable": "1.0.0", "Upload-Defer-Length": "1"})
    assert created.status_code == 201, created.text
    began = time.perf_counter()
    upload_file(http, created.headers["Location"], path, PATCHES)
    return time.perf_counter() - began


def _upload_relay(http: httpx.Client, path: Path) -> float:
    url = new_message(http)["upload_url"]
    began = time.perf_counter()
    upload_file(http, url, path, PATCHES)
    return time.perf_counter() - began


def ingest(stack: Stack, tmp: Path) -> dict[str, object]:
    path = write_random_file(tmp / "upload.bin", UPLOAD_MB * MB)
    relay_s: list[float] = []
    node_s: list[float] = []
    with (
        tus_node(tmp) as node_base,
        httpx.Client(base_url=node_base, timeout=600) as node_http,
    ):
        process, base = serve(stack.env, tmp / "serve-ingest.log", RELAY_WORKERS="0")
        try:
            with client(base, stack.token) as http:
                new_message(http)  # warm up
                assert process.proc is not None
                idle = idle_rss(process.proc.pid)
                with RssSampler(process.proc.pid) as sampler:
                    for index in range(ROUNDS):
                        runs = [("relay", http), ("node", node_http)]
                        for name, h in runs if index % 2 == 0 else runs[::-1]:
                            runs_s = relay_s if name == "relay" else node_s
                            upload = _upload_relay if name == "relay" else _upload_node
                            runs_s.append(upload(h, path))
                            log(f"tus {name}: {UPLOAD_MB / runs_s[-1]:.0f} MB/s")
        finally:
            shutdown(process)
    path.unlink()
    best_relay, best_node = min(relay_s), min(node_s)
    return {
        "file_mb": UPLOAD_MB,
        "patches": PATCHES,
        "client": f"httpx {httpx.__version__}, 1 MiB pieces, streamed with Content-Length",
        "relay_mb_s_runs": [round(UPLOAD_MB / s, 1) for s in relay_s],
        "tus_node_mb_s_runs": [round(UPLOAD_MB / s, 1) for s in node_s],
        "tus_node": "@tus/server 2.4.5 + @tus/file-store, node " + _node_version(),
        "ratio_vs_tus_node": round(best_node / best_relay, 3),
        "relay_rss_growth_mb": round((sampler.peak - idle) / MB, 1),
        "relay_peak_rss_mb": mb(sampler.peak),
    }


def _node_version() -> str:
    return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()


@dataclass
class _Scripts:
    report: Path  # wrk's summary as JSON
    writes: Path  # the same, with every request a listening position stored


def _relay_alone(stack: Stack, tmp: Path, data: bytes, lua: _Scripts) -> dict[str, object]:
    """wrk against one `relay serve` on the stack: /healthz, /api/me, a thread, a media
    request (a 64 KiB range of a local file, or the redirect to a presigned S3 URL), and
    /api/me beside listening writes."""
    bearer = {"Authorization": f"Bearer {stack.token}"}
    ranged = {**bearer, "Range": RANGE}
    on_s3 = stack.name == "scaled"
    process, base = serve(stack.env, tmp / f"serve-{stack.name}.log", RELAY_WORKERS="0")
    try:
        with client(base, stack.token) as http:
            thread_id = _thread(http)
            listened = new_message(http, "video")["id"]
            message_id, key = _media(http, stack, tmp, data)
            media = f"/media/{message_id}/video"
            answer = http.get(media, headers=ranged, follow_redirects=False)
            assert answer.status_code == (302 if on_s3 else 206), answer.status_code
        media_name = "media_redirect_relay" if on_s3 else "media_range_relay"
        results = {
            "healthz": wrk(f"{base}/healthz", lua.report),
            "api_me": wrk(f"{base}/api/me", lua.report, bearer),
            "thread_json": wrk(f"{base}/api/threads/{thread_id}", lua.report, bearer),
            media_name: wrk(f"{base}{media}", lua.report, ranged),
        }
        beside = reads_beside_writes(
            f"{base}/api/me",
            f"{base}/api/messages/{listened}/listen",
            lua.report,
            lua.writes,
            bearer,
        )
    finally:
        shutdown(process)
    return {"requests": results, "reads_beside_writes": beside, "media": (message_id, key)}


def _through_nginx(
    stack: Stack, tmp: Path, data: bytes, media: tuple[str, str], lua: _Scripts
) -> dict[str, dict[str, float]]:
    """The media range through infra/nginx.conf, next to nginx sending the file directly."""
    message_id, key = media
    bearer = {"Authorization": f"Bearer {stack.token}"}
    ranged = {**bearer, "Range": RANGE}
    media_dir = Path(stack.env["RELAY_DATA_DIR"]) / "media"
    process, base = serve(
        stack.env, tmp / "serve-accel.log", RELAY_WORKERS="0", RELAY_ACCEL_REDIRECT=ACCEL
    )
    # The relay's kept answers in memory, as in /run where infra/nginx.conf has them.
    kept = Path(tempfile.mkdtemp(prefix="relay-kept-", dir="/dev/shm"))
    try:
        direct = f"        location /direct/ {{ alias {media_dir}/; }}"
        conf, port = front_conf(tmp, [int(base.rsplit(":", 1)[1])], media_dir, direct, kept)
        with nginx(conf, tmp):
            url = f"http://127.0.0.1:{port}/media/{message_id}/video"
            check = httpx.get(url, headers=ranged)
            assert check.status_code == 206 and check.content == data[1048576:1114112]
            assert check.headers["content-type"] == "video/mp4", check.headers
            again = httpx.get(url, headers={**bearer, "If-None-Match": check.headers["etag"]})
            assert again.status_code == 304, again.status_code
            return {
                "media_range_nginx_accel": wrk(url, lua.report, ranged),
                "media_range_nginx_direct": wrk(
                    f"http://127.0.0.1:{port}/direct/{key}", lua.report, {"Range": RANGE}
                ),
            }
    finally:
        shutdown(process)
        shutil.rmtree(kept, ignore_errors=True)


def run(s3: bool = False) -> dict[str, object]:
    report: dict[str, object] = {
        "benchmark": "relay hot paths: wrk -t2 -c32 against one relay serve (embedded default)",
        "machine": machine_info(),
        "wrk": {"threads": THREADS, "connections": CONNECTIONS, "seconds": SECONDS},
    }
    with tempfile.TemporaryDirectory(prefix="relay-hot-") as name:
        tmp = Path(name)
        tmp.chmod(0o755)  # nginx's workers run as another user
        lua = _Scripts(tmp / "report.lua", tmp / "listen.lua")
        lua.report.write_text(WRK_REPORT)
        lua.writes.write_text(WRK_LISTEN + WRK_REPORT)
        data = secrets.token_bytes(MEDIA_BYTES)
        with embedded_stack(tmp / "stack") as stack:
            alone = _relay_alone(stack, tmp, data, lua)
            results = alone["requests"]
            results |= _through_nginx(stack, tmp, data, alone["media"], lua)
            report["requests"] = results
            report["ratios"] = _ratios(results)
            report["reads_beside_writes"] = alone["reads_beside_writes"]
            if shutil.which("node"):
                report["tus_ingest"] = ingest(stack, tmp)
        if s3:
            with scaled_stack(tmp / "scaled") as stack:
                scaled = _relay_alone(stack, tmp, data, lua)
            report["postgresql_s3"] = {
                "requests": scaled["requests"],
                "ratios": _ratios(scaled["requests"]),
                "reads_beside_writes": scaled["reads_beside_writes"],
            }
    report["loadavg_at_end"] = [round(n, 2) for n in os.getloadavg()]
    return report


def _ratios(r: dict[str, dict[str, float]]) -> dict[str, float]:
    def ratio(a: str, b: str) -> float:
        return round(r[a]["req_s"] / r[b]["req_s"], 4)

    ratios = {
        "api_me_vs_healthz": ratio("api_me", "healthz"),
        "thread_json_vs_healthz": ratio("thread_json", "healthz"),
    }
    if "media_range_nginx_direct" in r:
        ratios["media_relay_vs_nginx_direct"] = ratio(
            "media_range_relay", "media_range_nginx_direct"
        )
        ratios["media_accel_vs_nginx_direct"] = ratio(
            "media_range_nginx_accel", "media_range_nginx_direct"
        )
    else:
        ratios["media_redirect_vs_healthz"] = ratio("media_redirect_relay", "healthz")
    return ratios
