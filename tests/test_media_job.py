"""The media job on both stacks: upload → worker → renditions in storage → message ready;
bad input → message failed with a readable reason, and the worker carries on."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from pathlib import Path

from sqlalchemy import select

from relay import jobs
from relay.context import Services
from relay.enums import JobState, MessageKind, MessageStatus
from relay.messages import new_message
from relay.models import Job, Message, Rendition
from tests.conftest import add_person
from tests.support.media import make_audio, make_webm, mp4_boxes
from workers.context import Context
from workers.runner import Worker, default_handlers


async def _processing_message(  # type: ignore[no-untyped-def]
    services: Services, source: Path, kind=MessageKind.video, max_attempts: int = 2
) -> str:
    """A message whose upload finished: original in storage, media job queued."""
    person = await add_person(services, f"{source.stem}@example.org")
    async with services.sessions.begin() as session:
        message, _ = await new_message(session, person.id, kind, secret=services.secret)
        key = f"originals/{message.id}/upload"
        message_id = message.id
    await services.storage.put_file(key, source, "application/octet-stream")
    async with services.sessions.begin() as session:
        message = await session.get(Message, message_id)
        message.status = MessageStatus.processing
        message.original_key = key
        jobs.enqueue(session, "media", message_id=message_id, max_attempts=max_attempts)
    return message_id


async def _run_worker(services: Services) -> None:
    """Media jobs only: the transcription they queue is tested in test_transcription."""
    context = Context(services, asyncio.Semaphore(1))
    await Worker(context, {"media": default_handlers()["media"]}).run(burst=True)


async def _load(services: Services, message_id: str) -> tuple[Message, list[Rendition]]:
    async with services.sessions.begin() as session:
        message = await session.get(Message, message_id)
        renditions = (
            await session.scalars(select(Rendition).where(Rendition.message_id == message_id))
        ).all()
    return message, list(renditions)


async def test_webm_recording_becomes_ready_with_faststart_mp4_and_poster(
    services: Services, tmp_path: Path
) -> None:
    message_id = await _processing_message(services, make_webm(tmp_path / "rec.webm", seconds=2))
    await _run_worker(services)
    message, renditions = await _load(services, message_id)
    assert message.status is MessageStatus.ready, message.error
    assert abs((message.duration or 0) - 2) < 0.3
    by_name = {r.name: r for r in renditions}
    assert set(by_name) == {"video", "audio", "poster", "preview", "waveform", "silences"}
    assert {name: step["state"] for name, step in message.steps.items()} == {
        "probe": "done",
        "analyse": "done",
        "transcode": "done",
        "poster": "done",
        "preview": "done",
        "store": "done",
    }
    assert (by_name["video"].mime, by_name["video"].width, by_name["video"].height) == (
        "video/mp4",
        320,
        240,
    )
    out = tmp_path / "out.mp4"
    await services.storage.get_file(by_name["video"].storage_key, out)
    assert out.stat().st_size == by_name["video"].bytes
    boxes = mp4_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat")


async def test_voice_recording_becomes_m4a_and_kind_audio(
    services: Services, tmp_path: Path
) -> None:
    source = make_audio(tmp_path / "voice.ogg", seconds=2, kind="ogg")
    message_id = await _processing_message(services, source, MessageKind.video)
    await _run_worker(services)
    message, renditions = await _load(services, message_id)
    assert message.status is MessageStatus.ready and message.kind is MessageKind.audio
    assert sorted((r.name, r.mime) for r in renditions) == [
        ("audio", "audio/mp4"),
        ("silences", "application/json"),
        ("waveform", "application/json"),
    ]
    assert message.steps["poster"]["state"] == "skipped"


async def test_hostile_inputs_fail_with_reasons_and_good_work_continues(
    services: Services, tmp_path: Path
) -> None:
    playlist = tmp_path / "evil.webm"
    playlist.write_text(
        "#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n#EXTINF:1,\nhttp://127.0.0.1:9/x\n"
    )
    garbage = tmp_path / "garbage.webm"
    garbage.write_bytes(b"\x1a\x45\xdf\xa3" + hashlib.sha256(b"x").digest() * 4000)
    empty = tmp_path / "empty.webm"
    empty.write_bytes(b"")
    good = make_webm(tmp_path / "good.webm", seconds=1)
    ids = {
        name: await _processing_message(services, path)
        for name, path in [
            ("playlist", playlist),
            ("garbage", garbage),
            ("empty", empty),
            ("good", good),
        ]
    }
    await _run_worker(services)
    reasons = {}
    for name, message_id in ids.items():
        message, renditions = await _load(services, message_id)
        if name == "good":
            assert message.status is MessageStatus.ready
            continue
        assert message.status is MessageStatus.failed and not renditions
        reasons[name] = message.error
    assert reasons == {
        "playlist": "This file is not a recognised audio or video format.",
        "garbage": (
            "This file could not be read as audio or video (it may be damaged or incomplete)."
        ),
        "empty": "The upload is empty.",
    }
    async with services.sessions.begin() as session:
        states = (await session.scalars(select(Job.state).where(Job.kind == "media"))).all()
    assert sorted(states) == sorted([JobState.failed] * 3 + [JobState.done])


async def test_missing_original_fails_the_message(services: Services, tmp_path: Path) -> None:
    message_id = await _processing_message(services, make_webm(tmp_path / "a.webm", seconds=1))
    async with services.sessions.begin() as session:
        key = (await session.get(Message, message_id)).original_key
    await services.storage.delete(key)
    await _run_worker(services)
    message, _ = await _load(services, message_id)
    assert message.status is MessageStatus.failed
    assert message.error == "The uploaded file is missing from storage."


async def test_rerun_replaces_only_its_own_renditions(services: Services, tmp_path: Path) -> None:
    message_id = await _processing_message(services, make_webm(tmp_path / "b.webm", seconds=1))
    await _run_worker(services)
    async with services.sessions.begin() as session:
        (await session.get(Message, message_id)).status = MessageStatus.processing
        jobs.enqueue(session, "media", message_id=message_id)
    await _run_worker(services)
    message, renditions = await _load(services, message_id)
    assert message.status is MessageStatus.ready
    assert sorted(r.name for r in renditions) == [
        "audio",
        "poster",
        "preview",
        "silences",
        "video",
        "waveform",
    ]


async def test_conversion_out_of_time_twice_fails_with_a_plain_reason(
    services: Services, tmp_path: Path
) -> None:
    media = dataclasses.replace(services.settings.media, timeout_seconds=0.1, timeout_factor=0)
    hurried = dataclasses.replace(services, settings=services.settings.replace(media=media))
    source = make_webm(tmp_path / "slow.webm", seconds=2)
    message_id = await _processing_message(hurried, source, max_attempts=5)
    for _ in range(10):
        await _run_worker(hurried)
        async with services.sessions.begin() as session:
            job = (await session.scalars(select(Job).where(Job.message_id == message_id))).one()
        if job.state is JobState.failed:
            break
        await asyncio.sleep(0.3)  # the retry's backoff
    message, renditions = await _load(services, message_id)
    assert message.status is MessageStatus.failed and not renditions
    assert message.error == "Converting this recording took too long; the author can try again."
    assert job.attempts == 2 and "ran too long" in job.error


async def test_a_ready_message_queues_transcription_with_the_configured_attempts(
    services: Services, tmp_path: Path
) -> None:
    settings = services.settings.replace(
        jobs=dataclasses.replace(services.settings.jobs, transcribe_attempts=7)
    )
    configured = dataclasses.replace(services, settings=settings)
    source = make_audio(tmp_path / "note.ogg", seconds=1, kind="ogg")
    message_id = await _processing_message(configured, source, MessageKind.audio)
    await _run_worker(configured)
    async with services.sessions.begin() as session:
        job = (await session.scalars(select(Job).where(Job.kind == jobs.TRANSCRIBE_JOB))).one()
    assert (job.message_id, job.max_attempts, job.state) == (message_id, 7, JobState.queued)
