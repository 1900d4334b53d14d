"""A message's and a transcript's status changes on both stacks: each announced once, each
queueing the job that follows it; the storage key layout."""

from __future__ import annotations

from sqlalchemy import select

from relay import jobs, keys, lifecycle
from relay.context import Services
from relay.enums import MessageKind, MessageStatus
from relay.enums import TranscriptStatus as TS
from relay.messages import new_message
from relay.models import Event, Job, Message, Transcript
from tests.conftest import add_person


async def _message(services: Services) -> str:
    person = await add_person(services, "author@example.org")
    async with services.sessions.begin() as session:
        message, _ = await new_message(session, person.id, MessageKind.video, secret=b"k" * 32)
        return message.id


async def _status_events(services: Services, message_id: str) -> int:
    async with services.sessions.begin() as session:
        found = await session.scalars(
            select(Event).where(Event.message_id == message_id, Event.kind == "status")
        )
        return len(found.all())


def test_text_is_ready_at_once_and_a_recording_waits_for_its_upload() -> None:
    assert lifecycle.first_status(MessageKind.text) is MessageStatus.ready
    assert lifecycle.first_status(MessageKind.audio) is MessageStatus.uploading


async def test_processing_queues_the_media_job_and_is_announced_once(services: Services) -> None:
    message_id = await _message(services)
    async with services.sessions.begin() as session:
        await lifecycle.mark_processing(session, await session.get(Message, message_id), attempts=4)
    async with services.sessions.begin() as session:
        assert (await session.get(Message, message_id)).status is MessageStatus.processing
        job = (await session.scalars(select(Job))).one()
    assert (job.kind, job.message_id, job.max_attempts) == (jobs.MEDIA_JOB, message_id, 4)
    assert await _status_events(services, message_id) == 1


async def test_failure_gives_the_running_step_its_reason_and_is_announced(
    services: Services,
) -> None:
    message_id = await _message(services)
    async with services.sessions.begin() as session:
        message = await session.get(Message, message_id)
        message.steps = {"probe": {"state": "done"}, "transcode": {"state": "running"}}
        lifecycle.mark_failed(session, message, "It broke.")
    async with services.sessions.begin() as session:
        message = await session.get(Message, message_id)
    assert (message.status, message.error) == (MessageStatus.failed, "It broke.")
    assert message.steps == {
        "probe": {"state": "done"},
        "transcode": {"state": "failed", "reason": "It broke."},
    }
    assert await _status_events(services, message_id) == 1


async def test_ready_clears_an_old_error_and_is_announced(services: Services) -> None:
    message_id = await _message(services)
    async with services.sessions.begin() as session:
        message = await session.get(Message, message_id)
        message.error = "from an earlier attempt"
        lifecycle.mark_ready(session, message)
    async with services.sessions.begin() as session:
        message = await session.get(Message, message_id)
    assert (message.status, message.error) == (MessageStatus.ready, None)
    assert await _status_events(services, message_id) == 1


async def test_a_playable_message_with_sound_queues_its_transcript(services: Services) -> None:
    message_id = await _message(services)
    async with services.sessions.begin() as session:
        message = await session.get(Message, message_id)
        await lifecycle.queue_transcript(session, message, has_sound=True, attempts=2)
    async with services.sessions.begin() as session:
        transcript = await session.get(Transcript, message_id)
        job = (await session.scalars(select(Job))).one()
    assert (transcript.status, transcript.error) == (TS.pending, None)
    assert (job.kind, job.max_attempts) == (jobs.TRANSCRIBE_JOB, 2)


async def test_a_message_without_sound_has_no_transcript_and_no_job(services: Services) -> None:
    message_id = await _message(services)
    async with services.sessions.begin() as session:
        message = await session.get(Message, message_id)
        await lifecycle.queue_transcript(session, message, has_sound=False, attempts=2)
    async with services.sessions.begin() as session:
        transcript = await session.get(Transcript, message_id)
        assert (await session.scalars(select(Job))).all() == []
    assert (transcript.status, transcript.error) == (TS.unavailable, lifecycle.NO_SOUND)


def test_every_key_of_a_message_lies_under_its_prefixes() -> None:
    stored = [keys.original("m1", "u1"), keys.rendition("m1", "video.mp4"), keys.captions("m1")]
    assert stored == ["originals/m1/u1", "renditions/m1/video.mp4", "renditions/m1/captions.vtt"]
    assert all(key.startswith(keys.prefixes("m1")) for key in stored)
    assert not any(key.startswith(keys.prefixes("m")) for key in stored)
