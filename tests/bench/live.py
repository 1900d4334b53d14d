"""Ready at stop (issue 17): a recording uploaded as the browser recorder sends it, then the
seconds from its last byte until the message is `ready` and its transcript done; next to it,
on the same file and the same `relay serve`, today's after-the-fact upload (one PATCH of known
length) and the bare ffmpeg commands (tests.bench.ready).

The recorder's path (web/static/recorder.js, tus.js): POST /api/messages makes the message and
its tus upload of deferred length; every second MediaRecorder hands over what it recorded and
one PATCH carries it; the last one, at stop, carries Upload-Length. Here each PATCH carries the
file's bytes of one recorded second (its own bitrate), `speed` times as often as in real time.

Sources are MediaRecorder-like WebM (`-live 1`: no duration, no cues) with espeak-ng speech:
a camera, a voice and a screen recording. Lengths: RELAY_BENCH_LIVE_{CAMERA,VOICE,SCREEN}_SECONDS
(0 skips one); pace: --speed or RELAY_BENCH_LIVE_SPEED. Sides run one after another, each
once the transcript before it is done, so no timed side shares the worker with another.
"""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.bench import ready
from tests.bench.core import (
    TUS,
    RssSampler,
    Stack,
    client,
    embedded_stack,
    file_pieces,
    idle_rss,
    log,
    machine_info,
    mb,
    new_message,
    running,
)
from tests.support.speech import make_passage

ISSUE = "17: Ready at stop"
POLL_SECONDS = 0.05
DURATION_TOLERANCE = 0.1  # the issue's "within 0.1 s of the source"
TIMED = ("video", "video_360", "audio")  # renditions with a duration of the whole message
PENDING = ("pending", "running")  # a transcript not yet done


@dataclass(frozen=True)
class Recording:
    """One kind of recording: how it is made and what the issue asks of it."""

    message_kind: str  # "video" or "audio", as the recorder creates the message
    seconds: float  # the issue's length
    targets: dict[str, float]  # "ready", "transcript": seconds after the last byte
    audio_bitrate: str
    video_bitrate: str = ""
    sources: tuple[str, ...] = ()  # lavfi sources of the picture
    picture: str = ""  # filter graph from the sources to [v]


RECORDINGS = {
    # A webcam: moving picture with sensor noise, so VP8 spends its 2 Mb/s as on a camera.
    "camera": Recording(
        message_kind="video",
        seconds=120,
        targets={"ready": 2.5},
        audio_bitrate="64k",
        video_bitrate="2M",
        sources=("testsrc2=size=640x480:rate=30",),
        picture="[0:v]noise=alls=12:allf=t[v]",
    ),
    "voice": Recording(
        message_kind="audio",
        seconds=300,
        targets={"ready": 2.0, "transcript": 5.0},
        audio_bitrate=ready.VOICE_BITRATE,
    ),
    # A slide with a small moving part (a pointer, a clip playing): most frames barely change.
    "screen": Recording(
        message_kind="video",
        seconds=1800,
        targets={"ready": 5.0},
        audio_bitrate="64k",
        video_bitrate="1M",
        sources=("smptehdbars=size=1280x720:rate=30", "testsrc2=size=192x108:rate=30"),
        picture="[0:v][1:v]overlay=x='mod(t*60,W-w)':y=H-h-40[v]",
    ),
}


@dataclass(frozen=True)
class Plan:
    seconds: dict[str, float]  # recording name → length; 0 skips it
    speed: float  # 1: a PATCH a second, as the recorder; 4: four a second

    @classmethod
    def from_env(cls, environ: Mapping[str, str], speed: float | None = None) -> Plan:
        seconds = {
            name: float(environ.get(f"RELAY_BENCH_LIVE_{name.upper()}_SECONDS", r.seconds))
            for name, r in RECORDINGS.items()
        }
        if speed is None:
            speed = float(environ.get("RELAY_BENCH_LIVE_SPEED", "1"))
        if speed <= 0 or any(s < 0 for s in seconds.values()) or not any(seconds.values()):
            raise ValueError("speed must be above 0, lengths at least 0 and one of them more")
        return cls({name: s for name, s in seconds.items() if s > 0}, speed)


