"""Test media built with ffmpeg's lavfi sources, so no binary media is committed."""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

_FFMPEG = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]


def make_webm(
    path: Path,
    seconds: float = 3,
    size: str = "320x240",
    audio: bool = True,
    video: bool = True,
    *,
    rate: int = 30,
    codec: str = "vp8",
    vfr: bool = False,
    full_range: bool = False,
) -> Path:
    """VP8 (or VP9) + Opus WebM without duration or cues in the header, like Chrome's
    MediaRecorder. `vfr` drops frames irregularly, as a busy recorder does; `full_range`
    tags the video as Chromium's screen-and-camera canvas sometimes does."""
    args = _sources(seconds, size, rate, audio=audio, video=video)
    if video and vfr:
        args += ["-vf", "select='lt(mod(n,10),4)+eq(mod(n,7),0)'", "-fps_mode", "vfr"]
    if video:
        encoder = {"vp8": "libvpx", "vp9": "libvpx-vp9"}[codec]
        args += ["-c:v", encoder, "-deadline", "realtime", "-cpu-used", "8", "-b:v", "400k"]
        args += ["-color_range", "pc"] if full_range else []
    if audio:
        args += ["-c:a", "libopus", "-b:a", "48k"]
    return _write(path, [*args, "-live", "1", "-f", "webm"])


def make_mp4(
    path: Path,
    seconds: float = 2,
    size: str = "320x240",
    rotate: int | None = None,
    *,
    audio: bool = True,
    rate: int = 30,
    metadata: Mapping[str, str] | None = None,
    container: str = "mp4",
) -> Path:
    """H.264 + AAC MP4 like Safari's (or a camera's `container="mov"`), optionally with a
    display rotation like a phone's."""
    args = _sources(seconds, size, rate, audio=audio, video=True)
    args += _h264()
    if audio:
        args += ["-c:a", "aac", "-b:a", "64k"]
    for key, value in (metadata or {}).items():
        args += ["-metadata", f"{key}={value}"]
    _write(path, [*args, "-f", container])
    if rotate:
        # ffmpeg 5.1 has no -display_rotation and its mp4 muxer ignores a "rotate" tag.
        set_mp4_rotation(path, rotate)
    return path


def make_mkv_h264(
    path: Path, seconds: float = 2, size: str = "320x240", *, audio: bool = True
) -> Path:
    """H.264 + Opus Matroska, which Chrome may pick for MediaRecorder."""
    args = _sources(seconds, size, 30, audio=audio, video=True) + _h264()
    if audio:
        args += ["-c:a", "libopus", "-b:a", "48k"]
    return _write(path, [*args, "-f", "matroska"])


_AUDIO = {
    "ogg": ["-c:a", "libopus", "-b:a", "48k", "-f", "ogg"],
    "wav": ["-c:a", "pcm_s16le", "-f", "wav"],
    "mp3": ["-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3"],
    "m4a": ["-c:a", "aac", "-b:a", "64k", "-f", "ipod"],
    "flac": ["-c:a", "flac", "-f", "flac"],
}


def make_audio(
    path: Path, seconds: float = 2, kind: str = "ogg", *, channels: int = 1, cover: bool = False
) -> Path:
    """A sine tone in one of "ogg" (Opus), "wav", "mp3", "m4a" (AAC) or "flac".

    `cover` adds a JPEG cover picture (an attached_pic video stream), as music files have.
    """
    args = _sources(seconds, "", 0, audio=True, video=False)
    if cover:
        args += ["-f", "lavfi", "-i", "testsrc2=size=64x64:duration=0.04"]
        args += ["-map", "0:a", "-map", "1:v", "-frames:v", "1", "-c:v", "mjpeg"]
        args += ["-disposition:v", "attached_pic"]
    return _write(path, [*args, "-ac", str(channels), *_AUDIO[kind]])


def make_speech(path: Path, text: str, lang: str = "en") -> Path:
    """`text` spoken by espeak-ng as a WAV file (22.05 kHz mono)."""
    subprocess.run(
        ["espeak-ng", "-v", lang, "-w", str(path), text], check=True, capture_output=True
    )
    return path


def make_gaps(path: Path, parts: list[float], kind: str = "ogg") -> Path:
    """A 440 Hz tone and silence in turn, `parts` seconds each (tone first; 0 skips one)."""
    sources = ["sine=frequency=440:sample_rate=48000", "anullsrc=r=48000:cl=mono"]
    used = [(sources[i % 2], seconds) for i, seconds in enumerate(parts) if seconds > 0]
    args: list[str] = []
    for source, seconds in used:
        args += ["-f", "lavfi", "-t", f"{seconds}", "-i", source]
    inputs = "".join(f"[{i}:a]" for i in range(len(used)))
    args += ["-filter_complex", f"{inputs}concat=n={len(used)}:v=0:a=1", "-ac", "1"]
    return _write(path, [*args, *_AUDIO[kind]])


