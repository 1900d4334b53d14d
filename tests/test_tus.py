"""tus header parsing and building (relay/tus.py): pure cases, no I/O."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from relay import tus
from relay.errors import BadRequest, PreconditionFailed


def b64(value: bytes | str) -> str:
    raw = value.encode() if isinstance(value, str) else value
    return base64.b64encode(raw).decode()


# -- Upload-Metadata -------------------------------------------------------------------


def test_metadata_absent_or_empty_is_empty_dict() -> None:
    assert tus.parse_metadata(None) == {}
    assert tus.parse_metadata("") == {}


def test_metadata_pairs_decoded() -> None:
    raw = f"filename {b64('standup.webm')},filetype {b64('video/webm')}"
    assert tus.parse_metadata(raw) == {"filename": "standup.webm", "filetype": "video/webm"}


def test_metadata_spaces_around_pairs_tolerated() -> None:
    raw = f"filename {b64('a.webm')} , filetype {b64('video/webm')}"
    assert tus.parse_metadata(raw) == {"filename": "a.webm", "filetype": "video/webm"}


def test_metadata_key_without_value_is_empty_string() -> None:
    raw = f"is_confidential,filename {b64('a.webm')}"
    assert tus.parse_metadata(raw) == {"is_confidential": "", "filename": "a.webm"}


def test_metadata_utf8_value_decoded() -> None:
    assert tus.parse_metadata(f"title {b64('Réunion 会议')}") == {"title": "Réunion 会议"}


@pytest.mark.parametrize(
    "value",
    [
        "not-base64!",
        "YQ",  # missing padding
        "YQ==YQ==",
    ],
)
def test_metadata_bad_base64_refused(value: str) -> None:
    with pytest.raises(BadRequest, match="not base64"):
        tus.parse_metadata(f"filename {value}")


def test_metadata_non_utf8_value_refused() -> None:
    latin1 = b64("café".encode("latin-1"))
    with pytest.raises(BadRequest, match="'filename'"):
        tus.parse_metadata(f"filename {latin1}")


def test_metadata_duplicate_key_refused() -> None:
    with pytest.raises(BadRequest, match="malformed"):
        tus.parse_metadata(f"filename {b64('a')},filename {b64('b')}")


@pytest.mark.parametrize(
    "raw",
    [
        "a YQ==,",  # empty pair
        ",a YQ==",
        "a YQ== YQ==",  # three parts
        "a  YQ==",  # two spaces make an empty middle part
        "clé YQ==",  # keys are ASCII
    ],
)
def test_metadata_malformed_pair_refused(raw: str) -> None:
    with pytest.raises(BadRequest, match="malformed"):
        tus.parse_metadata(raw)


def test_metadata_at_limit_accepted_one_more_refused() -> None:
    key = "k" * (tus.MAX_METADATA - 1)
    assert tus.parse_metadata(key) == {key: ""}
    assert tus.parse_metadata(key + "k") == {key + "k": ""}
    with pytest.raises(BadRequest, match=str(tus.MAX_METADATA)):
        tus.parse_metadata(key + "kk")


def test_metadata_round_trip_keeps_values_and_empty_keys() -> None:
    metadata = {"filename": "Réunion 会议.webm", "filetype": "video/webm", "flag": ""}
    raw = tus.format_metadata(metadata)
    assert "flag" in raw.split(",")
    assert tus.parse_metadata(raw) == metadata


def test_format_metadata_of_nothing_is_empty() -> None:
    assert tus.format_metadata({}) == ""
    assert tus.parse_metadata(tus.format_metadata({})) == {}


# -- creation --------------------------------------------------------------------------


def test_creation_length_given() -> None:
    assert tus.creation_length({"upload-length": "1234"}) == 1234


def test_creation_length_zero_allowed() -> None:
    assert tus.creation_length({"upload-length": "0"}) == 0


def test_creation_length_deferred_is_none() -> None:
    assert tus.creation_length({"upload-defer-length": "1"}) is None


def test_creation_length_neither_refused() -> None:
    with pytest.raises(BadRequest, match="either"):
        tus.creation_length({})


def test_creation_length_both_refused() -> None:
    with pytest.raises(BadRequest, match="either"):
        tus.creation_length({"upload-length": "10", "upload-defer-length": "1"})


@pytest.mark.parametrize("value", ["0", "2", "true", ""])
def test_creation_defer_length_other_than_one_refused(value: str) -> None:
    with pytest.raises(BadRequest, match="Upload-Defer-Length"):
        tus.creation_length({"upload-defer-length": value})


def test_creation_negative_length_refused() -> None:
    with pytest.raises(BadRequest, match="Upload-Length"):
        tus.creation_length({"upload-length": "-1"})


# -- Tus-Resumable ---------------------------------------------------------------------


def test_check_version_accepts_1_0_0() -> None:
    tus.check_version({"tus-resumable": "1.0.0"})


@pytest.mark.parametrize("headers", [{}, {"tus-resumable": "0.2.2"}, {"tus-resumable": ""}])
def test_check_version_other_or_missing_412_with_supported_version(
    headers: dict[str, str],
) -> None:
    with pytest.raises(PreconditionFailed) as caught:
        tus.check_version(headers)
    assert caught.value.status == 412
    assert caught.value.headers == {"Tus-Version": "1.0.0"}


# -- sizes -----------------------------------------------------------------------------


def test_parse_size_absent_is_none() -> None:
    assert tus.parse_size(None, "Upload-Offset") is None


@pytest.mark.parametrize("value", ["0", "7", "007", "999999999999999999"])
def test_parse_size_digits_accepted(value: str) -> None:
    assert tus.parse_size(value, "Upload-Offset") == int(value)


@pytest.mark.parametrize("value", ["-1", "+1", "1.0", "1e3", " 1", "1 ", "", "abc", "0x10"])
def test_parse_size_not_plain_digits_refused_with_header_name(value: str) -> None:
    with pytest.raises(BadRequest, match="Upload-Offset must be a non-negative integer"):
        tus.parse_size(value, "Upload-Offset")


def test_parse_size_beyond_bigint_refused() -> None:
    with pytest.raises(BadRequest, match="Upload-Length"):
        tus.parse_size("9" * 19, "Upload-Length")


@pytest.mark.parametrize(
    "value", [pytest.param("\u00b2", id="superscript-two"), pytest.param("1\u00b9", id="one-one")]
)
def test_parse_size_latin1_superscript_digit_refused_not_crash(value: str) -> None:
    # "²" passes str.isdigit() but not int(); headers arrive decoded as latin-1, so a
    # client can send it, and a ValueError here becomes a 500.
    with pytest.raises(BadRequest, match="Upload-Length"):
        tus.parse_size(value, "Upload-Length")


# -- response headers ------------------------------------------------------------------


def test_base_headers_carry_version_and_no_store() -> None:
    assert tus.base_headers() == {"Tus-Resumable": "1.0.0", "Cache-Control": "no-store"}


def test_http_date_is_rfc_9110_gmt() -> None:
    moment = datetime(2026, 11, 27, 9, 5, 3, tzinfo=UTC)
    assert tus.http_date(moment) == "Fri, 27 Nov 2026 09:05:03 GMT"
