"""Turn an upload into phone-playable renditions, in as few decodes as possible:

probe      ffprobe; reject what we will not decode
analyse    one decode of the audio: loudness, silences, waveform (and its true length)
transcode  one decode into video.mp4 (+ video_360.mp4) + audio.m4a, loudness-normalised
poster     poster.jpg from our video.mp4
preview    preview.webp from our video.mp4
"""

from __future__ import annotations

import asyncio
import sys
from array import array
from dataclasses import dataclass
from pathlib import Path

from relay.settings import MediaSettings
from workers import analysis, ffmpeg, ffmpeg_run
from workers.errors import MediaRejected
from workers.probe import UNREADABLE, MediaInfo, check_limits, measure_length, probe
from workers.renditions import (
    DATA_SAVER_MIN_SECONDS,
    PREVIEW_SECONDS,
    TWO_PASS_MAX_SECONDS,
    RenditionFile,
    file_size,
    loudness_filter,
    make_dir,
    preview_start,
    read_text,
    remove_files,
    verify_av,
    verify_poster,
    verify_preview,
    wants_data_saver,
    write_json,
)
from workers.steps import OnStep, Steps, run_all

__all__ = [
    "DATA_SAVER_MIN_SECONDS",
    "STEPS",
    "TWO_PASS_MAX_SECONDS",
    "OnStep",
    "RenditionFile",
    "make_renditions",
    "time_budget",
]

STEPS = ("probe", "analyse", "transcode", "poster", "preview")
POSTER_TIMEOUT = 60.0
DURATION_SLACK = 0.25  # container and codec rounding, not a longer recording


def bound(settings: MediaSettings) -> float:
    # Every decode stops one second past the maximum: enough to tell "too long".
    return settings.max_duration_seconds + 1


def time_budget(settings: MediaSettings, seconds: float | None) -> float:
    """How long one decode of a recording `seconds` long may run (None: not known)."""
    limit = settings.max_duration_seconds
    length = limit if seconds is None else min(seconds, limit)
    return settings.timeout_seconds + settings.timeout_factor * length


@dataclass(frozen=True)
class _Job:
    src: Path
    fmt: str
    info: MediaInfo
    out: Path
    settings: MediaSettings
    max_height: int
    length: float | None  # from the header, or read from the packets; None: not known

    @property
    def bound(self) -> float:
        return bound(self.settings)

    def timeout(self, seconds: float | None) -> float:
        return time_budget(self.settings, seconds)

    def check_duration(self, measured: float) -> None:
        check_duration(self.settings, measured)


def check_duration(settings: MediaSettings, measured: float) -> None:
    """MediaRejected when a measured length is over the maximum."""
    limit = settings.max_duration_seconds
    if measured > limit + DURATION_SLACK:
        raise MediaRejected(f"This recording is longer than the maximum of {_span(limit)}.")


@dataclass(frozen=True)
class _Sound:
    duration: float  # measured by decoding
    audio_filter: str
    files: list[RenditionFile]  # waveform, silences


async def make_renditions(
    src: Path,
    workdir: Path,
    settings: MediaSettings,
    *,
    max_height: int = 720,
    on_step: OnStep | None = None,
) -> tuple[MediaInfo, list[RenditionFile]]:
    """Probe, check and convert `src` into `workdir`; every output is verified.

    Renditions, in this order, as they apply: video, video_360, audio, poster, preview,
    waveform, silences. Raises MediaRejected for uploads that can never work, FFmpegError
    (FFmpegTimeout) when a run fails, and a bare MediaError when an output fails its check.
    `on_step(step, state)` hears "running" then "done" or "failed" for each of STEPS, or
    "skipped" for those that do not apply.
    """
    steps = Steps(on_step)
    async with steps.run("probe"):
        fmt, info = await probe(src)
        check_limits(info, max_duration=settings.max_duration_seconds)
        # Without a length in the header, every decode would get the budget of the longest
        # recording allowed: read the length from the packets first.
        length = info.duration or await measure_length(
            src, fmt, timeout=settings.timeout_seconds, max_seconds=bound(settings)
        )
    job = _Job(src, fmt, info, workdir, settings, max_height, length)
    make_dir(workdir)

    sound = None
    if info.audio is None:
        await steps.skip("analyse")
    else:
        async with steps.run("analyse"):
            sound = await _analyse(job)
    async with steps.run("transcode"):
        media = await _transcode(job, sound)
    video = next((f for f in media if f.name == "video"), None)
    pictures: list[RenditionFile] = []
    if video is None:
        await steps.skip("poster")
        await steps.skip("preview")
    else:
        pictures = await run_all(
            steps.wrap("poster", lambda: _poster(job, video)),
            steps.wrap("preview", lambda: _preview(job, video)),
        )
    return info, [*media, *pictures, *(sound.files if sound else [])]


async def _analyse(job: _Job) -> _Sound | None:
    """Decode the audio once; None when it holds no samples at all."""
    pcm, marks = job.out / "analysis.pcm", job.out / "silences.txt"
    header = job.info.duration
    measure = header is None or header < TWO_PASS_MAX_SECONDS
    argv = ffmpeg.analysis_args(
        job.src, job.fmt, pcm=pcm, silences=marks, loudness=measure, max_seconds=job.bound
    )
    try:
        _, stderr = await ffmpeg_run.run_with_stderr(
            argv, timeout=job.timeout(job.length), nice=job.settings.ffmpeg_nice
        )
        samples = file_size(pcm) // 2
        duration = samples / analysis.WAVEFORM_RATE
        job.check_duration(duration)
        if not samples:
            if job.info.video is None:
                raise MediaRejected(UNREADABLE)
            return None  # an empty audio track: a silent video
        peaks = await asyncio.to_thread(read_peaks, pcm, samples)
        silences = analysis.parse_silences(read_text(marks), duration)
    finally:
        remove_files(pcm, marks)

    measurement = analysis.parse_loudnorm(stderr) if measure else None
    audio_filter = loudness_filter(duration, measurement, measured=measure)
    return _Sound(duration, audio_filter, sound_files(job.out, duration, peaks, silences))


