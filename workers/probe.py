"""What an upload is: its demuxer by magic bytes, and its streams by ffprobe."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workers import ffmpeg, ffmpeg_run
from workers.errors import FFmpegError, FFmpegTimeout, MediaRejected

SNIFF_BYTES = 64

NOT_MEDIA = "This file is not a recognised audio or video format."
EMPTY = "The upload is empty."
UNREADABLE = "This file could not be read as audio or video (it may be damaged or incomplete)."

# ISO base media files start with one of these boxes; ffmpeg's mov,mp4,m4a demuxer is "mov".
_MP4_BOXES = {b"ftyp", b"moov", b"mdat", b"wide", b"free"}


def sniff_format(head: bytes) -> str | None:
    """The ffmpeg demuxer for these first bytes, from an allow-list; None for anything else.

    Never the file name: a playlist renamed .webm must not reach a playlist demuxer.
    """
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"  # also WebM
    if head[4:8] in _MP4_BOXES:
        return "mov"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"ID3") or _is_mpeg_audio_frame(head):
        return "mp3"
    return None


def _is_mpeg_audio_frame(head: bytes) -> bool:
    if len(head) < 3 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0b11
    layer = (head[1] >> 1) & 0b11
    bitrate = head[2] >> 4
    # Layer 0 is ADTS AAC, version 1 is reserved, bitrate 15 is invalid.
    return version != 1 and layer != 0 and bitrate != 0xF


@dataclass(frozen=True)
class VideoInfo:
    codec: str | None
    width: int | None
    height: int | None
    fps: float | None
    rotation: int = 0  # clockwise degrees to turn the picture for display: 0, 90, 180 or 270


@dataclass(frozen=True)
class AudioInfo:
    codec: str | None
    channels: int | None
    sample_rate: int | None


@dataclass(frozen=True)
class MediaInfo:
    format_name: str | None
    duration: float | None
    bit_rate: int | None
    video: VideoInfo | None
    audio: AudioInfo | None
    video_streams: int = 0
    audio_streams: int = 0
    other_streams: int = 0  # subtitles, data, and pictures attached to audio (cover art)

    @property
    def display_size(self) -> tuple[int, int] | None:
        """(width, height) as shown, after rotation."""
        if self.video is None or self.video.width is None or self.video.height is None:
            return None
        if self.video.rotation in (90, 270):
            return self.video.height, self.video.width
        return self.video.width, self.video.height


def parse_probe(data: dict[str, Any]) -> MediaInfo:
    """MediaInfo from `ffprobe -print_format json -show_format -show_streams` output."""
    fmt = data.get("format") or {}
    video: VideoInfo | None = None
    audio: AudioInfo | None = None
    counts = {"video": 0, "audio": 0, "other": 0}
    streams = data.get("streams") or []
    for stream in streams:
        kind = stream.get("codec_type")
        if kind == "video" and (stream.get("disposition") or {}).get("attached_pic"):
            kind = "other"
        if kind == "video":
            video = video or _video(stream)
        elif kind == "audio":
            audio = audio or _audio(stream)
        else:
            kind = "other"
        counts[kind] += 1
    return MediaInfo(
        format_name=fmt.get("format_name"),
        duration=_float(fmt.get("duration")) or _longest(streams),
        bit_rate=_int(fmt.get("bit_rate")),
        video=video,
        audio=audio,
        video_streams=counts["video"],
        audio_streams=counts["audio"],
        other_streams=counts["other"],
    )


def check_limits(
    info: MediaInfo,
    *,
    max_duration: float,
    max_width: int = 3840,
    max_height: int = 2160,
    max_fps: float = 120,
) -> None:
    """Reject what we will not decode; width and height limits apply in either orientation."""
    if info.video is None and info.audio is None:
        raise MediaRejected("This file has no audio or video in it.")
    if info.video_streams > 1:
        raise MediaRejected("This file has more than one video track; only one is supported.")
    if info.video is not None:
        width, height = info.video.width, info.video.height
        if not width or not height:
            raise MediaRejected(UNREADABLE)
        if max(width, height) > max(max_width, max_height) or min(width, height) > min(
            max_width, max_height
        ):
            raise MediaRejected(
                f"The video is {width}×{height} pixels; "
                f"the largest supported size is {max_width}×{max_height}."
            )
        if info.video.fps is not None and info.video.fps > max_fps:
            raise MediaRejected(
                f"The video has {info.video.fps:.0f} frames per second; "
                f"at most {max_fps:.0f} are supported."
            )
    if info.duration is not None and info.duration > max_duration:
        raise MediaRejected(
            f"The recording is {_clock(info.duration)} long; "
            f"the longest supported is {_clock(max_duration)}."
        )


def parse_progress(report: str) -> float | None:
    """Seconds reached, from ffmpeg's `-progress` output: its last `out_time_us`."""
    reached = None
    for line in report.splitlines():
        key, _, value = line.partition("=")
        if key == "out_time_us":
            reached = int(value) / 1e6 if value.strip().lstrip("-").isdigit() else None
    return reached if reached is not None and reached > 0 else None


