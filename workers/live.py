"""Renditions made while a recording arrives, so that it is ready when its last byte is.

One continuous ffmpeg reads the recording as it grows (never one per chunk: a recorder's
chunks are not files) and writes fragmented MP4s with a keyframe every two seconds, the
waveform's PCM, the silence marks and 16 kHz PCM for Whisper. At the last byte only the
tail is left to encode; the final faststart files are remuxed from the fragments, never
re-encoded, so there is one continuous audio encode and no click at any join. The poster
and preview are cut from the growing video as soon as their seconds exist.

Loudness uses loudnorm's dynamic mode, a streaming normaliser with a 3 s look-ahead. The
after-the-fact path measures first and applies one linear gain below ten minutes; here the
gain would only be known at the end, and applying it then means encoding the whole sound
again, which is the wait this path exists to avoid. (After-the-fact recordings of ten
minutes or more use the same dynamic mode.)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from relay.settings import MediaSettings
from workers import analysis, ffmpeg, ffmpeg_run
from workers.errors import MediaError
from workers.filters import fit_scale
from workers.probe import MediaInfo
from workers.renditions import (
    PREVIEW_SECONDS,
    RenditionFile,
    file_size,
    make_dir,
    read_text,
    remove_files,
    verify_av,
    verify_poster,
    verify_preview,
    wants_data_saver,
)
from workers.steps import OnStep, Steps, run_all
from workers.transcode import (
    bound,
    check_duration,
    make_poster,
    make_preview,
    read_peaks,
    sound_files,
    time_budget,
)

# The poster (at 1 s) and preview (1 s to 4 s) are cut once the video holds this much, so
# that their fragments are complete.
PICTURES_AFTER = 1.0 + PREVIEW_SECONDS + 2 * ffmpeg.KEYFRAME_SECONDS
STEPS = ("analyse", "transcode", "poster", "preview")


class Outputs:
    """The files of one live run, in `out`."""

    def __init__(self, out: Path, info: MediaInfo, max_height: int) -> None:
        self.out = out
        size = info.display_size
        self.video = out / "video.frag.mp4" if info.video else None
        # Its length is not known yet: made when the size calls for it, kept from 60 s on.
        small = size is not None and fit_scale(size, ffmpeg.SMALL_HEIGHT) < fit_scale(
            size, max_height
        )
        self.small = out / "video_360.frag.mp4" if small else None
        sound = info.audio is not None
        self.audio = out / "audio.frag.mp4" if sound else None
        self.pcm = out / "analysis.pcm" if sound else None
        self.silences = out / "silences.txt" if sound else None
        self.speech = out / "speech.pcm" if sound else None


async def make_live_renditions(
    fmt: str,
    info: MediaInfo,
    chunks: AsyncIterator[bytes],
    workdir: Path,
    settings: MediaSettings,
    *,
    max_height: int = 720,
    on_step: OnStep | None = None,
) -> list[RenditionFile]:
    """Renditions of the recording `chunks` bring (probed as `fmt`, `info` from its first
    bytes), as make_renditions makes them: video, video_360, audio, poster, preview,
    waveform, silences, as they apply. `workdir/speech.pcm` (16 kHz s16le mono) grows while
    it runs, for live transcription. Raises what make_renditions raises."""
    make_dir(workdir)
    outputs = Outputs(workdir, info, max_height)
    steps = Steps(on_step)
    pictures = _Pictures(outputs, settings)
    argv = ffmpeg.live_args(
        fmt,
        video=outputs.video,
        small_video=outputs.small,
        audio=outputs.audio,
        pcm=outputs.pcm,
        silences=outputs.silences,
        speech=outputs.speech,
        audio_channels=info.audio.channels if info.audio else None,
        height=max_height,
        fps=info.video.fps if info.video else None,
        threads=settings.ffmpeg_threads,
        max_seconds=bound(settings),
    )
    # A recording may take its time to arrive: its whole length allowed, plus the budget of
    # the longest decode allowed.
    budget = settings.max_duration_seconds + time_budget(settings, None)
    try:
        async with steps.run("transcode"):
            took_all = await ffmpeg_run.run_fed(
                argv, chunks, timeout=budget, nice=settings.ffmpeg_nice, on_progress=pictures.at
            )
            if not took_all:  # it stopped reading at the bound
                check_duration(settings, bound(settings))
            media = await _finish_media(outputs, settings, max_height)
        video = next((f for f in media if f.name == "video"), None)
        sound = await _sound(outputs, steps, settings)
        if video is None:
            await steps.skip("poster")
            await steps.skip("preview")
            return [*media, *sound]
        async with steps.run("poster"), steps.run("preview"):
            poster, preview = await pictures.paths(video)
            shots = [
                await verify_poster(poster, video),
                verify_preview(preview, video, max_width=ffmpeg.PREVIEW_WIDTH),
            ]
        return [*media, *shots, *sound]
    finally:
        await pictures.cancel()


async def _finish_media(
    outputs: Outputs, settings: MediaSettings, max_height: int
) -> list[RenditionFile]:
    """Remux the fragmented outputs into faststart files, verified like every output."""
    sound = outputs.audio is not None
    jobs = [
        (outputs.video, "video", "mp4", None),
        (outputs.small, "video_360", "mp4", ffmpeg.SMALL_HEIGHT),
        (outputs.audio, "audio", "ipod", None),
    ]

    async def remux(src: Path, name: str, muxer: str, height: int | None) -> RenditionFile:
        dst = outputs.out / ("audio.m4a" if name == "audio" else f"{name}.mp4")
        await ffmpeg_run.run(
            ffmpeg.remux_args(src, dst, muxer=muxer), timeout=time_budget(settings, 0)
        )
        remove_files(src)
        return await verify_av(dst, name, video=name != "audio", audio=sound, max_height=height)

    files = await run_all(*(remux(*job) for job in jobs if job[0] is not None))
    for file in files:
        check_duration(settings, file.duration or 0.0)
    main = files[0]
    if any(f.name == "video_360" for f in files) and not wants_data_saver(
        (main.width or 0, main.height or 0), main.duration, max_height
    ):
        small = next(f for f in files if f.name == "video_360")
        remove_files(small.path)
        files.remove(small)
    return files


async def _sound(outputs: Outputs, steps: Steps, settings: MediaSettings) -> list[RenditionFile]:
    """The waveform and silences from the run's PCM and marks."""
    if outputs.pcm is None or outputs.silences is None:
        await steps.skip("analyse")
        return []
    async with steps.run("analyse"):
        samples = file_size(outputs.pcm) // 2
        if not samples:
            # A silent track under a video: the after-the-fact path knows what to make.
            raise MediaError("the audio track holds no samples")
        duration = samples / analysis.WAVEFORM_RATE
        check_duration(settings, duration)
        peaks = await asyncio.to_thread(read_peaks, outputs.pcm, samples)
        marks = read_text(outputs.silences)
        silences = analysis.parse_silences(marks, duration)
        remove_files(outputs.pcm)
        return sound_files(outputs.out, duration, peaks, silences)


