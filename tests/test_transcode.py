"""make_renditions beyond the format corpus: data saver and loudness passes, steps, limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from relay.settings import MediaSettings
from tests.support.media import make_audio, make_long_video, make_webm
from tests.support.transcode import (
    SETTINGS,
    VIDEO_NAMES,
    by_name,
    check_rendition,
    ffprobe,
    streams,
)
from workers import ffmpeg_run, renditions, transcode
from workers.analysis import Loudness
from workers.errors import MediaRejected
from workers.renditions import loudness_filter, preview_start, wants_data_saver, webp_info
from workers.transcode import (
    DATA_SAVER_MIN_SECONDS,
    STEPS,
    TWO_PASS_MAX_SECONDS,
    make_renditions,
    time_budget,
)

LONG = 90  # seconds: a "long" message in these tests


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("transcode")


async def test_long_message_gets_data_saver_and_one_pass_loudness(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One pass from 600 s on; the same rule at 90 s keeps the test from encoding ten minutes.
    for module in (transcode, renditions):
        monkeypatch.setattr(module, "TWO_PASS_MAX_SECONDS", LONG)
    src = make_long_video(folder / "long.mkv", seconds=LONG)
    argvs = record_argvs(monkeypatch)
    settings = MediaSettings(ffmpeg_nice=0)  # 30 minutes
    _, files = await make_renditions(src, tmp_path, settings)
    assert [f.name for f in files] == ["video", "video_360", *VIDEO_NAMES[1:]]
    found = by_name(files)
    for file in files:
        media = file.name in ("video", "video_360", "audio")
        check_rendition(file, float(LONG) if media else None, channels=1)
    assert (found["video"].width, found["video"].height) == (480, 368)
    small = found["video_360"]
    assert small.height == 360 and small.width is not None and small.width <= 470
    assert small.size < found["video"].size
    [a] = streams(ffprobe(small.path), "audio")
    assert int(a["bit_rate"]) < 80_000
    waveform = json.loads(found["waveform"].path.read_text())
    assert len(waveform["peaks"]) == 900  # ten a second
    assert waveform["duration"] == pytest.approx(LONG, abs=0.1)
    # The header says it is long: no loudness measurement, one dynamic loudnorm pass.
    [analysis] = [a for a in argvs if "s16le" in a]
    assert "loudnorm" not in " ".join(analysis)
    [encode] = [a for a in argvs if "libx264" in a]
    graph = encode[encode.index("-filter_complex") + 1]
    assert "loudnorm=I=-16:TP=-1.5:LRA=11," in graph and "linear" not in graph


async def test_short_message_gets_two_pass_loudness(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make_webm(folder / "two-pass.webm", seconds=2)
    argvs = record_argvs(monkeypatch)
    _, files = await make_renditions(src, tmp_path, SETTINGS)
    assert "video_360" not in by_name(files)  # too short for a data saver
    [analysis] = [a for a in argvs if "s16le" in a]
    assert "print_format=json" in analysis[analysis.index("-filter_complex") + 1]
    [encode] = [a for a in argvs if "libx264" in a]
    assert "linear=true" in encode[encode.index("-filter_complex") + 1]


async def test_silent_minute_without_header_duration_gets_data_saver_afterwards(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing to measure before transcoding: the 360p copy is made from video.mp4.
    src = make_webm(folder / "silent-minute.webm", 61, "480x368", audio=False, rate=1)
    argvs = record_argvs(monkeypatch)
    info, files = await make_renditions(src, tmp_path, MediaSettings(ffmpeg_nice=0))
    assert info.duration is None
    assert [f.name for f in files] == ["video", "video_360", "poster", "preview"]
    for file in files:
        check_rendition(file, 61.0 if file.name.startswith("video") else None)
    assert by_name(files)["video_360"].height == 360
    encodes = [a for a in argvs if "libx264" in a]
    assert [a[a.index("-i") + 1].endswith("/video.mp4") for a in encodes] == [False, True]


def test_loudness_filter_branches() -> None:
    measured = Loudness(-30.0, -10.0, 5.0, -40.0, 0.5)
    assert "linear=true" in loudness_filter(599.0, measured, measured=True)
    assert loudness_filter(600.0, measured, measured=True) == "loudnorm=I=-16:TP=-1.5:LRA=11"
    assert loudness_filter(30.0, None, measured=False) == "loudnorm=I=-16:TP=-1.5:LRA=11"
    assert loudness_filter(30.0, None, measured=True) == "anull"  # silence


@pytest.mark.parametrize(
    "size,duration,height,expected",
    [
        ((640, 480), 60.0, 720, True),
        ((640, 480), 59.9, 720, False),
        ((640, 480), None, 720, False),
        ((480, 360), 90.0, 720, False),  # already 360p
        ((720, 1280), 90.0, 720, True),  # portrait: 360x640
        ((1280, 720), 90.0, 360, False),  # the main rendition is 360p already
        ((300, 1000), 90.0, 720, True),  # tall and narrow: 640 tall is smaller
        (None, 90.0, 720, False),
    ],
)
def test_wants_data_saver(
    size: tuple[int, int] | None, duration: float | None, height: int, expected: bool
) -> None:
    assert wants_data_saver(size, duration, height) is expected


def test_preview_start_and_constants() -> None:
    assert (preview_start(5.0), preview_start(5.1), preview_start(None)) == (0.0, 1.0, 0.0)
    assert (DATA_SAVER_MIN_SECONDS, TWO_PASS_MAX_SECONDS) == (60, 600)


def test_webp_info_reads_webp_headers() -> None:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        pad = b"\0" if len(payload) % 2 else b""
        return kind + len(payload).to_bytes(4, "little") + payload + pad

    vp8x = bytes([0x02, 0, 0, 0]) + (319).to_bytes(3, "little") + (179).to_bytes(3, "little")
    body = b"WEBP" + chunk(b"VP8X", vp8x) + chunk(b"ANIM", bytes(6)) + chunk(b"ANMF", bytes(17))
    webp = b"RIFF" + len(body).to_bytes(4, "little") + body
    assert webp_info(webp) == (320, 180, 1)
    lossy = b"WEBP" + chunk(b"VP8 ", b"\0\0\0\x9d\x01\x2a" + b"\xa0\x00\x78\x00" + bytes(8))
    assert webp_info(b"RIFF" + len(lossy).to_bytes(4, "little") + lossy) == (160, 120, 1)
    no_frames = webp.replace(b"ANMF", b"XXXX")
    assert webp_info(no_frames) is None
    assert webp_info(b"RIFF\0\0\0\0WAVEfmt ") is None
    assert webp_info(b"") is None


async def test_steps_are_reported_in_order(folder: Path, tmp_path: Path) -> None:
    heard: list[tuple[str, str]] = []

    async def on_step(step: str, state: str) -> None:
        heard.append((step, state))

    await make_renditions(
        make_webm(folder / "steps.webm", 1), tmp_path / "a", SETTINGS, on_step=on_step
    )
    assert heard[:6] == [
        ("probe", "running"),
        ("probe", "done"),
        ("analyse", "running"),
        ("analyse", "done"),
        ("transcode", "running"),
        ("transcode", "done"),
    ]
    assert sorted(heard[6:]) == sorted(
        [("poster", "running"), ("poster", "done"), ("preview", "running"), ("preview", "done")]
    )
    assert {step for step, _ in heard} == set(STEPS)

    heard.clear()
    src = make_audio(folder / "steps.ogg", 1)
    await make_renditions(src, tmp_path / "b", SETTINGS, on_step=on_step)
    assert heard[-2:] == [("poster", "skipped"), ("preview", "skipped")]

    heard.clear()
    src = make_webm(folder / "steps-mute.webm", 1, audio=False)
    await make_renditions(src, tmp_path / "c", SETTINGS, on_step=on_step)
    assert heard[2] == ("analyse", "skipped")

    heard.clear()
    with pytest.raises(MediaRejected):
        await make_renditions(
            make_audio(folder / "long.wav", 3, "wav"),
            tmp_path / "d",
            MediaSettings(ffmpeg_nice=0, max_duration_seconds=2),
            on_step=on_step,
        )
    assert heard == [("probe", "running"), ("probe", "failed")]


async def test_a_full_range_recording_plays_as_limited_range_h264(
    folder: Path, tmp_path: Path
) -> None:
    """Chromium tags some screen-and-camera recordings full range; kept so, the H.264 reads
    as yuvj420p, which the verification refuses (it failed such a recording in CI)."""
    src = make_webm(folder / "full-range.webm", 1, codec="vp9", full_range=True)
    assert streams(ffprobe(src), "video")[0]["color_range"] == "pc"
    _, files = await make_renditions(src, tmp_path / "out", SETTINGS)
    for name in ("video", "video_360"):
        if name in by_name(files):
            video = streams(ffprobe(by_name(files)[name].path), "video")[0]
            assert video["pix_fmt"] == "yuv420p" and video.get("color_range") != "pc", name


async def test_work_folder_with_awkward_characters(folder: Path, tmp_path: Path) -> None:
    # The silence metadata file is named inside a filter graph: it must be escaped.
    out = tmp_path / "a:b,c'd[e];f g"
    _, files = await make_renditions(make_audio(folder / "awkward.ogg", 1), out, SETTINGS)
    assert [f.path.parent for f in files] == [out] * 3


async def test_recording_longer_than_its_header_is_rejected_after_measuring(
    folder: Path, tmp_path: Path
) -> None:
    # Recorder WebM has no duration in its header: only decoding tells.
    src = make_webm(folder / "long.webm", seconds=3, size="160x120")
    settings = MediaSettings(ffmpeg_nice=0, max_duration_seconds=1.5)
    with pytest.raises(MediaRejected) as caught:
        await make_renditions(src, tmp_path, settings)
    assert caught.value.reason == "This recording is longer than the maximum of 1.5 seconds."


async def test_silent_recording_longer_than_the_maximum_is_rejected(
    folder: Path, tmp_path: Path
) -> None:
    # No audio to measure: the transcoded video is measured instead.
    src = make_webm(folder / "long-mute.webm", seconds=3, size="160x120", audio=False)
    settings = MediaSettings(ffmpeg_nice=0, max_duration_seconds=1.5)
    with pytest.raises(MediaRejected, match="longer than the maximum"):
        await make_renditions(src, tmp_path, settings)


async def test_too_long_upload_rejected_before_decoding(folder: Path, tmp_path: Path) -> None:
    src = make_audio(folder / "long.wav", seconds=3, kind="wav")
    settings = MediaSettings(ffmpeg_nice=0, max_duration_seconds=2)
    with pytest.raises(MediaRejected) as caught:
        await make_renditions(src, tmp_path, settings)
    assert "longest supported is 0:02" in caught.value.reason
    assert list(tmp_path.iterdir()) == []


def test_time_budget_is_a_base_plus_a_factor_of_the_length_up_to_the_maximum() -> None:
    settings = MediaSettings(max_duration_seconds=1800, timeout_seconds=60, timeout_factor=3)
    assert time_budget(settings, 10.0) == 90.0
    assert time_budget(settings, None) == time_budget(settings, 5000.0) == 60 + 3 * 1800


@pytest.mark.parametrize("audio", [True, False], ids=["with-sound", "silent"])
async def test_decodes_of_a_recording_without_header_duration_get_time_for_its_length(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, audio: bool
) -> None:
    """A recorder WebM does not say how long it is: its length is probed by reading its
    packets before any decode, so a stuck run is killed after a budget for its own length,
    not for the maximum length."""
    src = make_webm(folder / f"headerless-{audio}.webm", seconds=20, audio=audio)
    budgets: list[tuple[list[str], float]] = []
    real = ffmpeg_run.run_with_stderr

    async def recording(argv: list[str], **kwargs: Any) -> tuple[bytes, str]:
        budgets.append((argv, kwargs["timeout"]))
        return await real(argv, **kwargs)

    monkeypatch.setattr(ffmpeg_run, "run_with_stderr", recording)
    settings = MediaSettings(timeout_seconds=30, timeout_factor=2)
    await make_renditions(src, tmp_path / "out", settings)
    decodes = [t for argv, t in budgets if "-filter_complex" in argv]
    assert len(decodes) == (2 if audio else 1)  # analysis (with sound), transcode
    assert all(abs(t - (30 + 2 * 20)) < 1 for t in decodes), decodes


def record_argvs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every argv that make_renditions runs, in order."""
    argvs: list[list[str]] = []
    real = ffmpeg_run.run_with_stderr

    async def recording(argv: list[str], **kwargs: Any) -> tuple[bytes, str]:
        argvs.append(argv)
        return await real(argv, **kwargs)

    monkeypatch.setattr(ffmpeg_run, "run_with_stderr", recording)
    return argvs
