"""Uploads built to attack the converter: each is refused with a reason, reads nothing but
itself, and connects nowhere. ffmpeg runs under strace here, so "nothing else" is seen."""

from __future__ import annotations

import ast
import contextlib
import inspect
import os
import shutil
import socket
import struct
import threading
import time
import types
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

from relay.settings import MediaSettings
from tests.support.media import make_lying_mkv, make_raw_mkv
from workers import ffmpeg, ffmpeg_run
from workers.errors import MediaError, MediaRejected
from workers.probe import EMPTY, NOT_MEDIA, UNREADABLE
from workers.transcode import make_renditions

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = MediaSettings(ffmpeg_threads=0, ffmpeg_nice=0, max_duration_seconds=60)
SYSTEM = ("/lib", "/usr/", "/etc/", "/proc/", "/sys/", "/dev/")
WEBM_MAGIC = b"\x1a\x45\xdf\xa3"


class Watch:
    """A TCP listener and a FIFO that hostile files name, to see whether anything came."""

    def __init__(self, folder: Path) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        folder.mkdir()
        self.folder = folder
        self.fifo = folder / "canary.fifo"
        os.mkfifo(self.fifo)
        self.opened = threading.Event()
        self._result: tuple[int, bool] | None = None
        self._thread = threading.Thread(target=self._wait_for_reader, daemon=True)
        self._thread.start()

    def urls(self) -> list[str]:
        return [
            "file:///etc/passwd",
            f"file://{self.fifo}",
            "http://127.0.0.1:9/x.ts",
            f"http://127.0.0.1:{self.port}/x.ts",
        ]

    def _wait_for_reader(self) -> None:
        fd = os.open(self.fifo, os.O_WRONLY)  # returns once someone opens it to read
        self.opened.set()
        os.close(fd)

    def connections(self) -> int:
        count = 0
        while True:
            try:
                conn, _ = self.listener.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1

    def close(self) -> tuple[int, bool]:
        """(connections that arrived, whether the FIFO was opened); then cleans up."""
        if self._result is None:
            self._result = self.connections(), self.opened.is_set()
            fd = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)  # releases the thread
            self._thread.join(timeout=5)
            os.close(fd)
            self.listener.close()
        return self._result


@pytest.fixture
def watch(tmp_path: Path) -> Iterator[Watch]:
    found = Watch(tmp_path / "elsewhere")
    yield found
    found.close()


@pytest.fixture
def trace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A log of every file ffmpeg and ffprobe open and every connect they make."""
    log = tmp_path / "strace.log"
    log.touch()
    strace = shutil.which("strace")
    assert strace is not None, "strace is missing: `infra/setup.sh --test` installs it"
    launcher = ffmpeg_run._launcher
    calls = "trace=open,openat,openat2,connect"
    prefix = [strace, "-f", "-qq", "-A", "-o", str(log), "-e", calls]
    monkeypatch.setattr(ffmpeg_run, "_launcher", lambda nice: [*prefix, *launcher(nice)])
    return log


def assert_contained(trace: Path, watch: Watch, own: Path) -> None:
    """Nothing but system files and the test's own files opened; nothing connected."""
    connections, fifo_opened = watch.close()
    assert connections == 0
    assert not fifo_opened
    text = trace.read_text()
    assert "/etc/passwd" not in text
    assert "AF_INET" not in text
    for line in text.splitlines():
        if '"' not in line:
            continue
        path = line.split('"')[1]
        assert path.startswith(SYSTEM) or path.startswith(str(own)), line
        assert not path.startswith(str(watch.folder)), line


def playlist(watch: Watch) -> bytes:
    lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:1"]
    for url in watch.urls():
        lines += ["#EXTINF:1,", url]
    return ("\n".join([*lines, "#EXT-X-ENDLIST"]) + "\n").encode()


def ffconcat(watch: Watch) -> bytes:
    return ("ffconcat version 1.0\n" + "".join(f"file '{u}'\n" for u in watch.urls())).encode()


