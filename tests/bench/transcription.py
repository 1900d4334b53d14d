"""Transcription speed: our `transcribe()` against bare faster-whisper on the same .m4a.

`python -m tests.bench.transcription [--quick]` prints one JSON document; `run(quick)`
returns it. The model is the configured one (RELAY_WHISPER_MODEL; empty: base). About 60 s
of espeak-ng speech (15 s with --quick) becomes an AAC .m4a like the media pipeline's; each
side runs twice, alternating, and its best run counts. Model loading is timed apart.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from relay.settings import Settings
from tests.support.speech import make_passage, to_m4a, wav_seconds, word_error_rate
from workers.whisper import load_model, locate_model, transcribe

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

SENTENCES = [
    "Please review the budget before Friday.",
    "The design team will present the new upload flow tomorrow morning.",
    "We moved the weekly meeting to Thursday afternoon because half of the team is away.",
    "Remember to record a short update for the customers in Amsterdam.",
    "The invoice from the printing company is still missing, so I asked finance to call them.",
    "Our new colleague starts on Monday and will sit next to the support desk.",
    "Could somebody check why the mobile player stops after the second message?",
    "The server migration is planned for the last weekend of the month.",
    "Send me your holiday plans before the end of next week.",
    "I think the onboarding video is too long, so let us cut it to three minutes.",
    "The backup job failed twice last night, but the retry worked.",
    "Thanks everyone for the quick answers in the thread yesterday.",
]
QUICK_SENTENCES = 3
PAUSE = 0.7
ROUNDS = 2
OVERHEAD_GOAL = 1.10  # ours / bare
# Audio seconds per wall second on two cores, per model.
REALTIME_GOALS = {"tiny.en": 15.0, "base": 5.0}


def run(quick: bool) -> dict[str, object]:
    sentences = SENTENCES[:QUICK_SENTENCES] if quick else SENTENCES
    reference = " ".join(sentences)
    settings = Settings.from_env().whisper
    model_path = locate_model(settings).source
    with tempfile.TemporaryDirectory(prefix="relay-bench-whisper-") as name:
        tmp = Path(name)
        wav = make_passage(tmp / "speech.wav", sentences, pause=PAUSE)
        audio_seconds = wav_seconds(wav)
        m4a = to_m4a(wav, tmp / "audio.m4a")

        started = time.perf_counter()
        model = load_model(settings)
        ours_load = time.perf_counter() - started
        started = time.perf_counter()
        bare = _bare_model(model_path, settings.resolved())
        bare_load = time.perf_counter() - started

        ours_times: list[float] = []
        bare_times: list[float] = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            ours_text = transcribe(model, m4a, language=None).text
            ours_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            bare_text = _bare_transcribe(bare, m4a, model.beam_for("en"))
            bare_times.append(time.perf_counter() - started)

    ours_best, bare_best = min(ours_times), min(bare_times)
    device, compute_type = settings.resolved()
    ours_realtime = audio_seconds / ours_best
    return {
        "benchmark": "relay transcription",
        "mode": "quick" if quick else "full",
        "units": "seconds are wall-clock; realtime = audio seconds / wall seconds",
        "model": model.name,
        "device": device,
        "compute_type": compute_type,
        "beam_size": model.beam_for("en"),
        "cpu_count": os.cpu_count(),
        "loadavg_at_end": [round(n, 2) for n in os.getloadavg()],
        "faster_whisper": version("faster-whisper"),
        "ctranslate2": version("ctranslate2"),
        "audio_seconds": round(audio_seconds, 2),
        "rounds": ROUNDS,
        "ours": {
            "load_seconds": round(ours_load, 3),
            "seconds": [round(t, 3) for t in ours_times],
            "realtime": round(ours_realtime, 1),
            "wer": round(word_error_rate(reference, ours_text), 3),
            "text": ours_text,
        },
        "bare": {
            "load_seconds": round(bare_load, 3),
            "seconds": [round(t, 3) for t in bare_times],
            "realtime": round(audio_seconds / bare_best, 1),
            "wer": round(word_error_rate(reference, bare_text), 3),
            "text": bare_text,
        },
        "overhead_ratio": round(ours_best / bare_best, 3),
        "overhead_goal": OVERHEAD_GOAL,
        "overhead_goal_met": ours_best / bare_best <= OVERHEAD_GOAL,
        "realtime_goal": REALTIME_GOALS.get(model.name),
        "realtime_goal_met": ours_realtime >= REALTIME_GOALS.get(model.name, 0.0),
    }


def _bare_model(path: str, device: tuple[str, str]) -> WhisperModel:
    from faster_whisper import WhisperModel

    return WhisperModel(path, device=device[0], compute_type=device[1])


def _bare_transcribe(model: WhisperModel, audio: Path, beam: int) -> str:
    segments, _ = model.transcribe(
        str(audio), vad_filter=True, word_timestamps=True, beam_size=beam
    )
    return " ".join(s.text.strip() for s in segments)  # the generator does the work


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.transcription")
    parser.add_argument("--quick", action="store_true", help="15 s of speech instead of 60 s")
    args = parser.parse_args(argv)
    json.dump(run(args.quick), sys.stdout, indent=2, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
