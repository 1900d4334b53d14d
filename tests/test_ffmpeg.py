from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from workers import ffmpeg
from workers.errors import FFmpegError, FFmpegTimeout

SRC = Path("/uploads/abc")
DST = Path("/work/out.mp4")


def _video(**changes: object) -> list[str]:
    options: dict = {"height": 720, "has_audio": True, "threads": 0, "max_seconds": 1800.0}
    return ffmpeg.video_args(SRC, "matroska", DST, **(options | changes))


def _all_argvs() -> list[list[str]]:
    return [
        ffmpeg.probe_args(SRC, "matroska"),
        _video(),
        _video(has_audio=False),
        ffmpeg.audio_args(SRC, "ogg", Path("/work/audio.m4a"), threads=0, max_seconds=60),
        ffmpeg.poster_args(DST, Path("/work/poster.jpg"), at_seconds=1.0),
    ]


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


@pytest.mark.parametrize("argv", _all_argvs(), ids=["probe", "video", "mute", "audio", "poster"])
def test_every_argv_locks_down_the_input(argv: list[str]) -> None:
    before_input = argv[: argv.index("-i")]
    assert _option(before_input, "-protocol_whitelist") == "file,pipe"
    assert "-f" in before_input
    assert "-hide_banner" in argv
    assert "-safe" not in argv
    assert argv.count("-i") == 1
    assert all(isinstance(arg, str) for arg in argv)


@pytest.mark.parametrize("argv", _all_argvs()[1:], ids=["video", "mute", "audio", "poster"])
def test_ffmpeg_argv_overwrites_without_stdin_or_metadata(argv: list[str]) -> None:
    assert argv[0] == "ffmpeg"
    assert "-nostdin" in argv
    assert "-y" in argv
    assert _option(argv, "-map_metadata") == "-1"
    assert argv[-1].startswith("file:/work/")


def test_probe_args_force_the_sniffed_format() -> None:
    argv = ffmpeg.probe_args(SRC, "mov")
    assert argv[0] == "ffprobe"
    assert argv[argv.index("-f") + 1] == "mov"
    assert argv.index("-f") < argv.index("-i")
    assert {"-show_format", "-show_streams"} <= set(argv)
    assert _option(argv, "-print_format") == "json"
    assert argv[-1] == "file:/uploads/abc"


def test_video_args_make_phone_playable_mp4() -> None:
    argv = _video(threads=2, max_seconds=90.0)
    assert _option(argv[: argv.index("-i")], "-f") == "matroska"
    assert _option(argv, "-c:v") == "libx264"
    assert _option(argv, "-profile:v") == "main"
    assert _option(argv, "-pix_fmt") == "yuv420p"
    assert _option(argv, "-preset") == "veryfast"
    assert _option(argv, "-fps_mode") == "vfr"
    assert _option(argv, "-c:a") == "aac"
    assert _option(argv, "-ar") == "48000"
    assert _option(argv, "-movflags") == "+faststart"
    assert _option(argv, "-t") == "90.000"
    assert _option(argv, "-threads") == "2"
    output = argv[argv.index("-i") + 2 :]
    assert _option(output, "-f") == "mp4"
    maps = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-map"]
    assert maps == ["0:v:0", "0:a:0?"]


def test_video_args_without_audio_drop_it() -> None:
    argv = _video(has_audio=False)
    assert "-an" in argv
    assert "-c:a" not in argv
    assert [argv[i + 1] for i, arg in enumerate(argv) if arg == "-map"] == ["0:v:0"]


def test_video_args_leave_threads_to_ffmpeg_when_zero() -> None:
    assert "-threads" not in _video(threads=0)


def test_video_filter_fits_a_box_for_the_height() -> None:
    vf = _option(_video(height=360), "-vf")
    assert "min(iw,640)" in vf and "min(ih,360)" in vf
    assert "force_original_aspect_ratio=decrease" in vf
    assert "force_divisible_by=2" in vf