def avi_with_subtitle(payload: bytes) -> bytes:
    """A minimal RIFF AVI with one text ("txts") stream whose single chunk is `payload`."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return kind + struct.pack("<I", len(data)) + data + b"\0" * (len(data) % 2)

    def lst(kind: bytes, *items: bytes) -> bytes:
        return chunk(b"LIST", kind + b"".join(items))

    avih = struct.pack("<10I16x", 1_000_000, 0, 0, 0x10, 1, 0, 1, len(payload), 0, 0)
    counts = (0, 1, 1, 0, 1, len(payload), 0, 0)  # initial, scale, rate, start, length, ...
    strh = b"txts" + struct.pack("<II2H8I4h", 0, 0, 0, 0, *counts, 0, 0, 0, 0)
    movi = lst(b"movi", chunk(b"00tx", payload))
    idx1 = chunk(b"idx1", b"00tx" + struct.pack("<3I", 0x10, 4, len(payload)))
    hdrl = lst(
        b"hdrl", chunk(b"avih", avih), lst(b"strl", chunk(b"strh", strh), chunk(b"strf", b""))
    )
    body = b"AVI " + hdrl + movi + idx1
    return b"RIFF" + struct.pack("<I", len(body)) + body


HOSTILE = {
    "hls.webm": (lambda w: playlist(w), NOT_MEDIA),
    "ffconcat.webm": (lambda w: ffconcat(w), NOT_MEDIA),
    "subtitled.avi": (lambda w: avi_with_subtitle(b"GAB2\0" + playlist(w)), NOT_MEDIA),
    "hls-behind-webm-magic.webm": (lambda w: WEBM_MAGIC + playlist(w), UNREADABLE),
    "concat-behind-webm-magic.webm": (lambda w: WEBM_MAGIC + ffconcat(w), UNREADABLE),
    "random.webm": (lambda w: WEBM_MAGIC + os.urandom(64 * 1024), UNREADABLE),
    "empty.webm": (lambda w: b"", EMPTY),
}


@pytest.mark.parametrize("name", HOSTILE)
async def test_hostile_upload_is_refused_and_contained(
    tmp_path: Path, watch: Watch, trace: Path, name: str
) -> None:
    make, reason = HOSTILE[name]
    own = tmp_path / "job"
    own.mkdir()
    src = own / name
    src.write_bytes(make(watch))
    with pytest.raises(MediaRejected) as caught:
        await make_renditions(src, own / "out", SETTINGS)
    assert caught.value.reason == reason
    assert not (own / "out").exists()
    assert_contained(trace, watch, own)


async def test_even_a_playlist_demuxer_cannot_connect_out(
    tmp_path: Path, watch: Watch, trace: Path
) -> None:
    # Defence in depth: were the forced demuxer ever a playlist one, the protocol
    # whitelist would still keep it off the network.
    src = tmp_path / "job" / "list.m3u8"
    src.parent.mkdir()
    src.write_bytes(playlist(watch))
    with contextlib.suppress(MediaError):
        await ffmpeg_run.run(ffmpeg.probe_args(src, "hls"), timeout=30)
    assert watch.connections() == 0
    assert "AF_INET" not in trace.read_text()


@pytest.mark.parametrize(
    "claimed,reason",
    [
        ((7680, 4320), "The video is 7680×4320 pixels; the largest supported size is 3840×2160."),
        # Too big for ffmpeg to even open a decoder: no size to report.
        ((20000, 20000), UNREADABLE),
    ],
)
async def test_huge_picture_claim_is_refused_before_decoding(
    tmp_path: Path, trace: Path, claimed: tuple[int, int], reason: str
) -> None:
    src = make_raw_mkv(tmp_path / "huge.mkv", claimed)
    with pytest.raises(MediaRejected) as caught:
        await make_renditions(src, tmp_path / "out", SETTINGS)
    assert caught.value.reason == reason
    assert not (tmp_path / "out").exists()
    assert "-filter_complex" not in trace.read_text()  # nothing but ffprobe ran


async def test_header_that_lies_about_length_is_caught_by_a_bounded_decode(
    tmp_path: Path,
) -> None:
    src = make_lying_mkv(tmp_path / "short.mkv", seconds=600, claimed=1)
    started = time.monotonic()
    with pytest.raises(MediaRejected) as caught:
        await make_renditions(src, tmp_path / "out", SETTINGS)
    elapsed = time.monotonic() - started
    assert caught.value.reason == "This recording is longer than the maximum of 1 minute."
    # Measuring loudness of all 10 minutes takes about 5 s here; 61 s of it, under one.
    assert elapsed < 3.0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []


# Every argv builder, called with sample arguments chosen by parameter type.
SAMPLES: dict[object, object] = {
    Path: Path("/work/job/sample"),
    str: "matroska",
    int: 2,
    float: 61.0,
    bool: True,
    tuple[Path, Path, Path | None]: (Path("/work/job/a.pcm"), Path("/work/job/b.txt"), None),
}
ALLOWED_INPUTS = {"matroska", "mov", "mp4", "ogg", "wav", "flac", "mp3"}


def builders() -> list[str]:
    return [
        name
        for name, function in inspect.getmembers(ffmpeg, inspect.isfunction)
        if name.endswith("_args") and not name.startswith("_")
        if function.__module__ == ffmpeg.__name__
    ]


def sample_calls(name: str) -> Iterator[list[str]]:
    """The builder's argv with every optional argument given, then with none given."""
    function = getattr(ffmpeg, name)
    hints = typing.get_type_hints(function)
    for fill_optional in (True, False):
        kwargs = {}
        for param in inspect.signature(function).parameters.values():
            kinds = typing.get_args(hints[param.name]) or (hints[param.name],)
            optional = isinstance(hints[param.name], types.UnionType) and type(None) in kinds
            if optional and not fill_optional:
                kwargs[param.name] = None
                continue
            kind = next(k for k in kinds if k is not type(None))
            assert kind in SAMPLES, f"{name}({param.name}: {kind}): add a sample value"
            value = SAMPLES[kind]
            kwargs[param.name] = (not value) if kind is bool and not fill_optional else value
        try:
            yield function(**kwargs)
        except ValueError:
            assert not fill_optional, f"{name} refused its full sample arguments"


