"""Speech to text with faster-whisper: one model per process, the language and the beam
chosen per message, and a blocking `transcribe()` that returns frozen values. Where the
model's files are is workers/whisper_models.py; the errors are in workers/errors.py.

faster-whisper, CTranslate2 and PyAV are imported on first use, so importing this module
is cheap for workers that never transcribe.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relay.settings import WhisperSettings
from workers.errors import LanguageNotSupported, TranscriptionError, TranscriptionUnavailable
from workers.whisper_models import Location, locate_model

if TYPE_CHECKING:
    import numpy as np
    from faster_whisper import WhisperModel

__all__ = [
    "LanguageNotSupported",
    "Location",
    "Model",
    "Segment",
    "Transcript",
    "TranscriptionError",
    "TranscriptionUnavailable",
    "Word",
    "detect_language",
    "drop_hallucinations",
    "load_model",
    "locate_model",
    "transcribe",
    "transcribe_samples",
]

SAMPLE_RATE = 16000
# Beam width per language when RELAY_WHISPER_BEAM_SIZE is unset, measured with base on
# espeak-ng speech (tests/bench/languages.py, README): English is as good greedy as with a
# beam of 5; Dutch hears clearly more with 5 (content words 58% instead of 48%).
BEAM_SIZES = {"en": 1}
BEAM_SIZE = 5
# Detection below this is a guess, and a language the author stated elsewhere wins. Measured
# likewise: English sentences scored 0.72 to 0.98; Dutch ones, detected as another language,
# 0.2 to 0.59 (and once 0.91).
SURE_DETECTION = 0.7

# Whisper's own rule for a window without speech (openai/whisper, faster-whisper).
NO_SPEECH_PROB = 0.6
LOW_AVG_LOGPROB = -1.0
# Whisper learned these from subtitle credits and invents them on silence and noise.
HALLUCINATIONS = frozenset(
    "you|bye|thank you|thank you very much|thanks for watching|thank you for watching|"
    "thanks for listening|please subscribe|subtitles by the amaraorg community|"
    "bedankt voor het kijken|bedankt voor het luisteren|dank je wel|dank u wel|"
    "ondertiteling door de amaraorg gemeenschap|ondertiteld door de amaraorg gemeenschap".split("|")
)
# The VAD pads every speech chunk with 400 ms on each side, so a genuine short "Thank you."
# keeps well over a second; less than this is a click or a breath.
MIN_SPEECH_SECONDS = 1.0


@dataclass(frozen=True)
class Model:
    whisper: WhisperModel
    name: str  # for people: "base", "tiny.en", "small", or the directory's name
    english_only: bool
    beam_size: int | None  # None: BEAM_SIZES

    def beam_for(self, language: str) -> int:
        return self.beam_size or BEAM_SIZES.get(language, BEAM_SIZE)


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str  # without the leading space Whisper's tokens carry
    probability: float


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    no_speech_prob: float
    avg_logprob: float


@dataclass(frozen=True)
class Transcript:
    language: str
    language_probability: float
    segments: tuple[Segment, ...]
    model: str
    duration: float
    speech_seconds: float = 0.0  # what the VAD kept

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments if s.text)


_models: dict[WhisperSettings, Model] = {}
_models_lock = threading.Lock()


def load_model(settings: WhisperSettings) -> Model:
    """The process's model for these settings, loaded on first use."""
    model = _models.get(settings)
    if model is not None:
        return model
    with _models_lock:
        model = _models.get(settings)
        if model is None:
            model = _models[settings] = _load(settings)
    return model


def _load(settings: WhisperSettings) -> Model:
    from faster_whisper import WhisperModel

    where = locate_model(settings)
    device, compute_type = settings.resolved()
    try:
        whisper = WhisperModel(
            where.source, device=device, compute_type=compute_type, cpu_threads=settings.threads
        )
    except (OSError, RuntimeError, ValueError) as exc:
        # Offline and not cached (huggingface_hub raises OSError subclasses), a damaged
        # model.bin, or a compute type the device lacks.
        raise TranscriptionUnavailable(
            f"Could not load Whisper model {where.source!r} (RELAY_WHISPER_MODEL): {exc}"
        ) from exc
    return Model(
        whisper=whisper,
        name=where.name,
        english_only=not whisper.model.is_multilingual,
        beam_size=settings.beam_size,
    )