def test_video_filter_caps_frame_rate_only_above_60() -> None:
    assert "fps=" not in _option(_video(fps=60.0), "-vf")
    assert "fps=" not in _option(_video(fps=None), "-vf")
    assert _option(_video(fps=120.0), "-vf").startswith("fps=30,")


def test_audio_args_make_m4a_without_video() -> None:
    argv = ffmpeg.audio_args(SRC, "ogg", Path("/work/audio.m4a"), threads=1, max_seconds=60)
    assert _option(argv[: argv.index("-i")], "-f") == "ogg"
    assert "-vn" in argv
    assert _option(argv, "-c:a") == "aac"
    assert "channel_layouts=mono|stereo" in _option(argv, "-af")
    assert _option(argv, "-movflags") == "+faststart"
    assert _option(argv[argv.index("-i") :], "-f") == "ipod"
    assert _option(argv, "-t") == "60.000"


def test_poster_args_take_one_frame_of_our_mp4() -> None:
    argv = ffmpeg.poster_args(DST, Path("/work/poster.jpg"), at_seconds=0.5)
    before_input = argv[: argv.index("-i")]
    assert _option(before_input, "-f") == "mp4"
    assert _option(before_input, "-ss") == "0.500"
    assert _option(argv, "-frames:v") == "1"
    assert _option(argv, "-q:v") == "3"


async def test_run_returns_stdout() -> None:
    out = await ffmpeg.run([sys.executable, "-c", "print('hello')"], timeout=10)
    assert out == b"hello\n"


async def test_run_lowers_priority() -> None:
    code = "import os; print(os.nice(0))"
    out = await ffmpeg.run([sys.executable, "-c", code], timeout=10, nice=5)
    assert int(out) == min(os.nice(0) + 5, 19)


async def test_run_raises_ffmpeg_error_with_stderr_tail(tmp_path: Path) -> None:
    argv = ffmpeg.probe_args(tmp_path / "missing.webm", "matroska")
    with pytest.raises(FFmpegError) as caught:
        await ffmpeg.run(argv, timeout=10)
    assert type(caught.value) is FFmpegError
    assert caught.value.returncode != 0
    assert caught.value.argv == argv
    assert "No such file" in caught.value.stderr_tail
    assert "No such file" in str(caught.value)


async def test_run_caps_stderr() -> None:
    code = "import sys; sys.stderr.write('x' * 300_000 + 'END'); sys.exit(3)"
    with pytest.raises(FFmpegError) as caught:
        await ffmpeg.run([sys.executable, "-c", code], timeout=10, stderr_limit=1000)
    assert caught.value.returncode == 3
    assert len(caught.value.stderr_tail) == 1000
    assert caught.value.stderr_tail.endswith("xEND")


def _spawner(pidfile: Path) -> list[str]:
    """A parent whose child would outlive it unless the whole group is killed."""
    return ["sh", "-c", f'sleep 60 & echo $! > "{pidfile}"; wait']


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")  # killed; waiting for init to reap it


async def _wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()


async def test_run_timeout_kills_the_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    started = time.monotonic()
    with pytest.raises(FFmpegTimeout):
        await ffmpeg.run(_spawner(pidfile), timeout=0.5)
    assert time.monotonic() - started < 5
    child = int(pidfile.read_text())
    assert await _wait_for(lambda: _gone(child))


async def test_run_timeout_stops_endless_ffmpeg() -> None:
    # lavfi never appears in product argv; here it is an input that never ends.
    argv = ["ffmpeg", "-nostdin", "-f", "lavfi", "-i", "testsrc2=size=64x64", "-f", "null", "-"]
    started = time.monotonic()
    with pytest.raises(FFmpegTimeout) as caught:
        await ffmpeg.run(argv, timeout=0.5)
    assert time.monotonic() - started < 5
    assert "killed" in str(caught.value)


async def test_run_cancelled_kills_the_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    task = asyncio.create_task(ffmpeg.run(_spawner(pidfile), timeout=60))
    assert await _wait_for(lambda: pidfile.exists() and pidfile.read_text().strip() != "")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _wait_for(lambda: _gone(int(pidfile.read_text())))
