"""How well the default model hears Dutch and English, how sure its language detection is,
and what beam width each language wants: the measurements behind BEAM_SIZES and
SURE_DETECTION in workers/whisper.py.

`python -m tests.bench.languages` prints one JSON document. espeak-ng speaks an English
and a Dutch passage (Dutch with 60 ms between words: without them espeak's Dutch is barely
understood); each is transcribed with its language given, with a beam of 1 and of 5, and
detection runs on every sentence alone and on each passage.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from relay.settings import Settings
from tests.support.speech import (
    DUTCH_STOP_WORDS,
    content_words_found,
    make_passage,
    word_error_rate,
)
from workers.whisper import Model, load_model

ENGLISH = [
    "Please review the budget before Friday.",
    "The design team will present the new upload flow tomorrow morning.",
    "We moved the weekly meeting to Thursday afternoon because half of the team is away.",
    "Remember to record a short update for the customers in Amsterdam.",
]
DUTCH = [
    "Goedemorgen allemaal, de vergadering van vandaag begint om tien uur.",
    "Wil je het verslag van het project voor vrijdag naar mij sturen?",
    "De nieuwe collega begint maandag op de afdeling klantenservice.",
    "We hebben de begroting voor volgend jaar gisteren besproken.",
    "Kun je de presentatie voor de klant in Amsterdam nog een keer controleren?",
    "Bedankt voor je snelle antwoord, ik bel je morgen terug.",
]
DUTCH_WORD_GAP = 6  # tens of milliseconds
ENGLISH_STOP_WORDS = frozenset(
    "the a an to of for in on at is are will we our us you your before because half".split()
)


def run() -> dict[str, object]:
    settings = Settings.from_env().whisper
    model = load_model(settings)
    report: dict[str, object] = {
        "benchmark": "relay transcription languages",
        "model": model.name,
        "cpu_count": os.cpu_count(),
        "units": "seconds are wall-clock; found = share of content words heard",
    }
    with tempfile.TemporaryDirectory(prefix="relay-bench-lang-") as name:
        tmp = Path(name)
        for lang, sentences, gap, stop in (
            ("en", ENGLISH, 0, ENGLISH_STOP_WORDS),
            ("nl", DUTCH, DUTCH_WORD_GAP, DUTCH_STOP_WORDS),
        ):
            passage = make_passage(tmp / f"{lang}.wav", sentences, lang=lang, word_gap=gap)
            reference = " ".join(sentences)
            beams = {}
            for beam in (1, 5):
                started = time.perf_counter()
                text = _transcribe(model, passage, lang, beam)
                beams[f"beam_{beam}"] = {
                    "seconds": round(time.perf_counter() - started, 2),
                    "wer": round(word_error_rate(reference, text), 3),
                    "found": round(content_words_found(reference, text, stop), 3),
                    "text": text,
                }
            clips = [
                make_passage(tmp / f"{lang}{i}.wav", [s], lang=lang, word_gap=gap)
                for i, s in enumerate(sentences)
            ]
            report[lang] = {
                **beams,
                "detected_passage": _detect(model, passage),
                "detected_sentences": [_detect(model, clip) for clip in clips],
            }
    return report


def _transcribe(model: Model, audio: Path, language: str, beam: int) -> str:
    segments, _ = model.whisper.transcribe(
        str(audio),
        language=language,
        beam_size=beam,
        vad_filter=True,
        word_timestamps=True,
        condition_on_previous_text=False,
    )
    return " ".join(s.text.strip() for s in segments)


def _detect(model: Model, audio: Path) -> list[object]:
    from faster_whisper import decode_audio

    language, probability, _ = model.whisper.detect_language(
        audio=decode_audio(str(audio)), vad_filter=True
    )
    return [language, round(float(probability), 3)]


if __name__ == "__main__":
    json.dump(run(), sys.stdout, indent=2, ensure_ascii=False)
    print()