async def measure_length(
    src: Path,
    fmt: str,
    *,
    timeout: float,  # noqa: ASYNC109
    max_seconds: float | None = None,
) -> float | None:
    """The length of a recording whose header does not say it (MediaRecorder WebM), read
    from its packets; None when they do not tell. A run out of time raises FFmpegTimeout."""
    argv = ffmpeg.length_args(src, fmt, max_seconds=max_seconds or 24 * 3600.0)
    try:
        stdout = await ffmpeg_run.run(argv, timeout=timeout)
    except FFmpegTimeout:
        raise
    except FFmpegError:
        return None  # the decodes will tell what is wrong with it
    return parse_progress(stdout.decode("utf-8", "replace"))


async def probe(src: Path, *, timeout: float = 30.0) -> tuple[str, MediaInfo]:  # noqa: ASYNC109
    """(demuxer name, MediaInfo) of an upload, or MediaRejected.

    A probe that times out raises FFmpegTimeout, so the job may be retried.
    """
    head = _read_head(src)
    if not head:
        raise MediaRejected(EMPTY)
    fmt = sniff_format(head)
    if fmt is None:
        raise MediaRejected(NOT_MEDIA)
    try:
        stdout = await ffmpeg_run.run(ffmpeg.probe_args(src, fmt), timeout=timeout)
    except FFmpegTimeout:
        raise
    except FFmpegError as exc:
        raise MediaRejected(UNREADABLE) from exc
    try:
        data = json.loads(stdout)
    except ValueError as exc:
        raise MediaRejected(UNREADABLE) from exc
    return fmt, parse_probe(data)


# A nominal rate above this is a container time base (Matroska's is 1000), not a frame rate.
PLAUSIBLE_NOMINAL_FPS = 240


def _read_head(src: Path) -> bytes:
    with src.open("rb") as file:
        return file.read(SNIFF_BYTES)


def _video(stream: dict[str, Any]) -> VideoInfo:
    return VideoInfo(
        codec=stream.get("codec_name"),
        width=_int(stream.get("width")) or None,
        height=_int(stream.get("height")) or None,
        fps=_frame_rate(stream),
        rotation=_rotation(stream),
    )


def _audio(stream: dict[str, Any]) -> AudioInfo:
    return AudioInfo(
        codec=stream.get("codec_name"),
        channels=_int(stream.get("channels")),
        sample_rate=_int(stream.get("sample_rate")),
    )


def _rotation(stream: dict[str, Any]) -> int:
    for side_data in stream.get("side_data_list") or []:
        # ffprobe reports the display matrix counter-clockwise: -90 means turn 90° clockwise.
        degrees = _float(side_data.get("rotation"))
        if degrees is not None:
            return round(-degrees) % 360
    degrees = _float((stream.get("tags") or {}).get("rotate"))
    return round(degrees) % 360 if degrees is not None else 0


def _longest(streams: list[dict[str, Any]]) -> float | None:
    durations = [d for s in streams if (d := _float(s.get("duration"))) is not None]
    return max(durations, default=None)


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None  # missing, or "N/A"
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    number = _float(value)
    return int(number) if number is not None else None


def _frame_rate(stream: dict[str, Any]) -> float | None:
    """The measured rate, else the nominal one; None when neither means frames per second.

    Browser WebM with unevenly spaced frames has no avg_frame_rate, and its r_frame_rate is
    then the 1 kHz time base: that is no frame rate, and must not reject the recording.
    """
    measured = _rate(stream.get("avg_frame_rate"))
    if measured:
        return measured
    nominal = _rate(stream.get("r_frame_rate"))
    return nominal if nominal is not None and nominal <= PLAUSIBLE_NOMINAL_FPS else None


def _rate(value: Any) -> float | None:
    """29.97 for "30000/1001"; None for "0/0" and nonsense."""
    if not isinstance(value, str):
        return None
    num, _, den = value.partition("/")
    numerator, denominator = _float(num), _float(den or "1")
    if not numerator or not denominator or numerator < 0 or denominator < 0:
        return None
    return numerator / denominator


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"