def transcribe(
    model: Model, audio_path: Path, *, language: str | None, fallback: str | None = None
) -> Transcript:
    """Transcribe a file; blocking, so async callers use asyncio.to_thread.

    `language` None detects it; when detection is unsure, `fallback` (when given) is used.
    faster-whisper decodes the file with PyAV to 16 kHz mono float32 in memory (30 minutes
    hold 115 MB): acceptable because the file is the .m4a our own pipeline wrote, not an
    upload, so no demuxer forcing is needed here.
    """
    import av
    from faster_whisper import decode_audio

    if language is not None:
        _check_language(model, language)  # before reading a file it cannot transcribe
    try:
        audio = decode_audio(str(audio_path), sampling_rate=SAMPLE_RATE)
    except (OSError, av.error.FFmpegError) as exc:
        raise TranscriptionError(f"Could not read {audio_path.name}: {exc}") from exc
    return transcribe_samples(model, audio, language=language, fallback=fallback)


def transcribe_samples(
    model: Model,
    audio: np.ndarray,
    *,
    language: str | None,
    fallback: str | None = None,
    offset: float = 0.0,
    whole: bool = True,
) -> Transcript:
    """Transcribe 16 kHz mono float32 samples that start `offset` seconds into their
    recording (segment times are the recording's). `whole` False: a piece of a recording,
    whose hallucination check (drop_hallucinations' second rule) waits for the rest."""
    if language is not None:
        _check_language(model, language)
    if fallback is not None and (model.english_only or fallback not in _languages(model)):
        fallback = None
    probability = None
    if language is None and not model.english_only:
        language, probability = detect_language(model, audio, fallback)
    raw_segments, info = model.whisper.transcribe(
        audio,
        language=language,
        beam_size=model.beam_for(language or "en"),
        vad_filter=True,  # Silero VAD; its onnx file ships inside faster-whisper
        word_timestamps=True,
        # Each window starts fresh, so one hallucination cannot feed the next.
        condition_on_previous_text=False,
    )
    segments = [_segment(s, info.duration, offset) for s in raw_segments]
    speech = float(info.duration_after_vad)
    if probability is None:
        probability = float(info.language_probability)
    return Transcript(
        language=info.language,
        language_probability=round(probability, 3),
        segments=tuple(drop_hallucinations(segments, speech if whole else MIN_SPEECH_SECONDS)),
        model=model.name,
        duration=round(offset + float(info.duration), 3),
        speech_seconds=round(speech, 3),
    )


def detect_language(model: Model, audio: np.ndarray, fallback: str | None) -> tuple[str, float]:
    """(language, its probability): the detected one, or `fallback` when detection is
    unsure. Detection reads the first 30 s of speech, as faster-whisper's own does."""
    language, probability, ranked = model.whisper.detect_language(audio=audio, vad_filter=True)
    if probability >= SURE_DETECTION or fallback is None:
        return language, float(probability)
    return fallback, float(dict(ranked).get(fallback, 0.0))


def drop_hallucinations(segments: Iterable[Segment], speech_seconds: float) -> list[Segment]:
    """Drop what Whisper likely invented.

    1. A segment Whisper itself calls silent: no-speech probability above 0.6 and average
       log-probability below -1 (faster-whisper applies this per 30 s window; we repeat it
       per segment).
    2. A stock phrase ("Thank you.", "Bedankt voor het kijken.") that is the whole
       transcript while the VAD kept under a second of audio. A phrase inside real speech,
       or said on its own in a real message, stays.
    """
    kept = [
        s
        for s in segments
        if s.text and not (s.no_speech_prob > NO_SPEECH_PROB and s.avg_logprob < LOW_AVG_LOGPROB)
    ]
    if speech_seconds < MIN_SPEECH_SECONDS and kept:
        if all(_normalise(s.text) in HALLUCINATIONS for s in kept):
            return []
    return kept


def _check_language(model: Model, language: str) -> None:
    if model.english_only and language != "en":
        raise LanguageNotSupported(
            model.name,
            language,
            f"The model {model.name} only understands English; leave RELAY_WHISPER_MODEL "
            f"empty for the multilingual default (base), or set a multilingual model such as "
            f"'small', to transcribe {_LANGUAGE_NAMES.get(language, repr(language))}.",
        )
    if language not in _languages(model):
        raise LanguageNotSupported(
            model.name, language, f"Whisper does not know the language code {language!r}."
        )


_LANGUAGE_NAMES = {"nl": "Dutch", "de": "German", "fr": "French"}


def _languages(model: Model) -> list[str]:
    return model.whisper.supported_languages


def _segment(raw: Any, duration: float, offset: float = 0.0) -> Segment:
    def clamp(t: float) -> float:
        return round(offset + min(max(float(t), 0.0), duration), 3)

    words = tuple(
        Word(clamp(w.start), clamp(w.end), w.word.strip(), round(float(w.probability), 3))
        for w in raw.words or ()
        if w.word.strip()
    )
    return Segment(
        start=clamp(raw.start),
        end=clamp(raw.end),
        text=raw.text.strip(),
        words=words,
        no_speech_prob=round(float(raw.no_speech_prob), 3),
        avg_logprob=round(float(raw.avg_logprob), 3),
    )


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", "", text.lower()).split())
