"""WebVTT captions: cues from transcript segments, the file's text, and a strict parser of
the subset we write (tests use it to prove the output valid)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Protocol

Cue = tuple[float, float, str]  # start and end in seconds, text

LINE_CHARS = 42  # the usual broadcast limit; two lines fit a phone held upright
MAX_LINES = 2
MIN_CUE_SECONDS = 0.5  # a cue that would flash by is lengthened when there is room
_CLAUSE_END = (".", ",", "!", "?", ";", ":", "…")


class TimedWord(Protocol):
    start: float
    end: float
    text: str


class TimedSegment(Protocol):
    start: float
    end: float
    text: str
    words: Sequence[TimedWord] | None


def cues_from_segments(
    segments: Iterable[TimedSegment],
    max_chars: int = MAX_LINES * LINE_CHARS,
    max_seconds: float = 7.0,
    *,
    duration: float | None = None,
) -> list[Cue]:
    """Cues of at most `max_chars` and about `max_seconds`, split between words.

    With word timings a long segment is cut at the word that would overflow, or earlier at
    a clause end in the cue's second half; without them its time is shared by length.
    Cues are clipped to [0, duration] and never overlap the next one.
    """
    cues: list[Cue] = []
    for segment in segments:
        words = [w for w in segment.words or () if w.text.strip()]
        if words:
            cues += _cues_from_words(words, max_chars, max_seconds)
        else:
            cues += _cues_from_text(segment, max_chars, max_seconds)
    return _tidy(sorted(cues, key=lambda c: c[0]), math.inf if duration is None else duration)


def build_vtt(cues: Iterable[Cue]) -> str:
    """A WebVTT file; cue text is escaped and wrapped into lines of at most 42 characters.

    A cue longer than two lines becomes several cues sharing its time by length; cues
    without text are left out.
    """
    blocks = ["WEBVTT"]
    for start, end, text in cues:
        if not (math.isfinite(start) and math.isfinite(end) and 0 <= start <= end):
            raise ValueError(f"bad cue timing {start!r} --> {end!r}")
        for piece_start, piece_end, lines in _fit(_ms(start), _ms(end), text.split()):
            timing = f"{_timestamp(piece_start)} --> {_timestamp(piece_end)}"
            blocks.append("\n".join([timing, *(_escape(line) for line in lines)]))
    return "\n\n".join(blocks) + "\n"


_TIME = r"(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})"
_TIMING = re.compile(rf"{_TIME}[ \t]+-->[ \t]+{_TIME}(?:[ \t]+[^\n]*)?")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&nbsp;": "\u00a0"}
_ENTITY = re.compile(r"&(?:amp|lt|gt|nbsp);")


def parse_vtt(text: str) -> list[Cue]:
    """Parse a WebVTT file of plain-text cues; raise ValueError on anything malformed.

    Stricter than the standard where we want to be: cue text must not be empty or hold
    tags, cues must be in order of start time and end after they start.
    """
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not re.fullmatch(r"WEBVTT(?:[ \t].*)?", lines[0]):
        raise ValueError("a WebVTT file starts with 'WEBVTT'")
    blocks: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    cues: list[Cue] = []
    for block in blocks[1:]:
        if not block or re.match(r"NOTE(?:$|[ \t])", block[0]):
            continue
        if "-->" not in block[0]:
            block = block[1:]  # a cue identifier
        if not block or not (match := _TIMING.fullmatch(block[0])):
            raise ValueError(f"bad cue timing line: {block[0] if block else ''!r}")
        start, end = _seconds(*match.groups()[:4]), _seconds(*match.groups()[4:])
        if end <= start:
            raise ValueError(f"cue ends before it starts: {block[0]!r}")
        if cues and start < cues[-1][0]:
            raise ValueError(f"cues out of order at {block[0]!r}")
        if len(block) < 2:
            raise ValueError(f"cue without text at {block[0]!r}")
        cues.append((start, end, "\n".join(_unescape(line) for line in block[1:])))
    return cues


def _cues_from_words(words: list[TimedWord], max_chars: int, max_seconds: float) -> list[Cue]:
    def fits(group: list[TimedWord]) -> bool:
        return len(_join(group)) <= max_chars and group[-1].end - group[0].start <= max_seconds

    cues: list[Cue] = []
    group: list[TimedWord] = []
    for word in words:
        while group and not fits([*group, word]):
            cut = _clause_break(group)
            cues.append((group[0].start, group[cut - 1].end, _join(group[:cut])))
            group = group[cut:]
        group.append(word)
    if group:
        cues.append((group[0].start, group[-1].end, _join(group)))
    return cues


def _clause_break(group: list[TimedWord]) -> int:
    """Where to end a full cue: after the last clause end in its second half, else all."""
    for cut in range(len(group) - 1, max(len(group) // 2, 1) - 1, -1):
        if group[cut - 1].text.strip().endswith(_CLAUSE_END):
            return cut
    return len(group)


def _cues_from_text(segment: TimedSegment, max_chars: int, max_seconds: float) -> list[Cue]:
    text = " ".join(segment.text.split())
    if not text:
        return []
    span = max(segment.end - segment.start, 0.0)
    count = max(math.ceil(len(text) / max_chars), math.ceil(span / max_seconds), 1)
    pieces = _pack(text.split(), math.ceil(len(text) / count), cut=False)
    total = sum(len(p) for p in pieces)
    cues, done = [], 0
    for piece in pieces:
        start = segment.start + span * done / total
        done += len(piece)
        cues.append((start, segment.start + span * done / total, piece))
    return cues


def _tidy(cues: list[Cue], duration: float) -> list[Cue]:
    tidy: list[Cue] = []
    for i, (start, end, text) in enumerate(cues):
        following = [c[0] for c in cues[i + 1 :] if c[0] > start]
        limit = min(following[0] if following else math.inf, duration)
        start = max(start, 0.0)
        end = min(end, limit)
        if end - start < MIN_CUE_SECONDS:
            end = min(start + MIN_CUE_SECONDS, limit)
        start, end = round(start, 3), round(end, 3)
        if end > start:
            tidy.append((start, end, text))
    return tidy


def _fit(start_ms: int, end_ms: int, words: list[str]) -> list[tuple[int, int, list[str]]]:
    """Split words into cues of at most two lines, sharing [start, end] by length."""
    lines = _pack(words, LINE_CHARS)
    groups = [lines[i : i + MAX_LINES] for i in range(0, len(lines), MAX_LINES)]
    texts = [" ".join(group) for group in groups]
    total = sum(len(t) for t in texts)
    pieces, done, previous = [], 0, start_ms
    for text in texts:
        done += len(text)
        bound = start_ms + round((end_ms - start_ms) * done / total)
        # A piece rounded to no time at all could not be shown anyway.
        if bound > previous:
            pieces.append((previous, bound, _balance(text.split())))
        previous = bound
    return pieces


def _pack(words: list[str], width: int, *, cut: bool = True) -> list[str]:
    """Greedy lines of at most `width` characters; a longer word is cut, or kept whole."""
    lines: list[str] = []
    line = ""
    for word in words:
        while cut and len(word) > width:
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:width])
            word = word[width:]
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = ""
        line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return lines


def _balance(words: list[str]) -> list[str]:
    """One line if it fits, else the two-line split with the shortest longer line."""
    text = " ".join(words)
    if len(text) <= LINE_CHARS:
        return [text]
    splits = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]
    fitting = [s for s in splits if max(len(s[0]), len(s[1])) <= LINE_CHARS]
    if not fitting:  # only a cut word gets here
        return _pack(words, LINE_CHARS)
    # Ties go to the longer bottom line, the shape subtitlers prefer.
    return list(min(fitting, key=lambda s: (max(len(s[0]), len(s[1])), len(s[0]))))


def _join(words: Sequence[TimedWord]) -> str:
    return " ".join(w.text.strip() for w in words)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _timestamp(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _seconds(hours: str | None, minutes: str, seconds: str, millis: str) -> float:
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def _escape(line: str) -> str:
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _unescape(line: str) -> str:
    if "-->" in line:
        raise ValueError(f"'-->' inside cue text: {line!r}")
    if "<" in line:
        raise ValueError(f"tag or unescaped '<' in cue text: {line!r}")
    if "&" in _ENTITY.sub("", line):
        raise ValueError(f"unescaped '&' in cue text: {line!r}")
    return _ENTITY.sub(lambda m: _ENTITIES[m.group()], line)