def test_builders_are_found() -> None:
    assert {"probe_args", "analysis_args", "encode_args", "poster_args", "preview_args"} <= set(
        builders()
    )


@pytest.mark.parametrize("name", builders())
def test_every_builder_locks_down_every_input(name: str) -> None:
    calls = list(sample_calls(name))
    assert calls
    for argv in calls:
        assert all(isinstance(arg, str) for arg in argv)
        assert Path(argv[0]).name in ("ffmpeg", "ffprobe")
        assert "-safe" not in argv
        if argv[0] == "ffmpeg":
            assert "-nostdin" in argv
        inputs = [i for i, arg in enumerate(argv) if arg == "-i"]
        assert inputs
        start = 1
        for at in inputs:
            options = argv[start:at]
            assert "-protocol_whitelist" in options, argv
            assert options[options.index("-protocol_whitelist") + 1] == "file,pipe"
            assert "-f" in options, argv
            assert options[options.index("-f") + 1] in ALLOWED_INPUTS
            # A named local file, or stdin (a live recording fed by the worker).
            assert argv[at + 1].startswith("file:") or argv[at + 1] == "pipe:0"
            start = at + 2


SPAWNERS = {
    "create_subprocess_exec",
    "create_subprocess_shell",
    "system",
    "popen",
    "posix_spawn",
    "posix_spawnp",
    "fork",
    "forkpty",
}


def spawns(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "subprocess"]
        elif isinstance(node, ast.ImportFrom):
            if node.module == "subprocess" or any(a.name in SPAWNERS for a in node.names):
                found.append(f"from {node.module} import ...")
        elif isinstance(node, ast.Attribute) and (
            node.attr in SPAWNERS or node.attr.startswith(("exec", "spawn"))
        ):
            if isinstance(node.value, ast.Name) and node.value.id in ("os", "asyncio"):
                found.append(f"{node.value.id}.{node.attr}")
    return found


def test_only_the_ffmpeg_runner_starts_processes() -> None:
    offenders = {}
    for folder in ("workers", "relay"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            found = spawns(ast.parse(path.read_text(encoding="utf-8")))
            if found and relative != "workers/ffmpeg_run.py":
                offenders[relative] = found
    assert offenders == {}
    assert spawns(ast.parse((ROOT / "workers/ffmpeg_run.py").read_text())) == [
        "asyncio.create_subprocess_exec"
    ]
