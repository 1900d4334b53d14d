"""Pure parts of relay.transcripts: search entries per sentence."""

from __future__ import annotations

from relay.models import Segment
from relay.transcripts import search_entries


def _segment(start: float, text: str, words: list[list], machine: str | None = None) -> Segment:
    return Segment(start=start, end=9.0, text=text, machine_text=machine or text, words=words)


def test_one_long_segment_gives_an_entry_per_sentence_at_its_first_word() -> None:
    words = [
        [0.0, 0.4, " Budget"],
        [0.4, 0.9, " first."],
        [4.8, 5.1, " Then"],
        [5.1, 5.6, " lunch!"],
    ]
    entries = search_entries([_segment(0.0, "Budget first. Then lunch!", words)])
    assert entries == [(0.0, "Budget first."), (4.8, "Then lunch!")]


def test_words_after_the_last_full_stop_make_their_own_entry() -> None:
    words = [[1.0, 1.2, " Yes."], [2.0, 2.5, " and"], [2.5, 3.0, " then"]]
    assert search_entries([_segment(1.0, "Yes. and then", words)]) == [
        (1.0, "Yes."),
        (2.0, "and then"),
    ]


def test_a_corrected_segment_is_one_entry_at_its_start() -> None:
    words = [[3.0, 3.5, " Helo."], [6.0, 6.5, " Bye."]]
    corrected = _segment(3.0, "Hello. Bye.", words, machine="Helo. Bye.")
    assert search_entries([corrected]) == [(3.0, "Hello. Bye.")]


def test_a_segment_without_words_is_one_entry() -> None:
    assert search_entries([_segment(2.0, "No timings here.", [])]) == [(2.0, "No timings here.")]
