"""A message's way from upload to playable, and its transcript's: each status change is one
function here, and a message's change is announced to its thread (relay.events) in the same
transaction.

    message     uploading ─▶ processing ─▶ ready        (text messages start ready)
                    └────────────┴───────▶ failed
    transcript  pending ─▶ running ─▶ done, or failed / unavailable (the message stays playable)
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relay import events, jobs
from relay.db import utcnow
from relay.enums import JobState, MessageKind, MessageStatus, TranscriptStatus
from relay.models import Job, Message, Transcript

NO_SOUND = "This message has no sound to transcribe."
LIVE_ATTEMPTS = 3  # a worker stopped or lost mid-recording: another starts it over


def first_status(kind: MessageKind) -> MessageStatus:
    return MessageStatus.ready if kind is MessageKind.text else MessageStatus.uploading


async def mark_processing(session: AsyncSession, message: Message, *, attempts: int) -> None:
    """The upload is complete: the live job finishes the message if one is at work (it has
    the recording so far); otherwise the media job is queued."""
    _set(session, message, MessageStatus.processing)
    # The message row is locked before the live job is looked at, as the live job locks it
    # before it hands over (workers/live_job.py): exactly one of the two queues the media job.
    await session.flush()
    live = await session.scalar(
        select(Job).where(
            Job.kind == jobs.LIVE_JOB,
            Job.message_id == message.id,
            Job.state.in_((JobState.queued, JobState.running)),
        )
    )
    if live is not None and live.state is JobState.running:
        return
    if live is not None:
        live.state = JobState.done  # never started: the media job is as quick now
    queue_media(session, message, attempts=attempts)


def queue_media(session: AsyncSession, message: Message, *, attempts: int) -> None:
    _queue(session, jobs.MEDIA_JOB, message, attempts)


def queue_live(session: AsyncSession, message: Message, upload_id: str) -> None:
    """Transcode while the recording arrives (workers/live_job.py)."""
    jobs.enqueue(
        session,
        jobs.LIVE_JOB,
        message_id=message.id,
        owner_id=message.author_id,
        payload={"upload": upload_id},
        max_attempts=LIVE_ATTEMPTS,
    )


def _queue(session: AsyncSession, kind: str, message: Message, attempts: int) -> None:
    """A job on the message, served in its author's turn (the fair claim order of relay.jobs)."""
    jobs.enqueue(
        session, kind, message_id=message.id, owner_id=message.author_id, max_attempts=attempts
    )


def mark_ready(session: AsyncSession, message: Message) -> None:
    message.error = None
    _set(session, message, MessageStatus.ready)


def mark_failed(session: AsyncSession, message: Message, reason: str) -> None:
    """`reason` is what people read; a processing step that was running failed with it."""
    message.error = reason
    message.steps = {
        name: {"state": "failed", "reason": reason} if step["state"] == "running" else step
        for name, step in message.steps.items()
    }
    _set(session, message, MessageStatus.failed)


def _set(session: AsyncSession, message: Message, status: MessageStatus) -> None:
    message.status = status
    events.emit(session, message.thread_id, "status", message.id)


async def queue_transcript(
    session: AsyncSession, message: Message, *, has_sound: bool, attempts: int, live: bool = False
) -> None:
    """Transcribe once the message is playable, so playback never waits for it; again when
    its author asks (another language, a retry). Announced, so open pages say so at once.
    `live`: the live job is hearing it already (workers/live_job.py), no job is queued."""
    transcript = await session.get(Transcript, message.id) or Transcript(message_id=message.id)
    session.add(transcript)
    events.emit(session, message.thread_id, "transcript", message.id)
    if not has_sound:
        mark_transcript(transcript, TranscriptStatus.unavailable, NO_SOUND)
        return
    if live:
        mark_transcript(transcript, TranscriptStatus.running)
        return
    mark_transcript(transcript, TranscriptStatus.pending)
    # A job still waiting reads the message's language when it runs: hurry it, not a second.
    waiting = await session.scalar(
        select(Job).where(
            Job.kind == jobs.TRANSCRIBE_JOB,
            Job.message_id == message.id,
            Job.state == JobState.queued,
        )
    )
    if waiting is not None:
        waiting.run_at = utcnow()
        return
    _queue(session, jobs.TRANSCRIBE_JOB, message, attempts)


def mark_transcript(
    transcript: Transcript, status: TranscriptStatus, reason: str | None = None
) -> None:
    """`reason` is what people read when there is no transcript (failed, unavailable)."""
    assert (reason is not None) == (
        status in (TranscriptStatus.failed, TranscriptStatus.unavailable)
    ), status
    transcript.status = status
    transcript.error = reason
