"""The runner: stdout back, stderr's tail in the error, a lower priority, and the whole
process group killed on timeout and on cancellation."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from workers import ffmpeg, ffmpeg_run
from workers.errors import FFmpegError, FFmpegTimeout


@pytest.mark.integration  # starts a process
async def test_run_returns_stdout() -> None:
    out = await ffmpeg_run.run([sys.executable, "-c", "print('hello')"], timeout=10)
    assert out == b"hello\n"


@pytest.mark.integration  # starts a process
async def test_run_lowers_priority() -> None:
    code = "import os; print(os.nice(0))"
    out = await ffmpeg_run.run([sys.executable, "-c", code], timeout=10, nice=5)
    assert int(out) == min(os.nice(0) + 5, 19)


async def test_run_raises_ffmpeg_error_with_stderr_tail(tmp_path: Path) -> None:
    argv = ffmpeg.probe_args(tmp_path / "missing.webm", "matroska")
    with pytest.raises(FFmpegError) as caught:
        await ffmpeg_run.run(argv, timeout=10)
    assert type(caught.value) is FFmpegError
    assert caught.value.returncode != 0
    assert caught.value.argv == argv
    assert "No such file" in caught.value.stderr_tail
    assert "No such file" in str(caught.value)


@pytest.mark.integration  # starts a process
async def test_run_with_stderr_returns_both() -> None:
    code = "import sys; print('out'); sys.stderr.write('err' * 10)"
    out, err = await ffmpeg_run.run_with_stderr([sys.executable, "-c", code], timeout=10)
    assert (out, err) == (b"out\n", "err" * 10)
    code = "import sys; sys.stderr.write('x' * 5000 + '{}')"
    _, err = await ffmpeg_run.run_with_stderr(
        [sys.executable, "-c", code], timeout=10, stderr_limit=100
    )
    assert len(err) == 100 and err.endswith("x{}")


@pytest.mark.integration  # starts a process
async def test_run_caps_stderr() -> None:
    code = "import sys; sys.stderr.write('x' * 300_000 + 'END'); sys.exit(3)"
    with pytest.raises(FFmpegError) as caught:
        await ffmpeg_run.run([sys.executable, "-c", code], timeout=10, stderr_limit=1000)
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
        await ffmpeg_run.run(_spawner(pidfile), timeout=0.5)
    assert time.monotonic() - started < 5
    child = int(pidfile.read_text())
    assert await _wait_for(lambda: _gone(child))


@pytest.mark.integration  # starts a process
async def test_run_timeout_stops_endless_ffmpeg() -> None:
    # lavfi never appears in product argv; here it is an input that never ends.
    argv = ["ffmpeg", "-nostdin", "-f", "lavfi", "-i", "testsrc2=size=64x64", "-f", "null", "-"]
    started = time.monotonic()
    with pytest.raises(FFmpegTimeout) as caught:
        await ffmpeg_run.run(argv, timeout=0.5)
    assert time.monotonic() - started < 5
    assert "killed" in str(caught.value)


async def test_run_cancelled_kills_the_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    task = asyncio.create_task(ffmpeg_run.run(_spawner(pidfile), timeout=60))
    assert await _wait_for(lambda: pidfile.exists() and pidfile.read_text().strip() != "")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _wait_for(lambda: _gone(int(pidfile.read_text())))
