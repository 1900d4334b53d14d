"""The one runner of ffmpeg and ffprobe commands (workers.ffmpeg builds them): no shell, a
process group of its own killed on timeout, error and cancellation, the tail of stderr kept
for the error, a lower priority and death with the worker."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from workers.errors import FFmpegError, FFmpegTimeout

T = TypeVar("T")
SETPRIV = shutil.which("setpriv")


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

    async def output(proc: asyncio.subprocess.Process, tail: bytearray) -> bytes:
        assert proc.stdout is not None and proc.stderr is not None
        stdout, _ = await asyncio.gather(
            proc.stdout.read(), _read_tail(proc.stderr, tail, stderr_limit)
        )
        return stdout

    stdout, tail = await _supervised(argv, output, timeout=timeout, nice=nice, stdin=False)
    return stdout, tail


async def run_fed(
    argv: list[str],
    chunks: AsyncIterator[bytes],
    *,
    timeout: float,  # noqa: ASYNC109
    nice: int = 0,
    on_progress: Callable[[float], None] | None = None,
    stderr_limit: int = 65536,
) -> bool:
    """Run argv (no shell) with `chunks` written to its stdin as they come, then closed;
    `on_progress` hears the output time reached (argv ends with `-progress pipe:1`).

    True when ffmpeg read everything; False when it stopped reading first (the input's -t
    was reached). An error of `chunks` kills the process group and is raised; so are
    FFmpegError and FFmpegTimeout.
    """

    async def fed(proc: asyncio.subprocess.Process, tail: bytearray) -> bool:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        took_all, *_ = await asyncio.gather(
            _feed(proc.stdin, chunks),
            _read_progress(proc.stdout, on_progress),
            _read_tail(proc.stderr, tail, stderr_limit),
        )
        return bool(took_all)

    took_all, _ = await _supervised(argv, fed, timeout=timeout, nice=nice, stdin=True)
    return took_all


async def _supervised(
    argv: list[str],
    work: Callable[[asyncio.subprocess.Process, bytearray], Awaitable[T]],
    *,
    timeout: float,  # noqa: ASYNC109
    nice: int,
    stdin: bool,
) -> tuple[T, str]:
    """Start argv in a process group of its own, run `work` on its pipes (it fills the
    stderr tail it is given) and wait for it: (work's result, stderr's tail). The group is
    killed on timeout (FFmpegTimeout), on any error and on cancellation; a non-zero exit
    raises FFmpegError."""
    proc = await asyncio.create_subprocess_exec(
        *_launcher(nice),
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    tail = bytearray()
    try:
        async with asyncio.timeout(timeout):
            result = await work(proc, tail)
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
    return result, _decode(tail)


async def _feed(stdin: asyncio.StreamWriter, chunks: AsyncIterator[bytes]) -> bool:
    try:
        async for chunk in chunks:
            stdin.write(chunk)
            await stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        return False  # ffmpeg is done reading
    finally:
        stdin.close()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            await stdin.wait_closed()
    return True


async def _read_progress(
    stdout: asyncio.StreamReader, on_progress: Callable[[float], None] | None
) -> None:
    async for line in stdout:
        key, _, value = line.decode("ascii", errors="replace").strip().partition("=")
        if key == "out_time_us" and on_progress is not None and value.isdigit():
            on_progress(int(value) / 1e6)


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
