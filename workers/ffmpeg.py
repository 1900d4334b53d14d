"""ffmpeg and ffprobe: pure builders of argv lists, and one runner that executes them.

Every input gets a demuxer forced from an allow-list and only local protocols: untrusted
files may name other files or URLs inside them (HLS, ffconcat).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from pathlib import Path

from workers.analysis import SILENCE_MIN_SECONDS, SILENCE_NOISE_DB, WAVEFORM_RATE
from workers.errors import FFmpegError, FFmpegTimeout
from workers.filters import LOUDNESS, box_scale, filter_value

FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"
PROTOCOL_WHITELIST = "file,pipe"

VIDEO_CRF = 23
VIDEO_PRESET = "veryfast"  # two cores: speed over a few percent of size
VIDEO_AUDIO_BITRATE = "128k"
SMALL_HEIGHT = 360
SMALL_CRF = 28
SMALL_AUDIO_BITRATE = "64k"
AUDIO_BITRATE = "96k"
SAMPLE_RATE = 48000
FPS_CAP_ABOVE = 60.0
FPS_CAP = 30
PREVIEW_FPS = 10
PREVIEW_WIDTH = 320
PREVIEW_QUALITY = 60


def probe_args(src: Path, fmt: str) -> list[str]:
    args = [FFPROBE, "-hide_banner", "-loglevel", "error", *_input(src, fmt)]
    return [*args, "-print_format", "json", "-show_format", "-show_streams"]


def length_args(src: Path, fmt: str, *, max_seconds: float) -> list[str]:
    """Read every packet without decoding (thousands of times real time); the time reached
    comes out on stdout, as `-progress` key=value lines."""
    return [
        *_ffmpeg(),
        *_input(src, fmt, seconds=max_seconds),
        *["-map", "0:v?", "-map", "0:a?", "-c", "copy"],
        *["-progress", "pipe:1", "-f", "null", "-"],
    ]


def analysis_args(
    src: Path, fmt: str, *, pcm: Path, silences: Path, loudness: bool, max_seconds: float
) -> list[str]:
    """One decode of the first audio track into: mono PCM for the waveform (`pcm`), a
    silencedetect metadata file (`silences`) and, if `loudness`, loudnorm's measurement
    (JSON at the end of stderr, hence log level info)."""
    # silencedetect only reads, so the loudnorm measurement can follow it in one chain.
    chain = (
        f"silencedetect=noise={SILENCE_NOISE_DB}dB:d={SILENCE_MIN_SECONDS},"
        # A file, not stderr: stderr is capped, and long recordings have many silences.
        f"ametadata=mode=print:file={filter_value(_file(silences))}"
    )
    if loudness:
        chain += f",loudnorm={LOUDNESS}:print_format=json"
    graph = (
        f"[0:a:0]asplit=2[m][w];[m]{chain},anullsink;"
        f"[w]aformat=sample_fmts=s16:sample_rates={WAVEFORM_RATE}:channel_layouts=mono[pcm]"
    )
    return [
        *_ffmpeg("info" if loudness else "error"),
        *_input(src, fmt, seconds=max_seconds),
        "-filter_complex",
        graph,
        *["-map", "[pcm]", "-c:a", "pcm_s16le", "-f", "s16le", _file(pcm)],
    ]


def encode_args(
    src: Path,
    fmt: str,
    *,
    video: Path | None,
    small_video: Path | None,
    audio: Path | None,
    audio_filter: str | None,
    audio_channels: int | None,
    height: int,
    fps: float | None,
    threads: int,
    max_seconds: float,
) -> list[str]:
    """One decode of `src` into any of: H.264 Main + AAC-LC MP4 within a `height`p box
    (`video`), the same within 360p at a lower bitrate (`small_video`), and AAC-LC .m4a
    (`audio`). `audio_filter` (such as filters.loudnorm_filter()) runs once for all of them; None
    means the outputs have no sound. Sound is mono if `audio_channels` is 1, else stereo
    (upmixing a mono microphone would double the AAC work for nothing). Above 60 fps
    (`fps`, measured) video is capped at 30.
    """
    if audio is not None and audio_filter is None:
        raise ValueError("an audio output needs an audio filter")
    graph: list[str] = []
    videos = [
        (path, box, crf, audio_bitrate)
        for path, box, crf, audio_bitrate in (
            (video, height, VIDEO_CRF, VIDEO_AUDIO_BITRATE),
            (small_video, SMALL_HEIGHT, SMALL_CRF, SMALL_AUDIO_BITRATE),
        )
        if path is not None
    ]
    if not videos and audio is None:
        raise ValueError("no outputs")
    if videos:
        head = f"fps={FPS_CAP}," if fps is not None and fps > FPS_CAP_ABOVE else ""
        if len(videos) == 1:
            graph.append(f"[0:v:0]{head}{box_scale(videos[0][1])}[v0]")
        else:
            graph.append(f"[0:v:0]{head}split=2[s0][s1]")
            graph += [f"[s{i}]{box_scale(v[1])}[v{i}]" for i, v in enumerate(videos)]
    sound = audio_filter is not None
    channels = "1" if audio_channels == 1 else "2"
    n_audio = (len(videos) + (audio is not None)) if sound else 0
    if n_audio:
        # loudnorm works at 192 kHz: resample once, before the copies. Naming the layout
        # also gives the encoder one, which loudnorm's output lacks.
        chain = f"[0:a:0]{audio_filter},aformat=sample_rates={SAMPLE_RATE}"
        chain += f":channel_layouts={'mono' if channels == '1' else 'stereo'}"
        labels = [f"[a{i}]" for i in range(n_audio)]
        graph.append(chain + (f",asplit={n_audio}" if n_audio > 1 else "") + "".join(labels))
    args = [*_ffmpeg(), *_input(src, fmt, seconds=max_seconds), "-filter_complex"]
    args.append(";".join(graph))
    for i, (path, _, crf, audio_bitrate) in enumerate(videos):
        args += ["-map", f"[v{i}]"]
        if sound:
            args += ["-map", f"[a{i}]", *_aac(audio_bitrate), "-ac", channels]
        args += _h264(crf) + _common(threads) + ["-f", "mp4", _file(path)]
    if audio is not None:
        # The ipod muxer is mp4 with the M4A brand that Apple players expect for audio.
        args += ["-map", f"[a{n_audio - 1}]", *_aac(AUDIO_BITRATE), "-ac", channels]
        args += [*_common(threads), "-f", "ipod", _file(audio)]
    return args


def small_video_args(
    src_mp4: Path, dst: Path, *, has_audio: bool, threads: int, max_seconds: float
) -> list[str]:
    """The 360p rendition from our own MP4, when its length was only known afterwards."""
    args = [*_ffmpeg(), *_input(src_mp4, "mp4", seconds=max_seconds), "-map", "0:v:0"]
    args += ["-vf", box_scale(SMALL_HEIGHT), *_h264(SMALL_CRF)]
    if has_audio:
        args += ["-map", "0:a:0", *_aac(SMALL_AUDIO_BITRATE)]
    return args + _common(threads) + ["-f", "mp4", _file(dst)]


def poster_args(src_mp4: Path, dst_jpg: Path, *, at_seconds: float) -> list[str]:
    """One JPEG frame of our own transcoded MP4."""
    return [
        *_ffmpeg(),
        *_input(src_mp4, "mp4", start=at_seconds),
        *["-map", "0:v:0", "-frames:v", "1", "-q:v", "3", "-map_metadata", "-1"],
        # One file, and no %d pattern expansion of the output name.
        *["-update", "1", "-f", "image2", _file(dst_jpg)],
    ]


def preview_args(src_mp4: Path, dst_webp: Path, *, start: float, seconds: float) -> list[str]:
    """A looping animated WebP of our own MP4 for link unfurls."""
    scale = f"scale=w='min({PREVIEW_WIDTH},iw)':h=-2"
    return [
        *_ffmpeg(),
        *_input(src_mp4, "mp4", start=start, seconds=seconds),
        *["-map", "0:v:0", "-vf", f"fps={PREVIEW_FPS},{scale}", "-c:v", "libwebp_anim"],
        *["-quality", str(PREVIEW_QUALITY), "-loop", "0", "-map_metadata", "-1"],
        *["-f", "webp", _file(dst_webp)],
    ]


# The deadline ends in a SIGKILL of the process group, so it is a parameter (ASYNC109).
async def run(
    argv: list[str],
    *,
    timeout: float,  # noqa: ASYNC109
    nice: int = 0,
    stderr_limit: int = 65536,
) -> bytes:
    """Run argv (no shell), return its stdout; raise FFmpegError or FFmpegTimeout."""
    stdout, _ = await run_with_stderr(argv, timeout=timeout, nice=nice, stderr_limit=stderr_limit)
    return stdout


async def run_with_stderr(
    argv: list[str],
    *,
    timeout: float,  # noqa: ASYNC109
    nice: int = 0,
    stderr_limit: int = 65536,
) -> tuple[bytes, str]:
    """Run argv (no shell); (stdout, the last `stderr_limit` bytes of stderr).

    The whole process group is killed on timeout and on cancellation.
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
    return stdout, _decode(tail)


