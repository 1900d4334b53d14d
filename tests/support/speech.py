"""Test speech made with espeak-ng, silence and noise made with ffmpeg, and word error rate."""

from __future__ import annotations

import re
import subprocess
import tempfile
import wave
from pathlib import Path

_FFMPEG = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
SAMPLE_RATE = 16000


def make_speech(
    path: Path,
    text: str,
    *,
    lang: str = "en",
    speed: int = 150,
    word_gap: int = 0,
    silence_before: float = 0.0,
    silence_after: float = 0.0,
) -> Path:
    """`text` spoken by espeak-ng (`lang` is a voice: "en", "nl"), as 16-bit mono WAV;
    `word_gap` adds that many 10 ms between words, as a careful speaker does."""
    if not silence_before and not silence_after:
        _espeak(path, text, lang, speed, word_gap)
        return path
    with tempfile.TemporaryDirectory() as tmp:
        raw = _espeak(Path(tmp) / "speech.wav", text, lang, speed, word_gap)
        delay = round(silence_before * 1000)
        # adelay shifts the start; apad adds the tail.
        audio_filter = f"adelay={delay}:all=1,apad=pad_dur={silence_after:.3f}"
        _ffmpeg(["-i", str(raw), "-af", audio_filter, *_wav_output(path)])
    return path


def make_passage(
    path: Path,
    sentences: list[str],
    *,
    lang: str = "en",
    speed: int = 150,
    word_gap: int = 0,
    pause: float = 0.6,
) -> Path:
    """Sentences spoken one by one and joined with `pause` seconds of silence between."""
    with tempfile.TemporaryDirectory() as tmp:
        parts = [
            make_speech(
                Path(tmp) / f"{i}.wav",
                s,
                lang=lang,
                speed=speed,
                word_gap=word_gap,
                silence_after=pause,
            )
            for i, s in enumerate(sentences)
        ]
        inputs = [arg for part in parts for arg in ("-i", str(part))]
        joined = "".join(f"[{i}:a]" for i in range(len(parts)))
        concat = f"{joined}concat=n={len(parts)}:v=0:a=1[out]"
        _ffmpeg([*inputs, "-filter_complex", concat, "-map", "[out]", *_wav_output(path)])
    return path


def make_silence(path: Path, seconds: float) -> Path:
    _ffmpeg(
        [
            *("-f", "lavfi", "-i", f"anullsrc=r={SAMPLE_RATE}:cl=mono"),
            *("-t", f"{seconds:.3f}", *_wav_output(path)),
        ]
    )
    return path


def make_noise(path: Path, seconds: float, *, amplitude: float = 0.1) -> Path:
    """Pink noise about 20 dB below full scale, like a fan or a busy room."""
    source = f"anoisesrc=d={seconds:.3f}:c=pink:r={SAMPLE_RATE}:a={amplitude}:seed=7"
    _ffmpeg(["-f", "lavfi", "-i", source, *_wav_output(path)])
    return path


def to_m4a(src: Path, dst: Path) -> Path:
    """AAC-LC at 48 kHz in an .m4a, like the audio rendition of the media pipeline."""
    aac = ["-c:a", "aac", "-b:a", "96k", "-ar", "48000", "-movflags", "+faststart"]
    _ffmpeg(["-i", str(src), "-vn", *aac, "-f", "ipod", str(dst)])
    return dst


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


_NUMBERS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()


def normalise(text: str) -> list[str]:
    """Lower case, no punctuation, hyphens as spaces, numbers up to twenty as words."""
    text = re.sub(r"[-–—/]", " ", text.lower())
    text = re.sub(r"[^\w\s]", "", text)
    return [_NUMBERS[int(w)] if w.isdigit() and int(w) <= 20 else w for w in text.split()]


def word_error_rate(ref: str, hyp: str) -> float:
    """(substitutions + deletions + insertions) / words in `ref`, after `normalise`."""
    reference, hypothesis = normalise(ref), normalise(hyp)
    if not reference:
        return 0.0 if not hypothesis else 1.0
    previous = list(range(len(hypothesis) + 1))
    for i, word in enumerate(reference, 1):
        current = [i]
        for j, other in enumerate(hypothesis, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other))
            )
        previous = current
    return previous[-1] / len(reference)


# Words that carry no content in the Dutch test passages (articles, pronouns, prepositions,
# auxiliaries): a transcript is judged by the other words.
DUTCH_STOP_WORDS = frozenset(
    "de het een en of van voor om op in aan naar met bij je jij ik we wij mij me ze zij hij "
    "u uw ons onze is zijn was wordt worden heeft hebben wil kun kan nog al dat die dit er "
    "niet ook dan te terug keer".split()
)


def content_words_found(ref: str, hyp: str, stop_words: frozenset[str]) -> float:
    """Share of `ref`'s content words (not in `stop_words`) that `hyp` contains, after
    `normalise`. Two neighbouring words of `hyp` count as one too: a compound written
    apart ("klanten service") is still heard."""
    wanted = [w for w in normalise(ref) if w not in stop_words]
    heard = normalise(hyp)
    found = set(heard) | {a + b for a, b in zip(heard, heard[1:], strict=False)}
    return sum(w in found for w in wanted) / len(wanted) if wanted else 1.0


def _espeak(path: Path, text: str, lang: str, speed: int, word_gap: int = 0) -> Path:
    subprocess.run(
        ["espeak-ng", "-v", lang, "-s", str(speed), "-g", str(word_gap), "-w", str(path)]
        + ["--", text],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return path


def _wav_output(path: Path) -> list[str]:
    return ["-ac", "1", "-ar", str(SAMPLE_RATE), "-c:a", "pcm_s16le", "-f", "wav", str(path)]


def _ffmpeg(args: list[str]) -> None:
    subprocess.run([*_FFMPEG, *args], check=True, capture_output=True, timeout=120)