# Sources -----------------------------------------------------------------------------------


def make_recording(path: Path, recording: Recording, seconds: float, speech: Path) -> Path:
    """`seconds` of the recording, its sound `speech` looped, as MediaRecorder writes WebM."""
    argv = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    for source in recording.sources:
        argv += ["-f", "lavfi", "-i", source]
    argv += ["-stream_loop", "-1", "-i", str(speech), "-t", f"{seconds:.3f}"]
    if recording.sources:
        argv += ["-filter_complex", recording.picture, "-map", "[v]", "-c:v", "libvpx"]
        # A browser encodes as it records: libvpx's realtime deadline at a set bitrate.
        argv += ["-deadline", "realtime", "-cpu-used", "16", "-static-thresh", "100"]
        argv += ["-b:v", recording.video_bitrate]
    argv += ["-map", f"{len(recording.sources)}:a", "-ac", "1", "-ar", "48000"]
    argv += ["-c:a", "libopus", "-b:a", recording.audio_bitrate]
    result = subprocess.run(
        [*argv, "-live", "1", "-f", "webm", str(path)],
        capture_output=True,
        timeout=120 + 2 * seconds,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg exited {result.returncode}:\n{result.stderr[-2000:]!r}")
    return path


# The recorder's upload ---------------------------------------------------------------------


@dataclass
class Paced:
    patch_seconds: list[float] = field(default_factory=list)  # request to response, each
    late: list[float] = field(default_factory=list)  # behind the recorder's schedule, each
    last_byte: float = 0.0  # perf_counter at the last PATCH's response


def _check_deferred(http: httpx.Client, url: str) -> None:
    response = http.head(url, headers=TUS)
    if response.headers.get("Upload-Defer-Length") != "1":
        raise RuntimeError(f"{url} is not of deferred length: {dict(response.headers)}")


def paced_upload(http: httpx.Client, url: str, path: Path, seconds: float, speed: float) -> Paced:
    """One PATCH per recorded second, sent when the recorder would have that second; the
    last, at stop, carries Upload-Length."""
    total = path.stat().st_size
    marks = [min(i, seconds) for i in range(math.ceil(seconds) + 1)]
    bounds = [round(total * mark / seconds) for mark in marks]
    paced = Paced()
    begun = time.perf_counter()
    for mark, start, stop in zip(marks[1:], bounds, bounds[1:], strict=False):
        due = begun + mark / speed
        time.sleep(max(0.0, due - time.perf_counter()))
        sent = time.perf_counter()
        paced.late.append(sent - due)
        headers = {
            **TUS,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": str(start),
            "Content-Length": str(stop - start),
        }
        if stop == total:
            headers["Upload-Length"] = str(total)
        response = http.patch(url, content=file_pieces(path, start, stop), headers=headers)
        paced.last_byte = time.perf_counter()
        paced.patch_seconds.append(paced.last_byte - sent)
        if response.status_code != 204 or int(response.headers["Upload-Offset"]) != stop:
            raise RuntimeError(f"PATCH {start}-{stop}: {response.status_code} {response.text}")
    return paced


@dataclass(frozen=True)
class Watched:
    ready: float  # seconds after `since`
    transcribed: float
    transcript_status: str
    message: dict


def watch(http: httpx.Client, message_id: str, since: float, timeout: float) -> Watched:
    """Poll the message until it is ready and its transcript neither pending nor running."""
    ready_at: float | None = None
    while time.perf_counter() < since + timeout:
        body = http.get(f"/api/messages/{message_id}").json()
        now = time.perf_counter() - since
        if body["status"] == "failed":
            raise RuntimeError(f"message failed: {body.get('error')}")
        if ready_at is None and body["status"] == "ready":
            ready_at = now
        transcript = body["transcript"]
        if ready_at is not None and transcript and transcript["status"] not in PENDING:
            return Watched(ready_at, now, transcript["status"], body)
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"message {message_id} not ready and transcribed after {timeout:.0f} s")


