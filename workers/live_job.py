"""The live media job: a recording's renditions and transcript, made while it is uploaded.

Queued when a recording's upload of deferred length begins (the browser recorder's way) on
the local store, whose growing file a worker can read. It follows the acknowledged bytes
(relay.upload_follow) into one continuous ffmpeg (workers.live) and a Whisper that hears
each closed stretch of speech (workers.live_speech); at the last byte only the tails are
left. The message is ready as soon as its renditions are; its transcript follows.

Whatever this path cannot do goes to the after-the-fact media job, unchanged: an upload that
stops arriving for IDLE_SECONDS, a recording whose first bytes do not probe or that does not
decode as a stream, any error of ours. Only a recording that can never work (over the limits)
fails its message here, at once, as the media job would fail it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from relay import jobs, lifecycle, upload_follow
from relay.context import Services
from relay.enums import MessageStatus, TranscriptStatus
from relay.models import Message, Transcript, Upload, User
from relay.storage import UploadState
from workers import live, media_job, transcript_job, whisper
from workers.context import Context
from workers.errors import JobFailed, MediaError, MediaRejected
from workers.live_speech import LiveTranscriber
from workers.probe import check_limits, probe
from workers.renditions import RenditionFile

log = logging.getLogger("relay.live")
PROBE_BYTES = 64 * 1024  # the header and the first frames
PROBE_WAIT_SECONDS = 3.0  # a quiet voice recording takes its time to bring PROBE_BYTES
# A paused recorder, or one whose author listens back before Send (the last PATCH); longer,
# and the slot goes to another recording while the after-the-fact job waits for the rest.
IDLE_SECONDS = 300.0
POLL_SECONDS = 0.1
STEPS = ("probe", *live.STEPS, "store")
WAITING = (MessageStatus.uploading, MessageStatus.processing)


async def run(context: Context, job: jobs.ClaimedJob) -> None:
    services = context.services
    async with services.sessions.begin() as session:
        message = await session.get(Message, job.message_id) if job.message_id else None
        upload = await session.get(Upload, job.payload.get("upload", ""))
        if message is None or upload is None or message.status not in WAITING:
            if message is not None and message.status is MessageStatus.ready:
                await _hear_again(session, services, message)
            await jobs.complete(session, job)  # deleted, replaced, or done by another path
            return
        author = await session.get(User, message.author_id)
        language, fallback = transcript_job.languages(message, author)
        key = UploadState.from_json(upload.store_state).key
    path = services.storage.local_path(key)
    if path is None:
        await _hand_over(services, job, "storage is not local")
        return
    try:
        await _follow(context, job, upload.id, path, (language, fallback))
    except MediaRejected as exc:
        raise JobFailed(exc.reason) from None
    except Exception as exc:  # noqa: BLE001 - the after-the-fact path gets its turn
        log.info("job %s: live processing ends (%s); the media job takes over", job.id, exc)
        await _hand_over(services, job, str(exc))


async def _follow(
    context: Context,
    job: jobs.ClaimedJob,
    upload_id: str,
    path: Path,
    languages: tuple[str | None, str | None],
) -> None:
    services = context.services
    settings = services.settings

    async def on_step(step: str, state: str) -> None:
        await media_job.record_steps(services, job.message_id or "", {step: state})

    await media_job.record_steps(
        services, job.message_id or "", dict.fromkeys(STEPS, "pending"), reset=True
    )
    follow = {"idle_seconds": IDLE_SECONDS, "poll_seconds": POLL_SECONDS}
    await on_step("probe", "running")
    got = await upload_follow.wait_for(services, upload_id, PROBE_BYTES // 8, **follow)
    if not got.complete and got.offset < PROBE_BYTES:
        await asyncio.sleep(PROBE_WAIT_SECONDS)
    try:
        fmt, info = await probe(path)
    except MediaRejected as exc:
        # Its first bytes may not tell yet: the media job judges the whole file.
        raise MediaError(f"the first bytes do not probe: {exc.reason}") from None
    check_limits(info, max_duration=settings.media.max_duration_seconds)
    await on_step("probe", "done")
    settings.spool_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="live-", dir=settings.spool_dir) as tmp:
        workdir = Path(tmp)
        hearing = await _hearing(services, workdir / "speech.pcm", languages, bool(info.audio))
        try:
            chunks = upload_follow.follow(services, upload_id, path, **follow)
            files = await live.make_live_renditions(
                fmt, info, chunks, workdir, settings.media, on_step=on_step
            )
            await on_step("store", "running")
            await media_job.store_files(services, job.message_id or "", files)
            if not await _publish(services, job, files, live_transcript=hearing is not None):
                return
            if hearing is not None:
                await _finish_transcript(services, job, hearing, files)
        finally:
            if hearing is not None:
                hearing.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await hearing.task


class _Hearing:
    """A LiveTranscriber running beside the media run; `ended` lets it finish its tail."""

    def __init__(self, transcriber: LiveTranscriber) -> None:
        self.ended = asyncio.Event()
        self.task = asyncio.create_task(transcriber.run(self.ended))

    def cancel(self) -> None:
        self.task.cancel()


async def _hearing(
    services: Services, pcm: Path, languages: tuple[str | None, str | None], sound: bool
) -> _Hearing | None:
    """Live transcription, when there is sound and a model; else the transcription job
    will say why there is no transcript."""
    if not sound:
        return None
    try:
        model = await asyncio.to_thread(whisper.load_model, services.settings.whisper)
    except whisper.TranscriptionUnavailable:
        return None
    language, fallback = languages
    return _Hearing(LiveTranscriber(model, pcm, language=language, fallback=fallback))


async def _publish(
    services: Services, job: jobs.ClaimedJob, files: list[RenditionFile], *, live_transcript: bool
) -> bool:
    """The message is ready; False when it no longer waits for this job (deleted)."""
    sound = any(f.name == "audio" for f in files)
    attempts = services.settings.jobs.transcribe_attempts
    async with services.sessions.begin() as session:
        message = await session.get(Message, job.message_id, with_for_update=True)
        if message is None or message.status is not MessageStatus.processing:
            await jobs.complete(session, job)
            return False
        await media_job.publish(session, services, message, files)
        live = live_transcript and sound
        await lifecycle.queue_transcript(
            session, message, has_sound=sound, attempts=attempts, live=live
        )
        if not live:
            await jobs.complete(session, job)
    await media_job.after_ready(services, message.original_key, "live", message)
    return True


async def _finish_transcript(
    services: Services, job: jobs.ClaimedJob, hearing: _Hearing, files: list[RenditionFile]
) -> None:
    """The transcript's tail, then the whole is stored; on any failure the transcription job
    starts over from the audio."""
    hearing.ended.set()
    duration = next((f.duration for f in files if f.name in ("video", "audio")), None)
    try:
        result = await hearing.task
    except Exception:  # noqa: BLE001 - logged; the transcription job gets its turn
        log.exception("job %s: live transcription failed; queueing the transcription job", job.id)
        async with services.sessions.begin() as session:
            message = await session.get(Message, job.message_id)
            if message is not None:
                await lifecycle.queue_transcript(
                    session,
                    message,
                    has_sound=True,
                    attempts=services.settings.jobs.transcribe_attempts,
                )
            await jobs.complete(session, job)
        return
    await transcript_job.save(services, job, result, duration)


async def _hear_again(session: AsyncSession, services: Services, message: Message) -> None:
    """An earlier attempt made the message ready and stopped while hearing the tail: the
    transcription job starts the transcript over."""
    transcript = await session.get(Transcript, message.id)
    if transcript is not None and transcript.status is TranscriptStatus.running:
        attempts = services.settings.jobs.transcribe_attempts
        await lifecycle.queue_transcript(session, message, has_sound=True, attempts=attempts)


async def _hand_over(services: Services, job: jobs.ClaimedJob, why: str) -> None:
    """Give the message to the after-the-fact media job. Its upload may have finished while
    this job was at work (relay.lifecycle.mark_processing then queued nothing): the message
    row is locked first, as mark_processing locks it, so exactly one of the two queues it."""
    async with services.sessions.begin() as session:
        message = await session.get(Message, job.message_id, with_for_update=True)
        if message is not None and message.status is MessageStatus.processing:
            lifecycle.queue_media(session, message, attempts=services.settings.jobs.max_attempts)
        await jobs.complete(session, job)
    log.debug("job %s handed over: %s", job.id, why)


async def on_failure(session: AsyncSession, job: jobs.ClaimedJob, reason: str) -> None:
    """A recording that can never work fails its message at once, still uploading or not."""
    message = await session.get(Message, job.message_id) if job.message_id else None
    if message is not None and message.status in (
        MessageStatus.uploading,
        MessageStatus.processing,
    ):
        lifecycle.mark_failed(session, message, reason)
