"""Upload finished → message `ready`, next to the bare ffmpeg runs that make the same outputs."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.bench.core import Stack, client, log, new_message, running, upload_file
from workers import ffmpeg
from workers.probe import parse_probe, sniff_format

RATIO_TARGET = 1.15
ROUNDS = 2
POLL_SECONDS = 0.05
# As make_renditions and MediaSettings' defaults have them.
HEIGHT = 720
THREADS = 0
MAX_SECONDS = 1800.0


def _run(argv: list[str], timeout: float) -> bytes:
    result = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        tail = result.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"{argv[0]} exited {result.returncode}:\n{tail}")
    return result.stdout


def bare_commands(src: Path, out: Path, duration: float) -> tuple[list[list[str]], float]:
    """The argv lists of make_renditions for `src` (video, then poster) and the seconds the
    probe took (which the bare timing leaves out).

    Recorder WebM has no duration to probe: `duration` is what the recording was made with
    (make_renditions measures its own MP4 for the poster time).
    """
    with src.open("rb") as f:
        fmt = sniff_format(f.read(64))
    if fmt is None:
        raise RuntimeError(f"{src} is not a recognised format")
    start = time.perf_counter()
    info = parse_probe(json.loads(_run(ffmpeg.probe_args(src, fmt), timeout=60)))
    probe_seconds = time.perf_counter() - start
    if info.video is None or info.audio is None:
        raise RuntimeError(f"{src} needs video and audio: {info}")
    video = out / "video.mp4"
    commands = [
        ffmpeg.video_args(
            src,
            fmt,
            video,
            height=HEIGHT,
            has_audio=True,
            threads=THREADS,
            max_seconds=MAX_SECONDS,
            fps=info.video.fps,
        ),
        ffmpeg.poster_args(video, out / "poster.jpg", at_seconds=min(1.0, duration / 2)),
    ]
    return commands, probe_seconds


def bare_once(commands: list[list[str]], out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    start = time.perf_counter()
    for argv in commands:
        _run(argv, timeout=600)
    return time.perf_counter() - start


def relay_once(http: httpx.Client, src: Path, timeout: float) -> float:
    """Upload in one PATCH; seconds from its response until the message reads `ready`."""
    message = new_message(http)
    upload_file(http, message["upload_url"], src, patches=1)
    done = time.perf_counter()
    deadline = done + timeout
    while time.perf_counter() < deadline:
        body = http.get(f"/api/messages/{message['id']}").json()
        if body["status"] == "ready":
            return time.perf_counter() - done
        if body["status"] == "failed":
            raise RuntimeError(f"message failed: {body.get('error')}")
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"message still {body['status']} after {timeout:.0f} s")


def measure(stack: Stack, tmp: Path, src: Path, duration: float) -> dict[str, object]:
    """ROUNDS of each side against one `relay serve` with one embedded worker; the order
    alternates (relay first, then bare first) and the faster run of each side counts."""
    out = tmp / "bare"
    commands, probe_seconds = bare_commands(src, out, duration)
    relay_runs: list[float] = []
    bare_runs: list[float] = []
    with (
        running(stack, tmp / f"serve-ready-{stack.name}.log", RELAY_WORKERS="1") as (_, base),
        client(base, stack.token) as http,
    ):
        new_message(http)  # warm up

        def relay_side() -> None:
            relay_runs.append(relay_once(http, src, timeout=120 + 10 * duration))
            log(f"{stack.name}: ready after {relay_runs[-1]:.2f} s")

        def bare_side() -> None:
            bare_runs.append(bare_once(commands, out))
            log(f"bare ffmpeg: {bare_runs[-1]:.2f} s")

        for index in range(ROUNDS):
            order: tuple[Callable[[], None], ...] = (
                (relay_side, bare_side) if index % 2 == 0 else (bare_side, relay_side)
            )
            for run in order:
                run()
    shutil.rmtree(out, ignore_errors=True)

    ready, bare = min(relay_runs), min(bare_runs)
    return {
        "stack": stack.name,
        "source": f"{src.name}: {src.stat().st_size} bytes, {duration:g} s",
        "rounds": ROUNDS,
        "poll_seconds": POLL_SECONDS,
        "relay_env": {k: v for k, v in stack.env.items() if k.startswith("RELAY_JOB")}
        | {"RELAY_WORKERS": "1"},
        "ready_seconds": round(ready, 3),
        "ready_seconds_runs": [round(s, 3) for s in relay_runs],
        "bare_ffmpeg_seconds": round(bare, 3),
        "bare_ffmpeg_seconds_runs": [round(s, 3) for s in bare_runs],
        "bare_ffmpeg_commands": [" ".join(argv) for argv in commands],
        "bare_probe_seconds_excluded": round(probe_seconds, 3),
        "ratio": round(ready / bare, 3),
        "ratio_target": RATIO_TARGET,
        "ratio_ok": ready / bare <= RATIO_TARGET,
        "ready_fraction_of_duration": round(ready / duration, 3),
    }
