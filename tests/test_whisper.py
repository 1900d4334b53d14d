"""Transcription with the real offline tiny.en model on speech made by espeak-ng (three times
faster than base, which test_transcription_languages.py uses), and WhisperSettings."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from relay.settings import SettingsError, WhisperSettings
from tests.support.speech import (
    make_noise,
    make_passage,
    make_silence,
    make_speech,
    to_m4a,
    wav_seconds,
    word_error_rate,
)
from workers import whisper
from workers.whisper import (
    LanguageNotSupported,
    Model,
    Segment,
    TranscriptionError,
    TranscriptionUnavailable,
    drop_hallucinations,
    load_model,
    transcribe,
)

BUDGET = "Please review the budget before Friday."
DESIGN = "The design team will present the new upload flow tomorrow morning."
PAUSE = 1.0


TINY = WhisperSettings(model="tiny.en")


@pytest.fixture(scope="module")
def model() -> Model:
    return load_model(TINY)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("speech")


def test_english_sentences_low_wer_and_word_times(model: Model, media: Path) -> None:
    audio = make_passage(media / "two.wav", [BUDGET, DESIGN], pause=PAUSE)
    design_starts = wav_seconds(make_speech(media / "budget.wav", BUDGET)) + PAUSE

    transcript = transcribe(model, audio, language=None)

    assert word_error_rate(f"{BUDGET} {DESIGN}", transcript.text) <= 0.25
    assert transcript.language == "en" and transcript.model == "tiny.en"
    assert transcript.duration == pytest.approx(wav_seconds(audio), abs=0.05)
    words = [w for s in transcript.segments for w in s.words]
    assert words and all(w.text == w.text.strip() and w.text for w in words)
    times = [t for w in words for t in (w.start, w.end)]
    assert times == sorted(times)
    assert 0 <= times[0] and times[-1] <= transcript.duration
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts)
    assert all(0 <= s.start < s.end <= transcript.duration for s in transcript.segments)
    design = next(w for w in words if w.text.lower().strip(".,") == "design")
    assert design.start == pytest.approx(design_starts, abs=1.0)


def test_pipeline_m4a_with_language_en(model: Model, media: Path) -> None:
    wav = make_speech(media / "design.wav", DESIGN)
    m4a = to_m4a(wav, media / "audio.m4a")

    transcript = transcribe(model, m4a, language="en")

    assert transcript.language == "en" and transcript.language_probability == 1.0
    assert word_error_rate(DESIGN, transcript.text) <= 0.25


@pytest.mark.parametrize("make", [make_silence, make_noise], ids=["silence", "noise"])
def test_no_speech_gives_empty_transcript(model: Model, media: Path, make) -> None:
    audio = make(media / f"{make.__name__}.wav", 10)
    transcript = transcribe(model, audio, language=None)
    assert transcript.segments == () and transcript.text == ""
    assert transcript.duration == pytest.approx(10, abs=0.05)


def test_trailing_silence_adds_no_text(model: Model, media: Path) -> None:
    audio = make_speech(media / "tail.wav", BUDGET, silence_after=8)
    spoken = wav_seconds(audio) - 8

    transcript = transcribe(model, audio, language=None)

    assert word_error_rate(BUDGET, transcript.text) <= 0.25
    assert max(s.end for s in transcript.segments) <= spoken + 0.5


def test_dutch_on_english_only_model_raises(model: Model, media: Path) -> None:
    with pytest.raises(LanguageNotSupported) as caught:
        transcribe(model, media / "never-read.wav", language="nl")
    assert str(caught.value) == (
        "The model tiny.en only understands English; leave RELAY_WHISPER_MODEL empty for the "
        "multilingual default (base), or set a multilingual model such as 'small', to "
        "transcribe Dutch."
    )
    assert caught.value.language == "nl"


def test_auto_detect_on_english_only_model_is_english(model: Model, media: Path) -> None:
    audio = make_speech(media / "short.wav", "Good morning everyone.")
    transcript = transcribe(model, audio, language=None)
    assert (transcript.language, transcript.language_probability) == ("en", 1.0)


def test_unreadable_file_raises_transcription_error(model: Model, tmp_path: Path) -> None:
    junk = tmp_path / "audio.m4a"
    junk.write_bytes(b"not audio at all" * 100)
    with pytest.raises(TranscriptionError, match="audio.m4a"):
        transcribe(model, junk, language=None)
    with pytest.raises(TranscriptionError):
        transcribe(model, tmp_path / "missing.m4a", language=None)


def test_vad_model_ships_inside_faster_whisper() -> None:
    from faster_whisper.utils import get_assets_path

    assert (Path(get_assets_path()) / "silero_vad_v6.onnx").is_file()


def test_package_model_is_english_only_tiny(model: Model) -> None:
    assert (model.name, model.english_only, model.beam_size) == ("tiny.en", True, None)
    assert (model.beam_for("en"), model.beam_for("nl")) == (1, 5)


def test_load_model_is_cached(model: Model) -> None:
    assert load_model(TINY) is model


def test_load_model_once_under_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(whisper, "_models", {})
    loads: list[WhisperSettings] = []
    real_load = whisper._load

    def counting_load(settings: WhisperSettings) -> Model:
        loads.append(settings)
        return real_load(settings)

    monkeypatch.setattr(whisper, "_load", counting_load)
    settings = WhisperSettings(model="tiny.en", threads=1)
    with ThreadPoolExecutor(4) as pool:
        models = list(pool.map(lambda _: load_model(settings), range(8)))
    assert len(loads) == 1 and all(m is models[0] for m in models)


def test_unloadable_model_raises_unavailable(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"garbage")
    with pytest.raises(TranscriptionUnavailable, match="RELAY_WHISPER_MODEL"):
        load_model(WhisperSettings(model=str(tmp_path)))


# WhisperSettings


def test_settings_defaults() -> None:
    settings = WhisperSettings.from_env({})
    assert settings == WhisperSettings("", "auto", "", 0, None)


def test_settings_from_env() -> None:
    env = {
        "RELAY_WHISPER_MODEL": "/srv/models/small",
        "RELAY_WHISPER_DEVICE": "CUDA",
        "RELAY_WHISPER_COMPUTE_TYPE": "int8_float16",
        "RELAY_WHISPER_THREADS": "2",
        "RELAY_WHISPER_BEAM_SIZE": "5",
    }
    assert WhisperSettings.from_env(env) == WhisperSettings(
        "/srv/models/small", "cuda", "int8_float16", 2, 5
    )


@pytest.mark.parametrize(
    "env",
    [
        {"RELAY_WHISPER_DEVICE": "tpu"},
        {"RELAY_WHISPER_COMPUTE_TYPE": "int3"},
        {"RELAY_WHISPER_THREADS": "-1"},
        {"RELAY_WHISPER_THREADS": "two"},
        {"RELAY_WHISPER_BEAM_SIZE": "0"},
    ],
)
def test_settings_invalid_raise(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match=next(iter(env))):
        WhisperSettings.from_env(env)


def test_settings_resolved_compute_types() -> None:
    import ctranslate2

    if ctranslate2.get_cuda_device_count() == 0:
        assert WhisperSettings().resolved() == ("cpu", "int8")
    assert WhisperSettings(device="cuda").resolved() == ("cuda", "float16")
    assert WhisperSettings(device="cpu", compute_type="float32").resolved() == ("cpu", "float32")


# drop_hallucinations


def seg(text: str, no_speech: float = 0.1, logprob: float = -0.3) -> Segment:
    return Segment(0.0, 1.0, text, (), no_speech, logprob)


def test_silent_segment_dropped_by_whisper_rule() -> None:
    kept = drop_hallucinations([seg("Real words."), seg("Ghost.", 0.9, -1.5)], 5.0)
    assert [s.text for s in kept] == ["Real words."]
    # Either signal alone is not enough.
    assert len(drop_hallucinations([seg("A", 0.9, -0.5), seg("B", 0.1, -1.5)], 5.0)) == 2


@pytest.mark.parametrize(
    "text", ["Thank you.", "you", "Thanks for watching!", "Bedankt voor het kijken."]
)
def test_stock_phrase_on_near_silence_dropped(text: str) -> None:
    assert drop_hallucinations([seg(text)], 0.5) == []


def test_stock_phrase_with_real_speech_kept() -> None:
    assert len(drop_hallucinations([seg("Thank you.")], 1.6)) == 1
    assert len(drop_hallucinations([seg("Thank you."), seg("See you Friday.")], 0.5)) == 2
    assert len(drop_hallucinations([seg("Thank you, Anna.")], 0.5)) == 1