def make_long_video(path: Path, seconds: float, size: str = "480x368", rate: int = 1) -> Path:
    """A long but cheap recording: few frames of H.264, 16 kHz mono PCM, in Matroska."""
    args = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]
    args += ["-f", "lavfi", "-i", f"sine=frequency=300:sample_rate=16000:duration={seconds}"]
    return _write(path, [*args, *_h264(), "-c:a", "pcm_s16le", "-f", "matroska"])


def make_lying_mkv(path: Path, seconds: float, claimed: float) -> Path:
    """`seconds` of 8 kHz PCM in Matroska whose header claims it lasts `claimed` seconds."""
    source = f"sine=frequency=300:sample_rate=8000:duration={seconds}"
    _write(path, ["-f", "lavfi", "-i", source, "-c:a", "pcm_s16le", "-f", "matroska"])
    data = bytearray(path.read_bytes())
    # Segment Info's Duration: ID 0x4489, an 8-byte float in milliseconds.
    at = data.index(b"\x44\x89\x88")
    struct.pack_into(">d", data, at + 3, claimed * 1000)
    path.write_bytes(bytes(data))
    return path


def make_raw_mkv(path: Path, claimed: tuple[int, int]) -> Path:
    """A 256x256 raw video frame in Matroska whose header claims another size.

    Raw video has no size of its own, so the header is all ffprobe can go by.
    """
    source = "testsrc2=size=256x256:rate=5:duration=0.2"
    args = ["-f", "lavfi", "-i", source, "-c:v", "rawvideo", "-pix_fmt", "yuv420p"]
    _write(path, [*args, "-f", "matroska"])
    data = bytearray(path.read_bytes())
    # PixelWidth (0xB0) and PixelHeight (0xBA), each a 2-byte unsigned integer: 256.
    for element, value in zip((b"\xb0", b"\xba"), claimed, strict=True):
        at = data.index(element + b"\x82\x01\x00")
        struct.pack_into(">H", data, at + 2, value)
    path.write_bytes(bytes(data))
    return path


def mp4_boxes(path: Path) -> list[str]:
    """Types of the top-level boxes of an MP4, in file order."""
    data = path.read_bytes()
    return [kind for kind, _, _ in _boxes(data, 0, len(data))]


def set_mp4_rotation(path: Path, degrees: int) -> None:
    """Write a clockwise display rotation into the video track header, as phones do."""
    data = bytearray(path.read_bytes())
    tkhd = _video_tkhd(data)
    version = data[tkhd]
    width, height = struct.unpack_from(">II", data, tkhd + (88 if version else 76))
    width, height = width >> 16, height >> 16
    a, b, c, d, tx, ty = {
        90: (0, 1, -1, 0, height, 0),
        180: (-1, 0, 0, -1, width, height),
        270: (0, -1, 1, 0, 0, width),
    }[degrees % 360]
    matrix = (a << 16, b << 16, 0, c << 16, d << 16, 0, tx << 16, ty << 16, 1 << 30)
    struct.pack_into(">9i", data, tkhd + (52 if version else 40), *matrix)
    path.write_bytes(bytes(data))


def _sources(seconds: float, size: str, rate: int, *, audio: bool, video: bool) -> list[str]:
    args: list[str] = []
    if video:
        # testsrc2 is yuv420p and rounds odd sizes down to even; testsrc (RGB) keeps them.
        width, height = (int(n) for n in size.split("x"))
        source = "testsrc" if width % 2 or height % 2 else "testsrc2"
        args += ["-f", "lavfi", "-i", f"{source}=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        source = f"sine=frequency=440:sample_rate=48000:duration={seconds}"
        args += ["-f", "lavfi", "-i", source]
    return args


def _h264() -> list[str]:
    return ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


def _write(path: Path, args: list[str]) -> Path:
    subprocess.run([*_FFMPEG, *args, str(path)], check=True, capture_output=True, timeout=60)
    return path


def _boxes(data: bytes | bytearray, start: int, end: int) -> Iterator[tuple[str, int, int]]:
    """(type, payload start, box end) of each box between start and end."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            raise ValueError(f"bad box size {size} at {pos}")
        yield kind.decode("latin-1"), pos + header, pos + size
        pos += size


def _child(data: bytearray, start: int, end: int, kind: str) -> tuple[int, int] | None:
    for child, payload, box_end in _boxes(data, start, end):
        if child == kind:
            return payload, box_end
    return None


def _video_tkhd(data: bytearray) -> int:
    moov = _child(data, 0, len(data), "moov")
    assert moov is not None, "no moov box"
    for kind, payload, end in _boxes(data, *moov):
        if kind != "trak":
            continue
        mdia = _child(data, payload, end, "mdia")
        hdlr = mdia and _child(data, *mdia, "hdlr")
        if hdlr and data[hdlr[0] + 8 : hdlr[0] + 12] == b"vide":
            tkhd = _child(data, payload, end, "tkhd")
            assert tkhd is not None
            return tkhd[0]
    raise ValueError("no video track")
