from __future__ import annotations

from dataclasses import dataclass

import pytest

from relay.webvtt import LINE_CHARS, build_vtt, cues_from_segments, parse_vtt


@dataclass(frozen=True)
class W:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class S:
    start: float
    end: float
    text: str
    words: tuple[W, ...] = ()


def timed_words(text: str, start: float = 0.0, step: float = 0.4) -> tuple[W, ...]:
    return tuple(
        W(round(start + i * step, 3), round(start + (i + 1) * step - 0.05, 3), word)
        for i, word in enumerate(text.split())
    )


def segment(text: str, start: float = 0.0, step: float = 0.4) -> S:
    words = timed_words(text, start, step)
    return S(words[0].start, words[-1].end, text, words)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_round_trip() -> None:
    cues = [(0.0, 1.5, "Hello there."), (1.5, 3.25, "General update."), (3600.5, 3602, "Late")]
    assert parse_vtt(build_vtt(cues)) == cues


def test_timestamps_format() -> None:
    vtt = build_vtt([(3723.4567, 3724.0, "x")])
    assert vtt == "WEBVTT\n\n01:02:03.457 --> 01:02:04.000\nx\n"


def test_text_escaped_and_restored() -> None:
    text = "a <b> & c --> d"
    vtt = build_vtt([(0, 1, text)])
    assert "a &lt;b&gt; &amp; c --&gt; d" in vtt
    assert parse_vtt(vtt)[0][2] == text


def test_empty_cues_left_out() -> None:
    vtt = build_vtt([(0, 1, "  "), (1, 2, "kept"), (2, 2, "no time")])
    assert [c[2] for c in parse_vtt(vtt)] == ["kept"]


def test_bad_timing_raises() -> None:
    with pytest.raises(ValueError):
        build_vtt([(2, 1, "backwards")])
    with pytest.raises(ValueError):
        build_vtt([(-1, 1, "negative")])


def test_long_text_wrapped_in_two_lines() -> None:
    text = "The design team will present the new upload flow tomorrow morning at ten"
    cues = parse_vtt(build_vtt([(0, 5, text)]))
    assert len(cues) == 1
    lines = cues[0][2].split("\n")
    assert len(lines) == 2 and all(len(line) <= LINE_CHARS for line in lines)
    assert flat(cues[0][2]) == text


def test_overlong_cue_split_sharing_its_time() -> None:
    text = " ".join(f"word{i:02d}" for i in range(40))  # 279 characters
    cues = parse_vtt(build_vtt([(10, 20, text)]))
    assert len(cues) >= 3
    assert cues[0][0] == 10 and cues[-1][1] == 20
    assert all(a[1] == b[0] for a, b in zip(cues, cues[1:], strict=False))
    assert all(len(c[2].split("\n")) <= 2 for c in cues)
    assert all(len(line) <= LINE_CHARS for c in cues for line in c[2].split("\n"))
    assert flat(" ".join(c[2] for c in cues)) == text