SETPRIV = shutil.which("setpriv")


def _ffmpeg(level: str = "error") -> list[str]:
    return [FFMPEG, "-hide_banner", "-nostdin", "-nostats", "-loglevel", level, "-y"]


def _file(path: Path) -> str:
    # "file:" keeps a name such as "a:b.webm" from being read as protocol "a".
    return f"file:{path}"


def _input(
    src: Path, fmt: str, *, start: float | None = None, seconds: float | None = None
) -> list[str]:
    """Input options: forced demuxer, local protocols only; -t bounds the decode."""
    args = ["-protocol_whitelist", PROTOCOL_WHITELIST, "-f", fmt]
    if start is not None:
        args += ["-ss", f"{start:.3f}"]
    if seconds is not None:
        args += ["-t", f"{seconds:.3f}"]
    return [*args, "-i", _file(src)]


def _h264(crf: int) -> list[str]:
    return [
        *["-c:v", "libx264", "-profile:v", "main", "-preset", VIDEO_PRESET],
        *["-crf", str(crf), "-pix_fmt", "yuv420p"],
        # Recorder WebM is variable frame rate with a 1 ms time base; the default (cfr for
        # mp4) would duplicate frames to fill every tick.
        *["-fps_mode", "vfr"],
    ]


def _aac(bitrate: str) -> list[str]:
    return ["-c:a", "aac", "-b:a", bitrate, "-ar", str(SAMPLE_RATE)]


def _common(threads: int) -> list[str]:
    args = ["-map_metadata", "-1", "-movflags", "+faststart"]
    # Phone recordings can start one stream well before the other; the default queue of
    # 128 packets then aborts the run.
    args += ["-max_muxing_queue_size", "4096"]
    return args + (["-threads", str(threads)] if threads > 0 else [])


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
