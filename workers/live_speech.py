"""Transcription while a recording arrives: each stretch of speech goes to Whisper once a
pause has closed it, so that at the last byte only the open tail is left to transcribe.

The speech is the 16 kHz PCM the live media run writes (workers.live). Silero VAD (the one
inside faster-whisper) finds where speech stops; a piece ends in the middle of a pause, so
no word is cut. The language is fixed by the first piece (or stated by the author), so
every piece is heard in the same language.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from workers import whisper
from workers.renditions import file_size

if TYPE_CHECKING:
    import numpy as np

RATE = whisper.SAMPLE_RATE
# Whisper hears best in whole 30 s windows (pieces of 8 s lost a word in six here): a piece
# waits for MIN_PIECE seconds, then ends at the last pause within MAX_PIECE. The tail left at
# the last byte is at most about a window.
MIN_PIECE = 24.0
MAX_PIECE = 29.0
CLOSING_PAUSE = 0.8  # seconds of silence after speech that close a stretch
POLL_SECONDS = 0.5


class LiveTranscriber:
    """Follows a growing PCM file (s16le mono, RATE) until `ended`, then finishes its tail."""

    def __init__(
        self, model: whisper.Model, pcm: Path, *, language: str | None, fallback: str | None
    ) -> None:
        self.model = model
        self.pcm = pcm
        self.language = language
        self.fallback = fallback
        self.probability: float | None = None
        self.position = 0  # samples heard so far
        self.pieces: list[whisper.Transcript] = []

    async def run(self, ended: asyncio.Event) -> whisper.Transcript:
        while not ended.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), POLL_SECONDS)
            if not ended.is_set():
                await self._hear(final=False)
        await self._hear(final=True)
        return self._transcript()

    async def _hear(self, *, final: bool) -> None:
        """Transcribe what is closed (everything, when `final`), a piece at a time."""
        while True:
            pending = file_size(self.pcm) // 2 - self.position
            if pending <= 0 or (not final and pending < MIN_PIECE * RATE):
                return
            audio = _read(self.pcm, self.position, min(pending, int(MAX_PIECE * RATE)))
            cut = await asyncio.to_thread(piece_end, audio, final=final)
            if cut is None:
                return  # still speaking: wait for a pause
            end, speech = cut
            if speech:
                await asyncio.to_thread(self._transcribe, audio[:end])
            self.position += end

    def _transcribe(self, audio: np.ndarray) -> None:
        piece = whisper.transcribe_samples(
            self.model,
            audio,
            language=self.language,
            fallback=self.fallback,
            offset=self.position / RATE,
            whole=False,
        )
        if self.language is None or self.probability is None:
            self.language, self.probability = piece.language, piece.language_probability
        self.pieces.append(piece)

    def _transcript(self) -> whisper.Transcript:
        segments = [s for piece in self.pieces for s in piece.segments]
        speech = sum(piece.speech_seconds for piece in self.pieces)
        return whisper.Transcript(
            language=self.language or "en",
            language_probability=self.probability or 0.0,
            segments=tuple(whisper.drop_hallucinations(segments, speech)),
            model=self.model.name,
            duration=round(self.position / RATE, 3),
            speech_seconds=round(speech, 3),
        )


def piece_end(audio: np.ndarray, *, final: bool) -> tuple[int, bool] | None:
    """(where a piece of `audio` ends, whether it holds speech); None while its speech is
    still open. A piece ends in the middle of the pause after its last stretch of speech
    that CLOSING_PAUSE has closed; at its end when it holds no speech, when it is the
    whole tail (`final`), or when it fills a window without a pause."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    full = len(audio) >= MAX_PIECE * RATE
    options = VadOptions(min_silence_duration_ms=int(CLOSING_PAUSE * 1000), speech_pad_ms=0)
    stretches = get_speech_timestamps(audio, options, sampling_rate=RATE)
    if not stretches or (final and not full):
        return len(audio), bool(stretches)
    pause = int(CLOSING_PAUSE * RATE)
    closed = [s for s in stretches if len(audio) - s["end"] >= pause]
    if not closed:
        return (len(audio), True) if full else None
    last = closed[-1]
    following = next((s["start"] for s in stretches if s["start"] > last["end"]), len(audio))
    return (last["end"] + following) // 2, True


def _read(pcm: Path, start: int, count: int) -> np.ndarray:
    """`count` samples from `start`, as float32 in [-1, 1)."""
    import numpy as np

    with pcm.open("rb") as file:
        file.seek(start * 2)
        data = np.frombuffer(file.read(count * 2), dtype="<i2")
    return data.astype(np.float32) / 32768.0
