"""`python -m tests.bench [--quick] [--s3]`, `python -m tests.bench hotpaths` or
`python -m tests.bench live [--speed N]`: one JSON document on stdout."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from tests.bench import hotpaths, live, ready, sse, threads, transcription, upload
from tests.bench.core import MB, embedded_stack, log, machine_info, scaled_stack
from tests.support.media import make_webm

FULL = {"upload_mb": 200, "patches": 4, "video_seconds": 60, "voice_seconds": 60}
QUICK = {"upload_mb": 20, "patches": 4, "video_seconds": 10, "voice_seconds": 10}
VIDEO_SIZE = "640x480"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument(
        "suite",
        nargs="?",
        choices=["all", "hotpaths", "live"],
        default="all",
        help="hotpaths: wrk against /healthz, /api/me, a thread, media ranges; tus ingest. "
        "live: ready at stop after an upload paced as the recorder sends it",
    )
    parser.add_argument("--quick", action="store_true", help="20 MB upload, 10 s video and voice")
    parser.add_argument(
        "--s3", action="store_true", help="also on PostgreSQL + Swift (hotpaths: the wrk part)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        help="live: PATCH this many times faster than real time (default: "
        "RELAY_BENCH_LIVE_SPEED, else 1)",
    )
    return parser


def run(quick: bool, s3: bool) -> dict[str, object]:
    plan = QUICK if quick else FULL
    started = time.perf_counter()
    report: dict[str, object] = {
        "benchmark": "relay: uploads, media pipeline, transcription",
        "mode": "quick" if quick else "full",
        "units": "MB = 2**20 bytes; seconds are wall-clock",
        "machine": machine_info(),
    }
    with tempfile.TemporaryDirectory(prefix="relay-bench-") as name:
        tmp = Path(name)
        data = upload.write_random_file(tmp / "random.bin", plan["upload_mb"] * MB)
        log(f"wrote {plan['upload_mb']} MB of random bytes")
        uploads: list[dict[str, object]] = []
        report["upload"] = uploads
        with embedded_stack(tmp / "embedded") as stack:
            uploads.append(upload.measure(stack, tmp, data, plan["patches"]))
        if s3:
            with scaled_stack(tmp / "scaled") as stack:
                uploads.append(upload.measure(stack, tmp, data, plan["patches"]))
        report["disk_copy_mb_s"] = upload.disk_copy_mb_s(data, tmp)
        (tmp / "random.bin").unlink()
        video = make_webm(tmp / "recording.webm", seconds=plan["video_seconds"], size=VIDEO_SIZE)
        log(f"made a {plan['video_seconds']} s {VIDEO_SIZE} webm")
        voice = ready.make_voice(tmp / "voice.ogg", plan["voice_seconds"])
        log(f"made a {plan['voice_seconds']} s Opus voice recording")
        # Stacks of their own: the upload stack's random files wait in its job queue, and
        # each input starts with an empty one.
        with embedded_stack(tmp / "ready") as stack:
            report["ready"] = ready.measure(stack, tmp, video, plan["video_seconds"], "video")
        with embedded_stack(tmp / "ready-voice") as stack:
            report["ready_voice"] = ready.measure(stack, tmp, voice, plan["voice_seconds"], "voice")
        with embedded_stack(tmp / "threads") as stack:
            report["thread"] = threads.measure(stack, tmp, rounds=30 if quick else 100)
        with embedded_stack(tmp / "sse") as stack:
            steps = (250, 500) if quick else sse.STEPS
            report["sse"] = sse.measure(stack, tmp, steps=steps)
    log("transcription: ours next to bare faster-whisper")
    report["transcription"] = transcription.run(quick)
    report["loadavg_at_end"] = [round(n, 2) for n in os.getloadavg()]
    report["bench_seconds"] = round(time.perf_counter() - started, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.suite == "hotpaths":
        report = hotpaths.run(args.s3)
    elif args.suite == "live":
        report = live.run(live.Plan.from_env(os.environ, args.speed))
    else:
        report = run(args.quick, args.s3)
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
