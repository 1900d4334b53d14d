"""What people read when processing fails, on both stacks: a plain reason on the message or
transcript (link visitors read them too), while the detail (exception text, paths, ffmpeg's
stderr) stays in the job row and the log."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from pathlib import Path

from sqlalchemy import select

from relay import jobs
from relay.context import Services
from relay.enums import JobState, MessageKind, MessageStatus
from relay.messages import new_message
from relay.models import Job, Message, Transcript
from relay.settings import WhisperSettings
from tests.conftest import add_person
from tests.support.media import make_audio, make_webm
from workers.context import Context
from workers.runner import Worker, default_handlers

INTERNALS = re.compile(r"/|\\|Error\b|Exception|Traceback|errno|ffmpeg|ffprobe", re.IGNORECASE)


async def _processing_message(services: Services, source: Path) -> str:
    """A message whose upload finished: original in storage, media job queued."""
    person = await add_person(services, "author@example.org")
    async with services.sessions.begin() as session:
        message, _ = await new_message(session, person.id, MessageKind.video, secret=b"k" * 32)
        message_id = message.id
    key = f"originals/{message_id}/upload"
    await services.storage.put_file(key, source, "application/octet-stream")
    async with services.sessions.begin() as session:
        message = await session.get(Message, message_id)
        message.status = MessageStatus.processing
        message.original_key = key
        jobs.enqueue(session, "media", message_id=message_id, max_attempts=2)
    return message_id


async def _work_until_settled(services: Services) -> None:
    """Run every job, retries included (their backoff is 0.2 s in tests)."""
    worker = Worker(Context(services, asyncio.Semaphore(1)), default_handlers())
    for _ in range(20):
        await worker.run(burst=True)
        async with services.sessions.begin() as session:
            pending = await session.scalar(
                select(Job.id).where(Job.state.in_([JobState.queued, JobState.running])).limit(1)
            )
        if pending is None:
            return
        await asyncio.sleep(0.3)
    raise AssertionError("jobs did not settle")


async def _media_job(services: Services) -> Job:
    async with services.sessions.begin() as session:
        return (await session.scalars(select(Job).where(Job.kind == "media"))).one()


async def test_unexpected_failure_shows_a_plain_reason_and_keeps_the_detail_in_the_job(
    services: Services, tmp_path: Path
) -> None:
    message_id = await _processing_message(services, make_webm(tmp_path / "a.webm", seconds=1))
    blocked = tmp_path / "spool-is-a-file"
    blocked.write_text("not a folder")
    broken = dataclasses.replace(services, settings=services.settings.replace(spool_dir=blocked))
    await _work_until_settled(broken)
    async with services.sessions.begin() as session:
        message = await session.get(Message, message_id)
    assert message.status is MessageStatus.failed
    assert message.error == "Processing failed; the author can try uploading again."
    job = await _media_job(services)
    assert job.state is JobState.failed and job.attempts == 2
    assert "FileExistsError" in job.error and str(blocked) in job.error


async def test_unusable_upload_keeps_its_precise_reason(services: Services, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.webm"
    garbage.write_bytes(b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 64)
    message_id = await _processing_message(services, garbage)
    await _work_until_settled(services)
    async with services.sessions.begin() as session:
        message = await session.get(Message, message_id)
    assert message.error == (
        "This file could not be read as audio or video (it may be damaged or incomplete)."
    )
    assert not INTERNALS.search(message.error)


async def test_transcription_without_a_model_says_so_plainly(
    services: Services, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-model"
    settings = services.settings.replace(whisper=WhisperSettings(model=str(missing)))
    unset = dataclasses.replace(services, settings=settings)
    message_id = await _processing_message(unset, make_audio(tmp_path / "v.ogg", seconds=1))
    await _work_until_settled(unset)
    async with services.sessions.begin() as session:
        message = await session.get(Message, message_id)
        transcript = await session.get(Transcript, message_id)
    assert message.status is MessageStatus.ready
    assert transcript.status.value == "unavailable"
    assert transcript.error == "Transcription is not available on this server."
