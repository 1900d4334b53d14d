"""What each rendition file is, and the checks that prove our outputs are what they claim."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workers import ffmpeg, ffmpeg_run
from workers.analysis import Loudness
from workers.errors import MediaError
from workers.filters import fit_scale, loudnorm_filter
from workers.probe import parse_probe

VIDEO_MIME = "video/mp4"
AUDIO_MIME = "audio/mp4"
POSTER_MIME = "image/jpeg"
PREVIEW_MIME = "image/webp"
JSON_MIME = "application/json"

VERIFY_TIMEOUT = 30.0
DATA_SAVER_MIN_SECONDS = 60  # shorter messages get no video_360.mp4
TWO_PASS_MAX_SECONDS = 600  # from here on, loudness is normalised in one (dynamic) pass
PREVIEW_SECONDS = 3.0


@dataclass(frozen=True)
class RenditionFile:
    # "video", "video_360", "audio", "poster", "preview", "waveform" or "silences"
    name: str
    path: Path
    mime: str
    width: int | None
    height: int | None
    duration: float | None
    size: int


def loudness_filter(duration: float, measurement: Loudness | None, *, measured: bool) -> str:
    """Linear loudnorm from the analysis pass's measurement below TWO_PASS_MAX_SECONDS;
    dynamic (one pass) from there on or when nothing was measured; none for silence."""
    if duration >= TWO_PASS_MAX_SECONDS or not measured:
        return loudnorm_filter()
    if measurement is None:
        return "anull"  # too quiet to measure: nothing to normalise
    return loudnorm_filter(measurement)


def wants_data_saver(size: tuple[int, int] | None, duration: float | None, height: int) -> bool:
    """A 360p rendition for long messages, when it is really smaller than the main one."""
    if size is None or duration is None or duration < DATA_SAVER_MIN_SECONDS:
        return False
    return fit_scale(size, ffmpeg.SMALL_HEIGHT) < fit_scale(size, height)


def preview_start(duration: float | None) -> float:
    """From 1 s in when there is room: the first second is often the sender settling in."""
    return 1.0 if (duration or 0.0) > 5 else 0.0


async def verify_av(
    path: Path, name: str, *, video: bool, audio: bool, max_height: int | None = None
) -> RenditionFile:
    """Our MP4/M4A really is H.264/AAC with a duration; measured, since inputs may lie."""
    data = await _probe_output(path, "mov")
    info = parse_probe(data)
    problems = []
    if video:
        stream = _first(data, "video")
        if info.video is None or info.video.codec != "h264":
            problems.append("no H.264 video")
        elif stream.get("pix_fmt") != "yuv420p":
            problems.append(f"pixel format {stream.get('pix_fmt')}")
        elif info.video.rotation:
            problems.append(f"rotation {info.video.rotation}")
        elif max_height and min(info.video.width or 0, info.video.height or 0) > max_height:
            problems.append(f"larger than {max_height}p")
    elif info.video_streams:
        problems.append("unexpected video")
    if audio and (info.audio is None or info.audio.codec != "aac"):
        problems.append("no AAC audio")
    if not audio and info.audio_streams:
        problems.append("unexpected audio")
    if not info.duration or info.duration <= 0:
        problems.append("no duration")
    if problems:
        raise MediaError(f"{path.name} failed verification: {', '.join(problems)}")
    size = info.display_size or (None, None)
    mime = VIDEO_MIME if video else AUDIO_MIME
    return RenditionFile(name, path, mime, size[0], size[1], info.duration, file_size(path))


async def verify_poster(path: Path, video: RenditionFile) -> RenditionFile:
    if not file_size(path):
        raise MediaError(f"{path.name} was not written")
    info = parse_probe(await _probe_output(path, "jpeg_pipe"))
    if info.video is None or info.video.codec != "mjpeg":
        raise MediaError(f"{path.name} failed verification: not a JPEG")
    if (info.video.width, info.video.height) != (video.width, video.height):
        raise MediaError(f"{path.name} failed verification: not the size of the video")
    width, height = info.video.width, info.video.height
    return RenditionFile("poster", path, POSTER_MIME, width, height, None, file_size(path))


def verify_preview(path: Path, video: RenditionFile, *, max_width: int) -> RenditionFile:
    # ffmpeg 5.1 cannot decode animated WebP, so its headers are read here.
    with path.open("rb") as file:
        found = webp_info(file.read())
    if found is None:
        raise MediaError(f"{path.name} failed verification: not a WebP")
    width, height, _ = found
    if width > max_width or width > (video.width or 0):
        raise MediaError(f"{path.name} failed verification: {width} pixels wide")
    return RenditionFile("preview", path, PREVIEW_MIME, width, height, None, file_size(path))


def write_json(
    path: Path, name: str, doc: dict[str, Any], check: Callable[[Any], None], duration: float
) -> RenditionFile:
    """Write `doc`, then read it back and `check` it, as every output is checked."""
    path.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
    try:
        check(json.loads(path.read_text(encoding="utf-8")))
    except ValueError as exc:
        raise MediaError(f"{path.name} failed verification: {exc}") from exc
    return RenditionFile(name, path, JSON_MIME, None, None, duration, file_size(path))


def webp_info(data: bytes) -> tuple[int, int, int] | None:
    """(width, height, frames) of a WebP; None for anything else.

    A clip of one frame becomes a still ("VP8 " or "VP8L") rather than an animation.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    pos, size, frames, animated = 12, None, 0, False
    while pos + 8 <= len(data):
        kind, length = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        payload = data[pos + 8 : pos + 8 + length]
        if kind == b"VP8X" and len(payload) >= 10:
            animated = bool(payload[0] & 0x02)
            size = (_u24(payload, 4) + 1, _u24(payload, 7) + 1)
        elif kind == b"ANMF":
            frames += 1
        elif kind == b"VP8 " and len(payload) >= 10 and payload[3:6] == b"\x9d\x01\x2a":
            size = size or (_u16(payload, 6) & 0x3FFF, _u16(payload, 8) & 0x3FFF)
            frames += 0 if animated else 1
        elif kind == b"VP8L" and len(payload) >= 5 and payload[0] == 0x2F:
            bits = int.from_bytes(payload[1:5], "little")
            size = size or ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
            frames += 0 if animated else 1
        pos += 8 + length + (length & 1)  # chunks are padded to even sizes
    if size is None or not frames:
        return None
    return size[0], size[1], frames


# Metadata calls on local files: too quick to be worth a thread.


def make_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)


def remove_files(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def read_text(path: Path) -> str:
    """A small text file ffmpeg wrote; empty when it wrote none."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def file_size(path: Path) -> int:
    """Size in bytes; 0 for a missing file."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


async def _probe_output(path: Path, fmt: str) -> dict[str, Any]:
    stdout = await ffmpeg_run.run(ffmpeg.probe_args(path, fmt), timeout=VERIFY_TIMEOUT)
    try:
        return json.loads(stdout)
    except ValueError as exc:
        raise MediaError(f"ffprobe printed no JSON for {path.name}") from exc


def _first(data: dict[str, Any], kind: str) -> dict[str, Any]:
    streams = data.get("streams") or []
    return next((s for s in streams if s.get("codec_type") == kind), {})


def _u16(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 2], "little")


def _u24(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 3], "little")
