"""The transcription job: runs after a message is playable and never fails the message."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relay import jobs, lifecycle, metrics, transcripts
from relay.context import Services
from relay.enums import TranscriptStatus
from relay.models import Message, Rendition, Transcript, User
from workers import whisper
from workers.context import Context
from workers.errors import JobFailed

log = logging.getLogger("relay.transcribe")
UNEXPECTED = "The transcript could not be made."
UNAVAILABLE = "Transcription is not available on this server."


async def run(context: Context, job: jobs.ClaimedJob) -> None:
    services = context.services
    async with services.sessions.begin() as session:
        message = await session.get(Message, job.message_id) if job.message_id else None
        audio = await _audio(session, job.message_id)
        author = await session.get(User, message.author_id) if message else None
        transcript = await session.get(Transcript, job.message_id) if message else None
        if message is None or transcript is None:
            await jobs.complete(session, job)
            return
        if audio is None:
            lifecycle.mark_transcript(transcript, TranscriptStatus.unavailable, lifecycle.NO_SOUND)
            await jobs.complete(session, job)
            return
        lifecycle.mark_transcript(transcript, TranscriptStatus.running)
        language, fallback = languages(message, author)
        audio_key, duration = audio.storage_key, message.duration
    try:
        model = await asyncio.to_thread(whisper.load_model, services.settings.whisper)
    except whisper.TranscriptionUnavailable as exc:
        # The operator's to fix: the detail (model paths, loader errors) goes to the log.
        log.warning("job %s: no transcription: %s", job.id, exc)
        async with services.sessions.begin() as session:
            transcript = await session.get(Transcript, job.message_id)
            if transcript is not None:
                lifecycle.mark_transcript(transcript, TranscriptStatus.unavailable, UNAVAILABLE)
            await jobs.complete(session, job)
        return
    services.settings.spool_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="stt-", dir=services.settings.spool_dir) as tmp:
        path = Path(tmp) / "audio.m4a"
        await services.storage.get_file(audio_key, path)
        try:
            async with context.ffmpeg_slots:  # the same CPU budget as transcoding
                began = time.perf_counter()
                result = await asyncio.to_thread(
                    whisper.transcribe, model, path, language=language, fallback=fallback
                )
                if duration:
                    spent = time.perf_counter() - began
                    metrics.REALTIME.labels("transcribe").observe(spent / duration)
        except whisper.LanguageNotSupported as exc:
            raise JobFailed(str(exc)) from None
    await save(services, job, result, duration)


def languages(message: Message, author: User | None) -> tuple[str | None, str | None]:
    """(language, fallback): the message's language, else the author's; else detection,
    which falls back on the language of the author's pages when it is unsure."""
    preference = author.language if author else None
    return message.language or preference, author.ui_language if author else None


async def save(
    services: Services, job: jobs.ClaimedJob, result: whisper.Transcript, duration: float | None
) -> None:
    """Store the transcript, its captions and search entries, and complete the job."""
    rows = transcripts.segment_rows(job.message_id, result.segments)
    captions = await transcripts.write_captions(services, job.message_id, duration, rows)
    async with services.sessions.begin() as session:
        message = await session.get(Message, job.message_id)
        transcript = await session.get(Transcript, job.message_id)
        if message is not None and transcript is not None:
            transcript.language = result.language
            transcript.language_probability = result.language_probability
            transcript.model = result.model
            await transcripts.store(session, message, transcript, rows)
            await transcripts.add_captions(session, message, captions)
        await jobs.complete(session, job)
    if message is None:  # deleted while we listened: its files are gone, so is this one
        await services.storage.delete(captions.storage_key)
        return
    log.info("message %s transcribed (%s)", job.message_id, result.language)


async def _audio(session: AsyncSession, message_id: str | None) -> Rendition | None:
    return await session.scalar(
        select(Rendition).where(Rendition.message_id == message_id, Rendition.name == "audio")
    )


async def on_failure(session: AsyncSession, job: jobs.ClaimedJob, reason: str) -> None:
    """The message stays playable; only the transcript shows the failure."""
    transcript = await session.get(Transcript, job.message_id) if job.message_id else None
    if transcript is not None:
        lifecycle.mark_transcript(transcript, TranscriptStatus.failed, reason)
