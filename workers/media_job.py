"""The media job: original upload → verified, phone-playable renditions → message `ready`."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from relay import jobs
from relay.models import Message, MessageKind, MessageStatus, Rendition
from relay.storage import ObjectNotFound
from workers.errors import FFmpegTimeout, MediaError, MediaRejected
from workers.runner import Context, JobFailed, Retry
from workers.transcode import RenditionFile, make_renditions

log = logging.getLogger("relay.media")


def rendition_key(message_id: str, file: RenditionFile) -> str:
    return f"renditions/{message_id}/{file.path.name}"


async def run(context: Context, job: jobs.ClaimedJob) -> None:
    services = context.services
    async with services.sessions.begin() as session:
        message = await session.get(Message, job.message_id) if job.message_id else None
    if message is None or message.original_key is None:
        async with services.sessions.begin() as session:
            await jobs.complete(session, job)  # deleted meanwhile: nothing to do
        return
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
                info, files = await make_renditions(
                    source, workdir / "out", services.settings.media
                )
        except MediaRejected as exc:
            raise JobFailed(exc.reason) from None
        except FFmpegTimeout as exc:
            raise Retry(f"ffmpeg took too long: {exc.stderr_tail[-500:]}") from None
        except MediaError as exc:
            # The same input fails the same way again (ffmpeg error, output failed checks).
            log.warning("job %s: conversion failed: %s", job.id, exc)
            raise JobFailed(
                "This recording could not be converted (it may be damaged or incomplete)."
            ) from None
        for file in files:
            await services.storage.put_file(rendition_key(message.id, file), file.path, file.mime)
    video = next((f for f in files if f.name == "video"), None)
    main = video or files[0]
    async with services.sessions.begin() as session:
        current = await session.get(Message, message.id)
        if current is None:
            await jobs.complete(session, job)
            return
        # A retried job replaces only its own outputs.
        await session.execute(delete(Rendition).where(Rendition.message_id == message.id))
        session.add_all(
            Rendition(
                message_id=message.id,
                name=f.name,
                storage_key=rendition_key(message.id, f),
                mime=f.mime,
                bytes=f.size,
                width=f.width,
                height=f.height,
                duration=f.duration,
            )
            for f in files
        )
        current.status = MessageStatus.ready
        current.duration = main.duration
        current.error = None
        current.kind = MessageKind.video if video else MessageKind.audio
        if not await jobs.complete(session, job):
            raise Retry("lost the job's lease before recording the result")
    if not services.settings.media.keep_originals:
        await services.storage.delete(message.original_key)
    log.info("message %s ready (%s, %.1fs)", message.id, info.format_name, main.duration or 0)


async def on_failure(session: AsyncSession, job: jobs.ClaimedJob, reason: str) -> None:
    message = await session.get(Message, job.message_id) if job.message_id else None
    if message is not None and message.status is MessageStatus.processing:
        message.status = MessageStatus.failed
        message.error = reason
