"""ffmpeg and ffprobe: pure builders of argv lists, and one runner that executes them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import ffmpeg

from workers.errors import FFmpegError, FFmpegTimeout

FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"

# Untrusted input may name other files or URLs inside it (HLS, ffconcat): every input gets
# a demuxer forced from an allow-list, never a playlist one, and no network protocols.
PROTOCOL_WHITELIST = "file,pipe"

_FFMPEG_CMD = [FFMPEG, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-y"]

VIDEO_CRF = 23
VIDEO_PRESET = "veryfast"  # two cores: speed over a few percent of size
VIDEO_AUDIO_BITRATE = "128k"
AUDIO_BITRATE = "96k"
SAMPLE_RATE = 48000
FPS_CAP_ABOVE = 60.0
FPS_CAP = 30


def probe_args(src: Path, fmt: str) -> list[str]:
    return [
        FFPROBE,
        "-hide_banner",
        "-loglevel",
        "error",
        "-protocol_whitelist",
        PROTOCOL_WHITELIST,
        "-f",
        fmt,
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        "-i",
        _file(src),
    ]


def video_args(
    src: Path,
    fmt: str,
    dst: Path,
    *,
    height: int,
    has_audio: bool,
    threads: int,
    max_seconds: float,
    fps: float | None = None,
) -> list[str]:
    """H.264 Main + AAC-LC MP4 that plays on phones, fitted within a `height`p box.

    `fps` is the source's measured frame rate; above 60 the output is capped at 30.
    """
    src_stream = _input(src, fmt)
    streams = [src_stream["v:0"]]
    options: dict[str, Any] = {
        "vf": _video_filter(height, fps),
        "c:v": "libx264",
        "profile:v": "main",
        "preset": VIDEO_PRESET,
        "crf": VIDEO_CRF,
        "pix_fmt": "yuv420p",
        # Recorder WebM is variable frame rate with a 1 ms time base; the default (cfr for
        # mp4) would duplicate frames to fill every tick.
        "fps_mode": "vfr",
    }
    if has_audio:
        streams.append(src_stream["a:0?"])
        options |= {"c:a": "aac", "b:a": VIDEO_AUDIO_BITRATE, "ar": SAMPLE_RATE, "ac": 2}
    else:
        options["an"] = None
    return _output(streams, dst, "mp4", options, threads=threads, max_seconds=max_seconds)


def audio_args(src: Path, fmt: str, dst: Path, *, threads: int, max_seconds: float) -> list[str]:
    """AAC-LC in an .m4a: mono stays mono, anything wider becomes stereo."""
    src_stream = _input(src, fmt)
    options: dict[str, Any] = {
        "vn": None,
        "af": f"aformat=sample_rates={SAMPLE_RATE}:channel_layouts=mono|stereo",
        "c:a": "aac",
        "b:a": AUDIO_BITRATE,
    }
    # The ipod muxer is mp4 with the M4A brand that Apple players expect for audio.
    return _output(
        [src_stream["a:0"]], dst, "ipod", options, threads=threads, max_seconds=max_seconds
    )


def poster_args(src_mp4: Path, dst_jpg: Path, *, at_seconds: float) -> list[str]:
    """One JPEG frame of our own transcoded MP4."""
    src_stream = _input(src_mp4, "mp4", ss=f"{at_seconds:.3f}")
    options = {
        "frames:v": 1,
        "q:v": 3,
        "map_metadata": "-1",
        # One file, and no %d pattern expansion of the output name.
        "update": 1,
    }
    return ffmpeg.output(src_stream["v:0"], _file(dst_jpg), format="image2", **options).compile(
        cmd=_FFMPEG_CMD
    )


# The deadline ends in a SIGKILL of the process group, so it is a parameter (ASYNC109).
async def run(
    argv: list[str],
    *,
    timeout: float,  # noqa: ASYNC109
    nice: int = 0,
    stderr_limit: int = 65536,
) -> bytes:
    """Run argv (no shell), return its stdout; raise FFmpegError or FFmpegTimeout.

    The whole process group is killed on timeout and on cancellation. Only the last
    `stderr_limit` bytes of stderr are kept.
    """
    proc = await asyncio.create_subprocess_exec(
        *_launcher(nice),
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    tail = bytearray()
    try:
        async with asyncio.timeout(timeout):
            stdout, _ = await asyncio.gather(
                proc.stdout.read(), _read_tail(proc.stderr, tail, stderr_limit)
            )
            returncode = await proc.wait()
    except TimeoutError:
        _kill_group(proc)
        await proc.wait()
        raise FFmpegTimeout(argv, proc.returncode, _decode(tail)) from None
    except BaseException:
        _kill_group(proc)
        await proc.wait()
        raise
    if returncode != 0:
        raise FFmpegError(argv, returncode, _decode(tail))
    return stdout


SETPRIV = shutil.which("setpriv")


def _file(path: Path) -> str:
    # "file:" keeps a name such as "a:b.webm" from being read as protocol "a".
    return f"file:{path}"


def _input(src: Path, fmt: str, **options: Any) -> Any:
    return ffmpeg.input(_file(src), format=fmt, protocol_whitelist=PROTOCOL_WHITELIST, **options)


def _output(
    streams: list[Any],
    dst: Path,
    fmt: str,
    options: dict[str, Any],
    *,
    threads: int,
    max_seconds: float,
) -> list[str]:
    common: dict[str, Any] = {
        "t": f"{max_seconds:.3f}",
        "map_metadata": "-1",
        "movflags": "+faststart",
        # Phone recordings can start one stream well before the other; the default queue
        # of 128 packets then aborts the run.
        "max_muxing_queue_size": 4096,
    }
    if threads > 0:
        common["threads"] = threads
    return ffmpeg.output(*streams, _file(dst), format=fmt, **common, **options).compile(
        cmd=_FFMPEG_CMD
    )


def _video_filter(height: int, fps: float | None) -> str:
    """Fit within (16/9·height)×height, or height×(16/9·height) for portrait; never upscale.

    Runs after ffmpeg's autorotation, so iw/ih are the displayed dimensions.
    """
    short = height - height % 2
    long = round(height * 16 / 9 / 2) * 2
    landscape = "gte(iw,ih)"
    scale = (
        f"scale=w='if({landscape},min(iw,{long}),min(iw,{short}))'"
        f":h='if({landscape},min(ih,{short}),min(ih,{long}))'"
        # decrease keeps the aspect ratio inside the box and rounds down to even sizes.
        ":force_original_aspect_ratio=decrease:force_divisible_by=2"
    )
    filters = [scale]
    if fps is not None and fps > FPS_CAP_ABOVE:
        filters.insert(0, f"fps={FPS_CAP}")
    return ",".join(filters)


def _launcher(nice: int) -> list[str]:
    """Commands that exec into the tool: lower its priority, and kill it if the worker dies.

    Done with setpriv and nice instead of a preexec_fn, which is unsafe in a process with
    threads (the database driver and storage client run threads).
    """
    prefix = []
    if SETPRIV:
        prefix = [SETPRIV, "--pdeathsig", "KILL"]
    if nice > 0:
        prefix += ["nice", "-n", str(nice)]
    return prefix


async def _read_tail(stream: asyncio.StreamReader, tail: bytearray, limit: int) -> None:
    while chunk := await stream.read(65536):
        tail += chunk
        if len(tail) > limit:
            del tail[: len(tail) - limit]


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    # start_new_session made the child a group leader: its pid is the group id.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _decode(tail: bytearray) -> str:
    return tail.decode("utf-8", errors="replace")