def durations(message: dict, seconds: float) -> dict[str, object]:
    found = {r["name"]: r["duration"] for r in message["renditions"] if r["name"] in TIMED}
    # No rendition with a duration: the whole length is missing.
    error = max((abs((d or 0.0) - seconds) for d in found.values()), default=seconds)
    return {
        "message_duration": message["duration"],
        "rendition_durations": found,
        "duration_error_max_seconds": round(error, 3),
        "duration_ok": error <= DURATION_TOLERANCE,
    }


# One recording, three ways -----------------------------------------------------------------


def _live(http: httpx.Client, pid: int, src: Path, name: str, plan: Plan) -> dict[str, Any]:
    recording, seconds = RECORDINGS[name], plan.seconds[name]
    message = new_message(http, kind=recording.message_kind)
    _check_deferred(http, message["upload_url"])
    with RssSampler(pid) as uploading:
        paced = paced_upload(http, message["upload_url"], src, seconds, plan.speed)
    log(f"{name}: {len(paced.late)} PATCHes, at most {max(paced.late):.3f} s behind the recorder")
    with RssSampler(pid) as after:
        seen = watch(http, message["id"], paced.last_byte, timeout=120 + 10 * seconds)
    log(f"{name}: live ready {seen.ready:.2f} s, transcript {seen.transcribed:.2f} s")
    return {
        "patches": len(paced.patch_seconds),
        "patch_seconds_median": round(statistics.median(paced.patch_seconds), 4),
        "patch_seconds_max": round(max(paced.patch_seconds), 4),
        "late_seconds_max": round(max(paced.late), 4),
        "ready_seconds": round(seen.ready, 3),
        "transcript_seconds": round(seen.transcribed, 3),
        "transcript_status": seen.transcript_status,
        **durations(seen.message, seconds),
        "peak_rss_mb_uploading": mb(uploading.peak),
        "peak_rss_mb_after": mb(after.peak),
    }


def _after_the_fact(http: httpx.Client, src: Path, name: str, seconds: float) -> dict[str, Any]:
    run = ready.relay_once(http, src, RECORDINGS[name].message_kind, timeout=120 + 10 * seconds)
    since = time.perf_counter() - run.seconds
    seen = watch(http, run.message["id"], since, timeout=120 + 10 * seconds)
    log(f"{name}: after the fact ready {run.seconds:.2f} s, transcript {seen.transcribed:.2f} s")
    return {
        "ready_seconds": round(run.seconds, 3),
        "transcript_seconds": round(seen.transcribed, 3),
        "transcript_status": seen.transcript_status,
        **durations(seen.message, seconds),
    }


def measure(
    http: httpx.Client, pid: int, tmp: Path, src: Path, name: str, plan: Plan
) -> dict[str, object]:
    recording, seconds = RECORDINGS[name], plan.seconds[name]
    source = ready.probe_source(src, seconds)
    load = {"live": _load()}
    live = _live(http, pid, src, name, plan)
    load["after_the_fact"] = _load()
    after = _after_the_fact(http, src, name, seconds)
    load["bare_ffmpeg"] = _load()
    bare = ready.bare_once(source, tmp / f"bare-{name}")
    log(f"{name}: bare ffmpeg {bare.seconds:.2f} s")
    targets = {
        what: {
            "seconds": live[f"{what}_seconds"],
            "target_seconds": limit,
            "met": live[f"{what}_seconds"] <= limit,
        }
        for what, limit in recording.targets.items()
    }
    return {
        "source": source.describe(),
        "seconds": seconds,
        "kbit_s": round(src.stat().st_size * 8 / seconds / 1000),
        "at_issue_length": seconds == recording.seconds,
        "live": live,
        "after_the_fact": after,
        "bare_ffmpeg_seconds": round(bare.seconds, 3),
        "bare_ffmpeg_seconds_by_command": {k: round(s, 3) for k, s in bare.by_command.items()},
        "live_over_after_the_fact": round(live["ready_seconds"] / after["ready_seconds"], 3),
        "live_over_bare_ffmpeg": round(live["ready_seconds"] / bare.seconds, 3),
        "live_over_after_the_fact_transcript": round(
            live["transcript_seconds"] / after["transcript_seconds"], 3
        ),
        "targets": targets,
        # Other work on the machine slows every side: the load as each side began.
        "loadavg_1min_before": load,
    }


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _warm_up(http: httpx.Client, tmp: Path) -> None:
    """A short voice message through to its transcript, untimed: the first transcription
    joins and loads the Whisper model, which no timed side should pay for."""
    voice = ready.make_voice(tmp / "warm-up.ogg", 5)
    run = ready.relay_once(http, voice, "audio", timeout=120)
    seen = watch(http, run.message["id"], time.perf_counter(), timeout=300)
    log(f"warm-up transcript {seen.transcript_status} after {seen.transcribed:.1f} s")