class _Pictures:
    """Poster and preview, cut from the growing video once their seconds are there, so the
    end does not wait for them; from the final video otherwise."""

    def __init__(self, outputs: Outputs, settings: MediaSettings) -> None:
        self.outputs = outputs
        self.nice = settings.ffmpeg_nice
        self.early: asyncio.Task[tuple[Path, Path]] | None = None

    def at(self, seconds: float) -> None:
        """ffmpeg's progress: the video holds `seconds`."""
        if self.early is None and self.outputs.video is not None and seconds >= PICTURES_AFTER:
            growing = RenditionFile("video", self.outputs.video, "", None, None, seconds, 0)
            self.early = asyncio.create_task(self._cut(growing, self.outputs.out / "early"))

    async def _cut(self, video: RenditionFile, out: Path) -> tuple[Path, Path]:
        make_dir(out)
        return (
            await make_poster(out, video, nice=self.nice),
            await make_preview(out, video, nice=self.nice),
        )

    async def paths(self, video: RenditionFile) -> tuple[Path, Path]:
        """(poster, preview) of the final `video`: the early cut if it worked."""
        if self.early is not None:
            with contextlib.suppress(MediaError):
                return await self.early
        return await self._cut(video, self.outputs.out)

    async def cancel(self) -> None:
        if self.early is not None and not self.early.done():
            self.early.cancel()
            with contextlib.suppress(asyncio.CancelledError, MediaError):
                await self.early
