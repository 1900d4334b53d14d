"""A message's way from upload to playable, and its transcript's: each status change is one
function here, and a message's change is announced to its thread (relay.events) in the same
transaction.

    message     uploading ─▶ processing ─▶ ready        (text messages start ready)
                    └────────────┴───────▶ failed
    transcript  pending ─▶ running ─▶ done, or failed / unavailable (the message stays playable)
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from relay import events, jobs
from relay.enums import MessageKind, MessageStatus, TranscriptStatus
from relay.models import Message, Transcript

NO_SOUND = "This message has no sound to transcribe."


def first_status(kind: MessageKind) -> MessageStatus:
    return MessageStatus.ready if kind is MessageKind.text else MessageStatus.uploading


def mark_processing(session: AsyncSession, message: Message, *, attempts: int) -> None:
    """The upload is complete: queue the media job."""
    _set(session, message, MessageStatus.processing)
    jobs.enqueue(
        session,
        jobs.MEDIA_JOB,
        message_id=message.id,
        owner_id=message.author_id,
        max_attempts=attempts,
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
    session: AsyncSession, message: Message, *, has_sound: bool, attempts: int
) -> None:
    """Transcribe once the message is playable, so playback never waits for it."""
    transcript = await session.get(Transcript, message.id) or Transcript(message_id=message.id)
    session.add(transcript)
    if not has_sound:
        mark_transcript(transcript, TranscriptStatus.unavailable, NO_SOUND)
        return
    mark_transcript(transcript, TranscriptStatus.pending)
    jobs.enqueue(
        session,
        jobs.TRANSCRIBE_JOB,
        message_id=message.id,
        owner_id=message.author_id,
        max_attempts=attempts,
    )


def mark_transcript(
    transcript: Transcript, status: TranscriptStatus, reason: str | None = None
) -> None:
    """`reason` is what people read when there is no transcript (failed, unavailable)."""
    assert (reason is not None) == (
        status in (TranscriptStatus.failed, TranscriptStatus.unavailable)
    ), status
    transcript.status = status
    transcript.error = reason
