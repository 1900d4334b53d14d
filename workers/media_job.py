"""The media job: original upload → verified, phone-playable renditions → message `ready`."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from relay import jobs, keys, lifecycle, metrics
from relay.context import Services
from relay.enums import MessageKind, MessageStatus
from relay.models import Message, Rendition
from relay.notify import batches
from relay.storage import ObjectNotFound
from workers.context import Context
from workers.errors import (
    FFmpegError,
    FFmpegTimeout,
    JobFailed,
    MediaError,
    MediaRejected,
    Retry,
)
from workers.renditions import RenditionFile
from workers.transcode import STEPS as TRANSCODE_STEPS
from workers.transcode import make_renditions

log = logging.getLogger("relay.media")
STEPS = (*TRANSCODE_STEPS, "store")
TIMEOUT_ATTEMPTS = 2


def _detail(exc: MediaError) -> str:
    """For the job row: the message, and what ffmpeg said last."""
    tail = exc.stderr_tail[-2000:] if isinstance(exc, FFmpegError) else ""
    return f"{exc}\n{tail}".strip()


async def run(context: Context, job: jobs.ClaimedJob) -> None:
    services = context.services
    async with services.sessions.begin() as session:
        message = await session.get(Message, job.message_id) if job.message_id else None
    if message is None or message.original_key is None:
        async with services.sessions.begin() as session:
            await jobs.complete(session, job)  # deleted meanwhile: nothing to do
        return

    async def on_step(step: str, state: str) -> None:
        await record_steps(services, message.id, {step: state})

    await record_steps(services, message.id, dict.fromkeys(STEPS, "pending"), reset=True)
    services.settings.spool_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="job-", dir=services.settings.spool_dir) as tmp:
        workdir = Path(tmp)
        source = workdir / "original"
        try:
            await services.storage.get_file(message.original_key, source)
        except ObjectNotFound:
            raise JobFailed("The uploaded file is missing from storage.") from None
        try:
            async with context.ffmpeg_slots:
                began = time.perf_counter()
                info, files = await make_renditions(
                    source, workdir / "out", services.settings.media, on_step=on_step
                )
                seconds = max((f.duration or 0.0 for f in files), default=0.0)
                if seconds:
                    spent = time.perf_counter() - began
                    metrics.REALTIME.labels("transcode").observe(spent / seconds)
        except MediaRejected as exc:
            raise JobFailed(exc.reason) from None
        except FFmpegTimeout as exc:
            # Its time is in proportion to the recording: once may be a busy machine, twice
            # is the recording.
            if job.attempts >= TIMEOUT_ATTEMPTS:
                raise JobFailed(
                    "Converting this recording took too long; the author can try again.",
                    detail=_detail(exc),
                ) from None
            raise Retry(_detail(exc)) from None
        except MediaError as exc:
            # The same input fails the same way again (ffmpeg error, output failed checks).
            log.warning("job %s: conversion failed: %s", job.id, exc)
            raise JobFailed(
                "This recording could not be converted (it may be damaged or incomplete).",
                detail=_detail(exc),
            ) from None
        await on_step("store", "running")
        await store_files(services, message.id, files)
    async with services.sessions.begin() as session:
        current = await session.get(Message, message.id)
        if current is None:
            await jobs.complete(session, job)
            return
        await publish(session, services, current, files)
        await lifecycle.queue_transcript(
            session,
            current,
            has_sound=any(f.name == "audio" for f in files),
            attempts=services.settings.jobs.transcribe_attempts,
        )
        if not await jobs.complete(session, job):
            raise Retry("lost the job's lease before recording the result")
    await after_ready(services, message.original_key, info.format_name, current)


async def store_files(services: Services, message_id: str, files: list[RenditionFile]) -> None:
    for file in files:
        await services.storage.put_file(
            keys.rendition(message_id, file.path.name), file.path, file.mime
        )


async def publish(
    session: AsyncSession, services: Services, message: Message, files: list[RenditionFile]
) -> None:
    """The stored renditions become the message's, and it is ready (in the caller's
    transaction)."""
    video = next((f for f in files if f.name == "video"), None)
    main = video or next(f for f in files if f.name == "audio")
    # A retried job replaces only its own outputs.
    await session.execute(delete(Rendition).where(Rendition.message_id == message.id))
    session.add_all(
        Rendition(
            message_id=message.id,
            name=f.name,
            storage_key=keys.rendition(message.id, f.path.name),
            mime=f.mime,
            bytes=f.size,
            width=f.width,
            height=f.height,
            duration=f.duration,
        )
        for f in files
    )
    message.steps = {**message.steps, "store": {"state": "done"}}
    message.duration = main.duration
    message.kind = MessageKind.video if video else MessageKind.audio
    lifecycle.mark_ready(session, message)
    await batches.announce(session, message, enabled=services.settings.mail.enabled)


async def after_ready(
    services: Services, original_key: str | None, source: str | None, message: Message
) -> None:
    if original_key and not services.settings.media.keep_originals:
        await services.storage.delete(original_key)
    log.info("message %s ready (%s, %.1fs)", message.id, source, message.duration or 0)


async def on_failure(session: AsyncSession, job: jobs.ClaimedJob, reason: str) -> None:
    message = await session.get(Message, job.message_id) if job.message_id else None
    if message is not None and message.status is MessageStatus.processing:
        lifecycle.mark_failed(session, message, reason)


async def record_steps(
    services: Services, message_id: str, states: dict[str, str], *, reset: bool = False
) -> None:
    """Progress the API shows while a message is processed (short transactions)."""
    async with services.sessions.begin() as session:
        message = await session.get(Message, message_id)
        if message is None:
            return
        steps = {} if reset else dict(message.steps)
        steps.update({name: {"state": state} for name, state in states.items()})
        message.steps = steps