def run(plan: Plan) -> dict[str, object]:
    started = time.perf_counter()
    report: dict[str, Any] = {
        "benchmark": "relay: ready at stop, a recording uploaded as the recorder sends it",
        "issue": ISSUE,
        "units": "MB = 2**20 bytes; seconds are wall-clock, after the last PATCH's response",
        "machine": machine_info(),
        "speed": plan.speed,
        "poll_seconds": POLL_SECONDS,
        "relay": "one `relay serve`, embedded default: SQLite, local media, its workers inside",
        "sides": {
            "live": "POST /api/messages (deferred length), one PATCH per recorded second at "
            "the file's own bitrate, divided by speed; the last carries Upload-Length",
            "after_the_fact": "the same file as the pages send a chosen file: an upload of "
            "known length, one PATCH (tests.bench.ready.relay_once)",
            "bare_ffmpeg": "the pipeline's outputs by plain ffmpeg commands in a row "
            "(tests.bench.ready.bare_once)",
        },
    }
    with tempfile.TemporaryDirectory(prefix="relay-bench-live-") as name:
        tmp = Path(name)
        sources, report["make_seconds"] = _make_sources(tmp, plan)
        with embedded_stack(tmp / "stack") as stack:
            report |= _against(stack, tmp, sources, plan)
    targets = [t["met"] for r in report["recordings"].values() for t in r["targets"].values()]
    report["targets_met"] = all(targets)
    report["loadavg_at_end"] = [round(n, 2) for n in os.getloadavg()]
    report["bench_seconds"] = round(time.perf_counter() - started, 1)
    return report


def _make_sources(tmp: Path, plan: Plan) -> tuple[dict[str, Path], dict[str, float]]:
    """Each recording of the plan, made once for all three sides; and how long each took."""
    speech = make_passage(tmp / "speech.wav", ready.VOICE_SENTENCES, pause=ready.VOICE_PAUSE)
    sources, made = {}, {}
    for which, seconds in plan.seconds.items():
        begun = time.perf_counter()
        sources[which] = make_recording(tmp / f"{which}.webm", RECORDINGS[which], seconds, speech)
        made[which] = round(time.perf_counter() - begun, 1)
        log(f"made the {seconds:g} s {which} recording in {made[which]} s")
    return sources, made


def _against(stack: Stack, tmp: Path, sources: dict[str, Path], plan: Plan) -> dict[str, object]:
    with (
        running(stack, tmp / "serve.log") as (process, base),
        client(base, stack.token) as http,
    ):
        assert process.proc is not None
        _warm_up(http, tmp)
        idle = idle_rss(process.proc.pid)
        recordings = {
            which: measure(http, process.proc.pid, tmp, src, which, plan)
            for which, src in sources.items()
        }
    settings = {k: v for k, v in stack.env.items() if k.startswith(("RELAY_JOB", "RELAY_WORK"))}
    return {"relay_env": settings, "idle_rss_mb": mb(idle), "recordings": recordings}
