"""A message title made from its transcript."""

from __future__ import annotations

import re

# Abbreviations whose period does not end a sentence, in English and Dutch.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st vs etc eg ie approx dhr mevr mw bijv bv ca dwz ea evt incl ivm mbt "
    "nl oa resp zgn".split()
)
_SENTENCE_END = re.compile(r"[.!?…]+(?=\s|$)")
_LEADING = "-–—…., ;:"
_TRAILING = " ,;:-–—."
ELLIPSIS = "…"


def title_from_transcript(text: str, max_chars: int = 80) -> str:
    """The first sentence, at most `max_chars` long, or "" when the text has no words.

    A final period is dropped ("?" and "!" stay); a longer sentence is cut between words
    and ends in "…".
    """
    text = " ".join(text.split()).lstrip(_LEADING)
    if not re.search(r"\w", text):
        return ""
    sentence = _first_sentence(text)
    if len(sentence) > max_chars:
        sentence = _shorten(sentence, max_chars)
    else:
        sentence = sentence.rstrip(_TRAILING) or sentence
    return _capitalise(sentence)


def _first_sentence(text: str) -> str:
    for match in _SENTENCE_END.finditer(text):
        before = text[: match.start()]
        word = re.sub(r"\W", "", before.rsplit(" ", 1)[-1]).lower()
        # "e.g." and "bijv." end in a period but do not end the sentence.
        if match.group() == "." and word in _ABBREVIATIONS:
            continue
        return text[: match.end()]
    return text


def _shorten(sentence: str, max_chars: int) -> str:
    room = max_chars - len(ELLIPSIS)
    cut = sentence[: room + 1]
    # Cut at the last space that leaves a word whole; a single long word is cut anywhere.
    head = cut.rsplit(" ", 1)[0] if " " in cut else sentence[:room]
    return head[:room].rstrip(_TRAILING) + ELLIPSIS


def _capitalise(text: str) -> str:
    for i, char in enumerate(text):
        if char.isalpha():
            return text[:i] + char.upper() + text[i + 1 :]
        if char.isdigit():
            break
    return text