def test_unbreakable_word_is_cut_into_lines() -> None:
    url = "https://example.com/" + "x" * 80
    cues = parse_vtt(build_vtt([(0, 4, url)]))
    assert "".join(c[2].replace("\n", "") for c in cues) == url
    assert all(len(line) <= LINE_CHARS for c in cues for line in c[2].split("\n"))


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "WEBVT\n\n00:00.000 --> 00:01.000\nx\n",
        "WEBVTT\n\n00:00.000 -> 00:01.000\nx\n",
        "WEBVTT\n\n00:00.000 --> 00:61.000\nx\n",
        "WEBVTT\n\n00:02.000 --> 00:01.000\nx\n",
        "WEBVTT\n\n00:00.000 --> 00:01.000\n",
        "WEBVTT\n\n00:00.000 --> 00:01.000\na <b>tag</b>\n",
        "WEBVTT\n\n00:00.000 --> 00:01.000\nfish & chips\n",
        "WEBVTT\n\n00:05.000 --> 00:06.000\nx\n\n00:01.000 --> 00:02.000\ny\n",
        "WEBVTT\n\nid\nnot a timing\nx\n",
    ],
)
def test_parse_rejects_malformed(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_vtt(bad)


def test_parse_accepts_standard_extras() -> None:
    vtt = (
        "\ufeffWEBVTT - title\r\n\r\nNOTE written by hand\r\n\r\n"
        "intro\r\n00:01.000 --> 00:02.500 align:start\r\nHi &amp; bye\r\n"
    )
    assert parse_vtt(vtt) == [(1.0, 2.5, "Hi & bye")]


# cues_from_segments


def test_short_segments_one_cue_each() -> None:
    cues = cues_from_segments([segment("Please review the budget."), segment("Thanks.", 3.0)])
    assert [c[2] for c in cues] == ["Please review the budget.", "Thanks."]
    assert cues[0][0] == 0.0 and cues[0][1] == pytest.approx(1.55)


def test_long_segment_split_at_words_with_their_times() -> None:
    text = (
        "We moved the weekly meeting to Thursday afternoon because half of the team is "
        "travelling, and the design review needs everyone in the room at the same time."
    )
    words = timed_words(text, start=2.0)
    cues = cues_from_segments([S(2.0, words[-1].end, text, words)])
    assert len(cues) >= 2
    assert all(len(c[2]) <= 84 and c[1] - c[0] <= 7 for c in cues)
    assert " ".join(c[2] for c in cues) == text
    starts = {w.start for w in words}
    assert all(c[0] in starts for c in cues)


def test_full_cue_ends_at_a_clause_in_its_second_half() -> None:
    text = (
        "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo, lima mike "
        "november oscar papa quebec romeo sierra"
    )
    cues = cues_from_segments([segment(text, step=0.3)])
    assert cues[0][2].endswith("kilo,") and cues[1][2].startswith("lima")
    # Without the comma the cue is filled up to the word that overflows.
    cues = cues_from_segments([segment(text.replace(",", ""), step=0.3)])
    assert cues[0][2].endswith("mike")


def test_split_by_time_when_words_are_slow() -> None:
    cues = cues_from_segments([segment("one two three four five six seven", step=2.0)])
    assert len(cues) >= 2 and all(c[1] - c[0] <= 7 for c in cues)


def test_segment_without_words_shared_by_length() -> None:
    text = " ".join(["budget"] * 40)  # 279 characters over 20 s
    cues = cues_from_segments([S(0.0, 20.0, text)])
    assert len(cues) >= 4
    assert cues[0][0] == 0.0 and cues[-1][1] == 20.0
    assert all(len(c[2]) <= 84 and c[1] - c[0] <= 7 for c in cues)
    assert " ".join(c[2] for c in cues) == text


def test_cues_never_exceed_duration_nor_overlap() -> None:
    segments = [
        segment("Start of the message.", start=0.0),
        S(5.0, 12.0, "Whisper said this ends after the audio does."),
        S(11.5, 11.5, "Zero"),
    ]
    cues = cues_from_segments(segments, duration=11.8)
    assert cues and all(0 <= c[0] < c[1] <= 11.8 for c in cues)
    assert all(a[1] <= b[0] for a, b in zip(cues, cues[1:], strict=False))
    assert cues[-1] == (11.5, 11.8, "Zero")
    assert len(parse_vtt(build_vtt(cues))) == len(cues)


def test_zero_length_word_gets_a_readable_cue() -> None:
    cues = cues_from_segments([S(1.0, 1.0, "Hi", (W(1.0, 1.0, "Hi"),))], duration=10)
    assert cues == [(1.0, 1.5, "Hi")]


def test_cue_after_the_end_dropped() -> None:
    assert cues_from_segments([S(12.0, 13.0, "late")], duration=10) == []


def test_segments_to_valid_vtt() -> None:
    segments = [segment("Please review the budget before Friday."), segment("Dank je.", 4)]
    vtt = build_vtt(cues_from_segments(segments, duration=6))
    assert [flat(c[2]) for c in parse_vtt(vtt)] == [
        "Please review the budget before Friday.",
        "Dank je.",
    ]
