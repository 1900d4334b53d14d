"""Turn an upload into phone-playable renditions: video.mp4 + poster.jpg, or audio.m4a."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relay.settings import MediaSettings
from workers import ffmpeg
from workers.errors import MediaError
from workers.probe import MediaInfo, check_limits, parse_probe, probe

VIDEO_MIME = "video/mp4"
AUDIO_MIME = "audio/mp4"
POSTER_MIME = "image/jpeg"

VERIFY_TIMEOUT = 30.0
POSTER_TIMEOUT = 60.0


@dataclass(frozen=True)
class RenditionFile:
    name: str  # "video", "audio" or "poster"
    path: Path
    mime: str
    width: int | None
    height: int | None
    duration: float | None
    size: int


async def make_renditions(
    src: Path, workdir: Path, settings: MediaSettings, *, max_height: int = 720
) -> tuple[MediaInfo, list[RenditionFile]]:
    """Probe, check and transcode `src` into `workdir`; every output is verified by ffprobe.

    Raises MediaRejected for uploads that can never work, FFmpegError (FFmpegTimeout) when
    a run fails, and a bare MediaError when an output fails verification.
    """
    fmt, info = await probe(src)
    check_limits(info, max_duration=settings.max_duration_seconds)
    max_seconds = settings.max_duration_seconds
    # Recorder WebM has no duration in its header; then the worst case bounds the run.
    expected = min(info.duration or max_seconds, max_seconds)
    timeout = 60.0 + 4 * expected
    nice, threads = settings.ffmpeg_nice, settings.ffmpeg_threads
    _make_dir(workdir)

    if info.video is None:
        audio_path = workdir / "audio.m4a"
        argv = ffmpeg.audio_args(src, fmt, audio_path, threads=threads, max_seconds=max_seconds)
        await ffmpeg.run(argv, timeout=timeout, nice=nice)
        audio = await _verify(audio_path, "audio", AUDIO_MIME, video=False, audio=True)
        return info, [audio]

    has_audio = info.audio is not None
    video_path = workdir / "video.mp4"
    argv = ffmpeg.video_args(
        src,
        fmt,
        video_path,
        height=max_height,
        has_audio=has_audio,
        threads=threads,
        max_seconds=max_seconds,
        fps=info.video.fps,
    )
    await ffmpeg.run(argv, timeout=timeout, nice=nice)
    video = await _verify(video_path, "video", VIDEO_MIME, video=True, audio=has_audio)

    poster_path = workdir / "poster.jpg"
    # A seek past the last frame (clips of a frame or two) writes nothing and exits 0:
    # then take the first frame.
    for at_seconds in (min(1.0, (video.duration or 0.0) / 2), 0.0):
        _remove(poster_path)
        argv = ffmpeg.poster_args(video_path, poster_path, at_seconds=at_seconds)
        await ffmpeg.run(argv, timeout=POSTER_TIMEOUT, nice=nice)
        if _size(poster_path):
            break
    poster = await _verify_poster(poster_path, video)
    return info, [video, poster]


async def _verify(path: Path, name: str, mime: str, *, video: bool, audio: bool) -> RenditionFile:
    """Our output really is H.264/AAC with a duration; measured, since inputs may not say."""
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
    return RenditionFile(
        name=name,
        path=path,
        mime=mime,
        width=size[0],
        height=size[1],
        duration=info.duration,
        size=_size(path),
    )


async def _verify_poster(path: Path, video: RenditionFile) -> RenditionFile:
    if not _size(path):
        raise MediaError(f"{path.name} was not written")
    info = parse_probe(await _probe_output(path, "jpeg_pipe"))
    if info.video is None or info.video.codec != "mjpeg":
        raise MediaError(f"{path.name} failed verification: not a JPEG")
    if (info.video.width, info.video.height) != (video.width, video.height):
        raise MediaError(f"{path.name} failed verification: not the size of the video")
    return RenditionFile(
        name="poster",
        path=path,
        mime=POSTER_MIME,
        width=info.video.width,
        height=info.video.height,
        duration=None,
        size=_size(path),
    )


async def _probe_output(path: Path, fmt: str) -> dict[str, Any]:
    stdout = await ffmpeg.run(ffmpeg.probe_args(path, fmt), timeout=VERIFY_TIMEOUT)
    try:
        return json.loads(stdout)
    except ValueError as exc:
        raise MediaError(f"ffprobe printed no JSON for {path.name}") from exc


# Metadata calls on local files: too quick to be worth a thread.


def _make_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def _size(path: Path) -> int:
    """Size in bytes; 0 for a missing file."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _first(data: dict[str, Any], kind: str) -> dict[str, Any]:
    streams = data.get("streams") or []
    return next((s for s in streams if s.get("codec_type") == kind), {})
