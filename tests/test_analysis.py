from __future__ import annotations

import json
from array import array
from pathlib import Path

import pytest

from relay.settings import MediaSettings
from tests.support.media import make_gaps
from workers import analysis
from workers.analysis import (
    Loudness,
    Silence,
    check_silences,
    check_waveform,
    normalise,
    parse_loudnorm,
    parse_silences,
    peak_count,
    silences_json,
    waveform_json,
    window_peak,
    window_sizes,
)
from workers.transcode import make_renditions

LOUDNORM_STDERR = """\
[Parsed_silencedetect_1 @ 0x55] silence_start: 1.00747
size=N/A time=00:00:04.00 bitrate=N/A speed=84.3x
[Parsed_loudnorm_3 @ 0x5562db406000]
{
\t"input_i" : "-22.63",
\t"input_tp" : "-17.86",
\t"input_lra" : "0.40",
\t"input_thresh" : "-32.89",
\t"output_i" : "-11.95",
\t"output_tp" : "-7.30",
\t"output_lra" : "0.00",
\t"output_thresh" : "-22.36",
\t"normalization_type" : "dynamic",
\t"target_offset" : "-4.05"
}
"""

METADATA = """\
frame:85   pts:326528  pts_time:1.70067
lavfi.silence_start=1.00747
frame:150  pts:576128  pts_time:3.00067
lavfi.silence_end=3.00753
lavfi.silence_duration=2.00006
frame:200  pts:776128  pts_time:4.5
lavfi.silence_start=4.2
"""


def test_parse_loudnorm_reads_the_last_json() -> None:
    assert parse_loudnorm("[x] {not this}\n" + LOUDNORM_STDERR) == Loudness(
        input_i=-22.63, input_tp=-17.86, input_lra=0.4, input_thresh=-32.89, target_offset=-4.05
    )


@pytest.mark.parametrize(
    "stderr",
    [
        "",
        "no json here",
        LOUDNORM_STDERR.replace('"-22.63"', '"-inf"'),  # pure silence
        LOUDNORM_STDERR.replace('"input_tp"', '"other"'),
        "{ broken",
    ],
    ids=["empty", "text", "silence", "missing-key", "broken"],
)
def test_parse_loudnorm_without_a_measurement_is_none(stderr: str) -> None:
    assert parse_loudnorm(stderr) is None


def test_parse_loudnorm_clamps_to_what_loudnorm_accepts() -> None:
    loud = parse_loudnorm(LOUDNORM_STDERR.replace('"0.40"', '"120"').replace('"-4.05"', '"150"'))
    assert loud is not None and (loud.input_lra, loud.target_offset) == (99, 99)


def test_parse_silences_closes_an_open_silence_at_the_end() -> None:
    assert parse_silences(METADATA, duration=5.0) == [
        Silence(1.00747, 3.00753),
        Silence(4.2, 5.0),
    ]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("", []),
        ("lavfi.silence_end=2.0\n", []),  # an end without a start
        ("lavfi.silence_start=-0.01\nlavfi.silence_end=1.5\n", [Silence(0.0, 1.5)]),
        ("lavfi.silence_start=1\nlavfi.silence_end=9\n", [Silence(1.0, 3.0)]),  # clamped
        ("lavfi.silence_start=3\n", []),  # opens exactly at the end
        ("lavfi.silence_start=nan\nlavfi.silence_start=x\n", []),
    ],
    ids=["empty", "end-only", "negative-start", "past-the-end", "at-the-end", "garbage"],
)
def test_parse_silences_edge_cases(text: str, expected: list[Silence]) -> None:
    assert parse_silences(text, duration=3.0) == expected


@pytest.mark.parametrize(
    "duration,count", [(0.0, 256), (2.0, 256), (25.6, 256), (30.0, 300), (99.9, 999), (600, 1000)]
)
def test_peak_count_is_ten_a_second_within_bounds(duration: float, count: int) -> None:
    assert peak_count(duration) == count


@pytest.mark.parametrize("total,count", [(1000, 256), (16000, 256), (100, 256), (0, 256), (7, 3)])
def test_window_sizes_cover_every_sample_evenly(total: int, count: int) -> None:
    sizes = window_sizes(total, count)
    assert len(sizes) == count
    assert sum(sizes) == total
    assert max(sizes) - min(sizes) <= 1


