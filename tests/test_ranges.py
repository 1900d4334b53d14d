"""HTTP Range parsing (relay/ranges.py): pure cases, no I/O."""

from __future__ import annotations

import pytest

from relay.ranges import ByteRange, RangeNotSatisfiable, parse_range

SIZE = 1000


def test_no_header_returns_whole_file() -> None:
    assert parse_range(None, SIZE) is None
    assert parse_range("", SIZE) is None


def test_first_two_bytes_as_ios_asks() -> None:
    byte_range = parse_range("bytes=0-1", SIZE)
    assert byte_range == ByteRange(0, 2)
    assert byte_range.length == 2
    assert byte_range.content_range(SIZE) == "bytes 0-1/1000"


def test_closed_range_includes_last_byte() -> None:
    assert parse_range("bytes=100-199", SIZE) == ByteRange(100, 200)


def test_open_ended_range_runs_to_end() -> None:
    byte_range = parse_range("bytes=990-", SIZE)
    assert byte_range == ByteRange(990, SIZE)
    assert byte_range.content_range(SIZE) == "bytes 990-999/1000"


def test_last_byte_past_end_is_clipped_to_size() -> None:
    assert parse_range("bytes=500-999999", SIZE) == ByteRange(500, SIZE)


def test_suffix_range_returns_last_bytes() -> None:
    assert parse_range("bytes=-10", SIZE) == ByteRange(990, SIZE)


def test_suffix_larger_than_file_returns_whole_file_as_range() -> None:
    byte_range = parse_range("bytes=-5000", SIZE)
    assert byte_range == ByteRange(0, SIZE)
    assert byte_range.content_range(SIZE) == "bytes 0-999/1000"


def test_last_byte_as_single_range() -> None:
    assert parse_range("bytes=999-999", SIZE) == ByteRange(999, SIZE)


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=1000-1000", "bytes=99999999-"])
def test_start_at_or_beyond_size_not_satisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, SIZE)


def test_zero_suffix_not_satisfiable() -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=-0", SIZE)


@pytest.mark.parametrize("header", ["bytes=0-", "bytes=0-0", "bytes=-1"])
def test_zero_size_file_has_no_satisfiable_range(header: str) -> None:
    # RFC 9110 lets a non-zero suffix of an empty file be "satisfied", but there is no
    # Content-Range to describe zero bytes; 416 with `bytes */0` is the usable answer.
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 0)


def test_zero_size_file_without_range_is_whole_file() -> None:
    assert parse_range(None, 0) is None


def test_multiple_ranges_ignored_whole_file_sent() -> None:
    assert parse_range("bytes=0-1,5-6", SIZE) is None
    assert parse_range("bytes=0-1, -5", SIZE) is None


@pytest.mark.parametrize(
    "header",
    [
        "bytes",
        "bytes=",
        "bytes=-",
        "bytes=abc",
        "bytes=1",
        "bytes=1-x",
        "bytes=x-1",
        "bytes=--1",
        "bytes=1--2",
        "bytes=0x10-",
        "bytes=1.5-2",
        "bytes=+1-2",
        "=0-1",
    ],
)
def test_malformed_range_ignored(header: str) -> None:
    assert parse_range(header, SIZE) is None


@pytest.mark.parametrize("header", ["items=0-1", "chars=0-1", "0-1"])
def test_other_unit_ignored(header: str) -> None:
    assert parse_range(header, SIZE) is None


def test_unit_is_case_insensitive_and_spaces_tolerated() -> None:
    assert parse_range("Bytes= 0-1 ", SIZE) == ByteRange(0, 2)


def test_last_before_first_ignored() -> None:
    assert parse_range("bytes=500-100", SIZE) is None


@pytest.mark.parametrize(
    "header",
    [
        # "²": str.isdigit() says yes, int() says no; headers arrive decoded as latin-1.
        pytest.param("bytes=\u00b2-", id="superscript-first"),
        pytest.param("bytes=0-\u00b9", id="superscript-last"),
        pytest.param("bytes=-\u00b3", id="superscript-suffix"),
        pytest.param("bytes=" + "1" * 5000 + "-", id="over-int-digit-limit"),
    ],
)
def test_digits_int_cannot_read_are_ignored_not_crash(header: str) -> None:
    # Any ValueError other than RangeNotSatisfiable escapes relay/media.py as a 500.
    assert parse_range(header, SIZE) is None
