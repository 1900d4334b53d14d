from __future__ import annotations

import pytest

from relay.titles import title_from_transcript


@pytest.mark.parametrize(
    ("text", "title"),
    [
        (
            "please review the budget before Friday. The design team will present.",
            "Please review the budget before Friday",
        ),
        ("Can you call me back? It is about the invoice.", "Can you call me back?"),
        ("We shipped it! Finally.", "We shipped it!"),
        ("  hello,\n\n   world  ", "Hello, world"),
        ("...and then we   went home", "And then we went home"),
        ("Send it to Mr. Jansen e.g. tomorrow. Thanks.", "Send it to Mr. Jansen e.g. tomorrow"),
        (
            "Wil je het budget bijv. morgen bekijken? Ja.",
            "Wil je het budget bijv. morgen bekijken?",
        ),
        ("The version is 3.5 now. Next.", "The version is 3.5 now"),
        ("“quoted start” of a sentence.", "“Quoted start” of a sentence"),
        ("3 things to check. First.", "3 things to check"),
        ("über alles", "Über alles"),
    ],
)
def test_first_sentence(text: str, title: str) -> None:
    assert title_from_transcript(text) == title


@pytest.mark.parametrize("text", ["", "   ", "...", " - . ? "])
def test_no_words_gives_empty(text: str) -> None:
    assert title_from_transcript(text) == ""


def test_long_sentence_cut_at_word_with_ellipsis() -> None:
    text = "so " + "the quick brown fox jumps over the lazy dog " * 4
    title = title_from_transcript(text)
    assert len(title) <= 80 and title.endswith("…")
    assert title.startswith("So the quick brown fox")
    assert text.title().startswith(title[:-1].title())  # only whole words
    assert title[:-1].split()[-1] in text.split()


def test_cut_drops_trailing_punctuation() -> None:
    title = title_from_transcript("alpha beta, gamma delta", max_chars=12)
    assert title == "Alpha beta…"


def test_single_long_word_cut_hard() -> None:
    title = title_from_transcript("x" * 200, max_chars=10)
    assert title == "X" * 1 + "x" * 8 + "…" and len(title) == 10


def test_sentence_exactly_max_chars_kept_whole() -> None:
    text = "a" * 79 + "."
    assert title_from_transcript(text) == "A" + "a" * 78
