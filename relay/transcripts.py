"""Transcripts: storing what the model heard, the author's corrections, captions and search."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from relay import events, keys, lifecycle, search
from relay.context import Services
from relay.db import utcnow
from relay.enums import MessageKind, MessageStatus, TranscriptStatus
from relay.errors import BadRequest, NotFound
from relay.models import Message, Rendition, Segment, Transcript
from relay.titles import title_from_transcript
from relay.webvtt import build_vtt, cues_from_segments

MAX_SEGMENT_TEXT = 2000
CAPTIONS = "captions"


@dataclass(frozen=True)
class TimedWord:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class TimedText:
    start: float
    end: float
    text: str
    words: tuple[TimedWord, ...]


def segment_rows(message_id: str, segments: Sequence[Any]) -> list[Segment]:
    """Rows from the model's segments (objects with start, end, text and timed words)."""
    return [
        Segment(
            message_id=message_id,
            position=i,
            start=round(s.start, 3),
            end=round(s.end, 3),
            text=s.text.strip(),
            machine_text=s.text.strip(),
            words=[[round(w.start, 3), round(w.end, 3), w.text] for w in s.words],
        )
        for i, s in enumerate(segments)
    ]


def captions_vtt(segments: Sequence[Segment], duration: float | None) -> str:
    """WebVTT of the current text; word timings only where the text is still the model's."""
    timed = [
        TimedText(
            s.start,
            s.end,
            s.text,
            tuple(TimedWord(*w) for w in s.words) if s.text == s.machine_text else (),
        )
        for s in segments
    ]
    # The duration keeps every cue inside the recording.
    return build_vtt(cues_from_segments(timed, duration=duration))


def search_entries(segments: Sequence[Segment]) -> list[tuple[float, str]]:
    """(start, text) per sentence, so that a hit opens the message where it was said: Whisper
    may hand over several sentences as one long segment. A corrected segment, whose words
    no longer match their timings, is one entry at the segment's start."""
    entries: list[tuple[float, str]] = []
    for segment in segments:
        if segment.text != segment.machine_text or not segment.words:
            entries.append((segment.start, segment.text))
            continue
        sentence: list[str] = []
        start = segment.start
        for word_start, _, word in segment.words:
            if not sentence:
                start = max(segment.start, float(word_start))
            sentence.append(word.strip())
            if sentence[-1].endswith((".", "!", "?")):
                entries.append((start, " ".join(sentence)))
                sentence = []
        if sentence:
            entries.append((start, " ".join(sentence)))
    return entries


def full_text(segments: Sequence[Segment]) -> str:
    return " ".join(s.text for s in segments if s.text).strip()


async def load_segments(session: AsyncSession, message_id: str) -> list[Segment]:
    rows = await session.scalars(
        select(Segment).where(Segment.message_id == message_id).order_by(Segment.position)
    )
    return list(rows)


async def store(
    session: AsyncSession,
    message: Message,
    transcript: Transcript,
    segments: list[Segment],
) -> None:
    """Replace the message's segments, index them, and title an untitled message."""
    await session.execute(delete(Segment).where(Segment.message_id == message.id))
    session.add_all(segments)
    transcript.text = full_text(segments)
    lifecycle.mark_transcript(transcript, TranscriptStatus.done)
    transcript.edited_at = None
    if not message.title and transcript.text:
        message.title = title_from_transcript(transcript.text)
    entries = search_entries(segments)
    await search.replace_entries(session, message.id, entries, transcript.language)


async def set_language(
    session: AsyncSession, message: Message, language: str | None, *, attempts: int
) -> bool:
    """The author's language for the message (None: detect it). A playable recording is
    transcribed again in it, which also retries a failed transcript; one still being
    processed is transcribed in it when ready. True when a transcription was queued."""
    message.language = language
    if message.kind is MessageKind.text or message.status is not MessageStatus.ready:
        return False
    audio = await session.scalar(
        select(Rendition.id).where(Rendition.message_id == message.id, Rendition.name == "audio")
    )
    await lifecycle.queue_transcript(
        session, message, has_sound=audio is not None, attempts=attempts
    )
    return True


async def edit_segment(
    session: AsyncSession, message: Message, position: int, new_text: str
) -> list[Segment]:
    """The author's correction of one segment; returns all segments for new captions."""
    new_text = " ".join(new_text.split())
    if len(new_text) > MAX_SEGMENT_TEXT:
        raise BadRequest(f"A segment may have at most {MAX_SEGMENT_TEXT} characters.")
    transcript = await session.get(Transcript, message.id)
    if transcript is None or transcript.status is not TranscriptStatus.done:
        raise NotFound("This message has no transcript to correct (yet).")
    segments = await load_segments(session, message.id)
    target = next((s for s in segments if s.position == position), None)
    if target is None:
        raise NotFound(f"The transcript has no segment {position}.")
    target.text = new_text
    transcript.text = full_text(segments)
    transcript.edited_at = utcnow()
    entries = search_entries(segments)
    await search.replace_entries(session, message.id, entries, transcript.language)
    return segments


async def write_captions(
    services: Services, message_id: str, duration: float | None, segments: Sequence[Segment]
) -> Rendition:
    """Put the captions file in storage; returns its rendition row for `add_captions`."""
    services.settings.spool_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vtt-", dir=services.settings.spool_dir) as tmp:
        path = Path(tmp) / "captions.vtt"
        path.write_text(captions_vtt(segments, duration), encoding="utf-8")
        key = keys.captions(message_id)
        await services.storage.put_file(key, path, "text/vtt")
        size = path.stat().st_size
    return Rendition(
        message_id=message_id, name=CAPTIONS, storage_key=key, mime="text/vtt", bytes=size
    )


async def add_captions(session: AsyncSession, message: Message, captions: Rendition) -> None:
    """Make written captions the message's `captions` rendition and announce the transcript:
    in the transaction that stores its text, so whoever sees the text finds the captions."""
    await session.execute(
        delete(Rendition).where(Rendition.message_id == message.id, Rendition.name == CAPTIONS)
    )
    session.add(captions)
    events.emit(session, message.thread_id, "transcript", message.id)


async def save_captions(services: Services, message: Message, segments: Sequence[Segment]) -> None:
    """Store the captions of the current text as the message's `captions` rendition."""
    captions = await write_captions(services, message.id, message.duration, segments)
    async with services.sessions.begin() as session:
        await add_captions(session, message, captions)


def transcript_json(transcript: Transcript | None, segments: Sequence[Segment]) -> dict[str, Any]:
    if transcript is None:
        return {"status": "none", "segments": []}
    return {
        "status": transcript.status.value,
        "language": transcript.language,
        "language_probability": transcript.language_probability,
        "model": transcript.model,
        "text": transcript.text,
        "error": transcript.error,
        # Segments the author corrected say so; machine_text keeps what the model heard.
        "edited": transcript.edited_at is not None,
        "segments": [
            {
                "position": s.position,
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "machine_text": s.machine_text,
                "edited": s.text != s.machine_text,
            }
            for s in segments
        ],
    }


async def transcript_body(session: AsyncSession, message_id: str) -> dict[str, Any]:
    transcript = await session.get(Transcript, message_id)
    segments = await load_segments(session, message_id)
    return transcript_json(transcript, segments)