def test_window_peak_is_the_largest_magnitude() -> None:
    assert window_peak(array("h", [0, 100, -16384, 200])) == 0.5
    assert window_peak(array("h", [-32768])) == 1.0
    assert window_peak(array("h", [16384, -5])) == 0.5
    assert window_peak(array("h")) == 0.0


def test_normalise_makes_the_loudest_peak_one() -> None:
    assert normalise([0.1, 0.25, 0.5]) == [0.2, 0.5, 1.0]
    assert normalise([0.0, 0.0]) == [0.0, 0.0]  # silence stays silent
    assert normalise([]) == []


def test_waveform_document_shape() -> None:
    doc = waveform_json(12.34567, [0.5] * 256)
    assert doc == {"version": 1, "duration": 12.346, "peaks": [0.5] * 256}
    check_waveform(json.loads(json.dumps(doc)))


@pytest.mark.parametrize(
    "doc",
    [
        [],
        {"version": 2, "duration": 1, "peaks": [0.0] * 256},
        {"version": 1, "duration": 0, "peaks": [0.0] * 256},
        {"version": 1, "duration": 1, "peaks": [0.0] * 10},
        {"version": 1, "duration": 1, "peaks": [1.5] * 256},
    ],
    ids=["list", "version", "duration", "few-peaks", "out-of-range"],
)
def test_check_waveform_refuses_bad_documents(doc: object) -> None:
    with pytest.raises(ValueError):
        check_waveform(doc)


def test_silences_document_shape() -> None:
    doc = silences_json([Silence(1.00747, 3.00753)])
    assert doc == {
        "version": 1,
        "noise_db": -40,
        "min_seconds": 0.7,
        "silences": [{"start": 1.007, "end": 3.008}],
    }
    check_silences(doc, duration=4.0)
    with pytest.raises(ValueError):
        check_silences(doc, duration=2.0)
    with pytest.raises(ValueError):
        check_silences({"version": 1, "silences": [{"start": 2, "end": 1}]}, duration=4.0)


async def test_tone_gap_tone_has_one_silence_and_a_quiet_middle(tmp_path: Path) -> None:
    src = make_gaps(tmp_path / "gap.ogg", [1, 2, 1])
    settings = MediaSettings(ffmpeg_nice=0, max_duration_seconds=60)
    _, files = await make_renditions(src, tmp_path / "out", settings)
    by_name = {f.name: f for f in files}
    assert [f.name for f in files] == ["audio", "waveform", "silences"]
    assert by_name["silences"].mime == by_name["waveform"].mime == "application/json"

    silences = json.loads(by_name["silences"].path.read_text())
    assert silences["noise_db"] == -40 and silences["min_seconds"] == 0.7
    [silence] = silences["silences"]
    assert silence["start"] == pytest.approx(1.0, abs=0.2)
    assert silence["end"] == pytest.approx(3.0, abs=0.2)

    waveform = json.loads(by_name["waveform"].path.read_text())
    assert waveform["duration"] == pytest.approx(4.0, abs=0.1)
    peaks = waveform["peaks"]
    assert len(peaks) == 256 and max(peaks) == 1.0
    quarter = len(peaks) // 4
    assert max(peaks[quarter + 5 : 3 * quarter - 5]) < 0.01  # the gap
    assert min(peaks[5 : quarter - 5]) > 0.5  # the tone
    assert min(peaks[3 * quarter + 5 : -5]) > 0.5
    assert not list((tmp_path / "out").glob("*.pcm"))  # intermediate files are gone


async def test_pure_silence_has_flat_waveform_and_one_silence(tmp_path: Path) -> None:
    src = make_gaps(tmp_path / "quiet.wav", [0, 2], kind="wav")
    settings = MediaSettings(ffmpeg_nice=0, max_duration_seconds=60)
    _, files = await make_renditions(src, tmp_path / "out", settings)
    by_name = {f.name: f for f in files}
    waveform = json.loads(by_name["waveform"].path.read_text())
    assert set(waveform["peaks"]) == {0.0}
    silences = json.loads(by_name["silences"].path.read_text())["silences"]
    assert silences == [{"start": 0.0, "end": pytest.approx(2.0, abs=0.05)}]
    assert by_name["audio"].duration == pytest.approx(2.0, abs=0.1)


def test_constants_match_the_silence_document() -> None:
    assert (analysis.SILENCE_NOISE_DB, analysis.SILENCE_MIN_SECONDS) == (-40, 0.7)