def sound_files(
    out: Path, duration: float, peaks: list[float], silences: list[analysis.Silence]
) -> list[RenditionFile]:
    """The waveform and silences documents, written into `out` and checked."""
    return [
        write_json(
            out / "waveform.json",
            "waveform",
            analysis.waveform_json(duration, peaks),
            analysis.check_waveform,
            duration,
        ),
        write_json(
            out / "silences.json",
            "silences",
            analysis.silences_json(silences),
            lambda doc: analysis.check_silences(doc, duration),
            duration,
        ),
    ]


def read_peaks(pcm: Path, samples: int) -> list[float]:
    """Normalised peaks of the PCM file, read one window at a time."""
    count = analysis.peak_count(samples / analysis.WAVEFORM_RATE)
    peaks = []
    with pcm.open("rb") as file:
        for size in analysis.window_sizes(samples, count):
            window = array("h")
            window.fromfile(file, size)
            if sys.byteorder == "big":
                window.byteswap()  # s16le
            peaks.append(analysis.window_peak(window))
    return analysis.normalise(peaks)


async def _transcode(job: _Job, sound: _Sound | None) -> list[RenditionFile]:
    info, out = job.info, job.out
    duration = sound.duration if sound else info.duration
    video = out / "video.mp4" if info.video else None
    size = info.display_size
    small = out / "video_360.mp4" if wants_data_saver(size, duration, job.max_height) else None
    audio = out / "audio.m4a" if sound else None
    argv = ffmpeg.encode_args(
        job.src,
        job.fmt,
        video=video,
        small_video=small,
        audio=audio,
        audio_filter=sound.audio_filter if sound else None,
        audio_channels=info.audio.channels if info.audio else None,
        height=job.max_height,
        fps=info.video.fps if info.video else None,
        threads=job.settings.ffmpeg_threads,
        max_seconds=job.bound,
    )
    budget = job.timeout(duration or job.length)
    await ffmpeg_run.run(argv, timeout=budget, nice=job.settings.ffmpeg_nice)
    has_sound = sound is not None
    checks = []
    if video:
        checks.append(verify_av(video, "video", video=True, audio=has_sound))
    if small:
        checks.append(
            verify_av(
                small, "video_360", video=True, audio=has_sound, max_height=ffmpeg.SMALL_HEIGHT
            )
        )
    if audio:
        checks.append(verify_av(audio, "audio", video=False, audio=True))
    files = await run_all(*checks)
    for file in files:
        job.check_duration(file.duration or 0.0)
    if video and not small and wants_data_saver(size, files[0].duration, job.max_height):
        # A silent recording without a duration in its header: only now is its length known.
        small = out / "video_360.mp4"
        argv = ffmpeg.small_video_args(
            video,
            small,
            has_audio=has_sound,
            threads=job.settings.ffmpeg_threads,
            max_seconds=job.bound,
        )
        await ffmpeg_run.run(
            argv, timeout=job.timeout(files[0].duration), nice=job.settings.ffmpeg_nice
        )
        small_file = await verify_av(
            small, "video_360", video=True, audio=has_sound, max_height=ffmpeg.SMALL_HEIGHT
        )
        files.insert(1, small_file)
    return files


async def make_poster(out: Path, video: RenditionFile, *, nice: int) -> Path:
    """poster.jpg from our video (verified by verify_poster)."""
    path = out / "poster.jpg"
    # A seek past the last frame (clips of a frame or two) writes nothing and exits 0:
    # then take the first frame.
    for at_seconds in (min(1.0, (video.duration or 0.0) / 2), 0.0):
        remove_files(path)
        argv = ffmpeg.poster_args(video.path, path, at_seconds=at_seconds)
        await ffmpeg_run.run(argv, timeout=POSTER_TIMEOUT, nice=nice)
        if file_size(path):
            break
    return path


async def make_preview(out: Path, video: RenditionFile, *, nice: int) -> Path:
    """preview.webp from our video (verified by verify_preview)."""
    path = out / "preview.webp"
    start = preview_start(video.duration)
    argv = ffmpeg.preview_args(video.path, path, start=start, seconds=PREVIEW_SECONDS)
    await ffmpeg_run.run(argv, timeout=POSTER_TIMEOUT, nice=nice)
    return path


async def _poster(job: _Job, video: RenditionFile) -> RenditionFile:
    path = await make_poster(job.out, video, nice=job.settings.ffmpeg_nice)
    return await verify_poster(path, video)


async def _preview(job: _Job, video: RenditionFile) -> RenditionFile:
    path = await make_preview(job.out, video, nice=job.settings.ffmpeg_nice)
    return verify_preview(path, video, max_width=ffmpeg.PREVIEW_WIDTH)


def _span(seconds: float) -> str:
    if seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute" + ("s" if minutes != 1 else "")
    return f"{seconds:g} seconds"
