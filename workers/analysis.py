"""Pure parsers and reducers for the analysis pass: loudness, silences, waveform peaks.

The pass itself (one ffmpeg run) is built in workers.ffmpeg and run in workers.transcode;
nothing here does I/O, so all of it is tested on plain values.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

SILENCE_NOISE_DB = -40
SILENCE_MIN_SECONDS = 0.7
WAVEFORM_RATE = 8000  # samples per second of the mono s16le analysis PCM
MIN_PEAKS, MAX_PEAKS, PEAKS_PER_SECOND = 256, 1000, 10
FORMAT_VERSION = 1
_FULL_SCALE = 32768


@dataclass(frozen=True)
class Loudness:
    """loudnorm's first-pass measurement, as its linear mode takes it back."""

    input_i: float
    input_tp: float
    input_lra: float
    input_thresh: float
    target_offset: float


@dataclass(frozen=True)
class Silence:
    start: float
    end: float


def parse_loudnorm(stderr: str) -> Loudness | None:
    """The JSON that `loudnorm=print_format=json` prints last; None when there is none or
    the input was too quiet to measure (loudnorm then prints "-inf")."""
    end = stderr.rfind("}")
    start = stderr.rfind("{", 0, end)
    if start < 0:
        return None
    try:
        data = json.loads(stderr[start : end + 1])
        values = [
            float(data[key])
            for key in ("input_i", "input_tp", "input_lra", "input_thresh", "target_offset")
        ]
    except (ValueError, KeyError, TypeError):
        return None
    if not all(math.isfinite(v) for v in values):
        return None
    # The ranges loudnorm accepts back as measured_* and offset.
    i, tp, lra, thresh, offset = values
    return Loudness(
        input_i=_clamp(i, -99, 0),
        input_tp=_clamp(tp, -99, 99),
        input_lra=_clamp(lra, 0, 99),
        input_thresh=_clamp(thresh, -99, 0),
        target_offset=_clamp(offset, -99, 99),
    )


def parse_silences(text: str, duration: float) -> list[Silence]:
    """Silences from an `ametadata=mode=print` file after silencedetect.

    A silence still open at the end ends at `duration`; times are clamped to [0, duration].
    """
    silences: list[Silence] = []
    start: float | None = None
    for line in text.splitlines():
        key, _, value = line.strip().partition("=")
        number = _float(value)
        if number is None:
            continue
        number = _clamp(number, 0.0, duration)
        if key == "lavfi.silence_start":
            start = number if start is None else start
        elif key == "lavfi.silence_end" and start is not None:
            if number > start:
                silences.append(Silence(start, number))
            start = None
    if start is not None and duration > start:
        silences.append(Silence(start, duration))
    return silences


def peak_count(duration: float) -> int:
    """PEAKS_PER_SECOND, but at least MIN_PEAKS and at most MAX_PEAKS."""
    return max(MIN_PEAKS, min(MAX_PEAKS, round(duration * PEAKS_PER_SECOND)))


def window_sizes(total: int, count: int) -> list[int]:
    """`count` window lengths that split `total` samples as evenly as possible."""
    bounds = [i * total // count for i in range(count + 1)]
    return [b - a for a, b in zip(bounds, bounds[1:], strict=False)]


def window_peak(samples: Sequence[int]) -> float:
    """The largest absolute s16 sample of a window, as a fraction of full scale; 0 if empty."""
    if not samples:
        return 0.0
    return min(1.0, max(max(samples), -min(samples)) / _FULL_SCALE)


def normalise(peaks: Iterable[float]) -> list[float]:
    """Scale so the loudest peak is 1.0; silence stays all zero."""
    values = list(peaks)
    top = max(values, default=0.0)
    if top <= 0:
        return [0.0] * len(values)
    return [round(v / top, 3) for v in values]


def waveform_json(duration: float, peaks: list[float]) -> dict[str, Any]:
    return {"version": FORMAT_VERSION, "duration": round(duration, 3), "peaks": peaks}


def silences_json(silences: list[Silence]) -> dict[str, Any]:
    return {
        "version": FORMAT_VERSION,
        "noise_db": SILENCE_NOISE_DB,
        "min_seconds": SILENCE_MIN_SECONDS,
        "silences": [{"start": round(s.start, 3), "end": round(s.end, 3)} for s in silences],
    }


def check_waveform(data: Any) -> None:
    """Raise ValueError unless `data` is a waveform document as waveform_json writes it."""
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise ValueError("not a version 1 waveform")
    duration, peaks = data.get("duration"), data.get("peaks")
    if not isinstance(duration, int | float) or duration <= 0:
        raise ValueError("no duration")
    if not isinstance(peaks, list) or not MIN_PEAKS <= len(peaks) <= MAX_PEAKS:
        raise ValueError("wrong number of peaks")
    if not all(isinstance(p, int | float) and 0 <= p <= 1 for p in peaks):
        raise ValueError("peaks out of range")


def check_silences(data: Any, duration: float) -> None:
    """Raise ValueError unless `data` is a silences document within `duration`."""
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise ValueError("not a version 1 silences document")
    silences = data.get("silences")
    if not isinstance(silences, list):
        raise ValueError("no silences list")
    previous = 0.0
    for item in silences:
        start, end = item.get("start"), item.get("end")
        if not (isinstance(start, int | float) and isinstance(end, int | float)):
            raise ValueError("silence without start and end")
        if not previous <= start < end <= duration + 0.001:
            raise ValueError("silences out of order or out of range")
        previous = end


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def _float(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
