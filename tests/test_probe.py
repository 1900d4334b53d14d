from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.support.media import make_audio, make_mkv_h264, make_mp4, make_webm
from workers.errors import MediaRejected
from workers.probe import (
    EMPTY,
    NOT_MEDIA,
    UNREADABLE,
    AudioInfo,
    MediaInfo,
    VideoInfo,
    check_limits,
    measure_length,
    parse_probe,
    parse_progress,
    probe,
    sniff_format,
)

SNIFF_CASES = {
    "webm": (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm", "matroska"),
    "mp4 ftyp": (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "mov"),
    "mov moov first": (b"\x00\x00\x10\x00moov\x00\x00\x00\x6cmvhd", "mov"),
    "mov wide": (b"\x00\x00\x00\x08wide\x00\x01\x00\x00mdat", "mov"),
    "ogg": (b"OggS\x00\x02\x00\x00\x00\x00", "ogg"),
    "wav": (b"RIFF\x24\x08\x00\x00WAVEfmt ", "wav"),
    "mp3 id3": (b"ID3\x04\x00\x00\x00\x00\x00\x23TSSE", "mp3"),
    "mp3 frame": (b"\xff\xfb\x90\x64\x00\x00", "mp3"),
    "flac": (b"fLaC\x00\x00\x00\x22", "flac"),
    "adts aac": (b"\xff\xf1\x50\x80\x02\x1f\xfc", None),
    "avi": (b"RIFF\x24\x08\x00\x00AVI LIST", None),
    "m3u8": (b"#EXTM3U\n#EXT-X-VERSION:3\nfile:///etc/passwd\n", None),
    "ffconcat": (b"ffconcat version 1.0\nfile '/etc/passwd'\n", None),
    "html": (b"<!DOCTYPE html><html>", None),
    "text": (b"hello world, this is not media", None),
    "random": (random.Random(7).randbytes(64), None),
    "empty": (b"", None),
    "short": (b"\x1a\x45", None),
}


@pytest.mark.parametrize("head,expected", SNIFF_CASES.values(), ids=SNIFF_CASES.keys())
def test_sniff_format(head: bytes, expected: str | None) -> None:
    assert sniff_format(head) == expected


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("probe")
    return {
        "webm": make_webm(folder / "a.webm", seconds=1),
        "mp4": make_mp4(folder / "a.mp4", seconds=1),
        "rotated": make_mp4(folder / "r.mp4", seconds=1, rotate=90),
        "mkv": make_mkv_h264(folder / "a.mkv", seconds=1),
        "ogg": make_audio(folder / "a.ogg", seconds=1, kind="ogg"),
        "wav": make_audio(folder / "a.wav", seconds=1, kind="wav"),
        "mp3": make_audio(folder / "a.mp3", seconds=1, kind="mp3", cover=True),
        "m4a": make_audio(folder / "a.m4a", seconds=1, kind="m4a"),
        "flac": make_audio(folder / "a.flac", seconds=1, kind="flac", channels=2),
    }


@pytest.mark.parametrize(
    "name,fmt",
    [
        ("webm", "matroska"),
        ("mp4", "mov"),
        ("mkv", "matroska"),
        ("ogg", "ogg"),
        ("wav", "wav"),
        ("mp3", "mp3"),
        ("m4a", "mov"),
        ("flac", "flac"),
    ],
)
def test_sniff_format_of_generated_media(media: dict[str, Path], name: str, fmt: str) -> None:
    assert sniff_format(media[name].read_bytes()[:64]) == fmt


async def test_probe_recorder_webm_has_no_duration(media: dict[str, Path]) -> None:
    fmt, info = await probe(media["webm"])
    assert fmt == "matroska"
    assert info.duration is None  # as with MediaRecorder: measured after transcoding
    assert info.video == VideoInfo(codec="vp8", width=320, height=240, fps=30.0, rotation=0)
    assert info.audio == AudioInfo(codec="opus", channels=1, sample_rate=48000)
    assert (info.video_streams, info.audio_streams, info.other_streams) == (1, 1, 0)
    assert info.display_size == (320, 240)


async def test_probe_mp4(media: dict[str, Path]) -> None:
    fmt, info = await probe(media["mp4"])
    assert fmt == "mov"
    assert info.format_name is not None and "mp4" in info.format_name
    assert info.duration == pytest.approx(1.0, abs=0.1)
    assert info.bit_rate and info.bit_rate > 0
    assert info.video is not None and info.video.codec == "h264"
    assert info.audio is not None and info.audio.codec == "aac"


async def test_probe_rotated_mp4_swaps_display_size(media: dict[str, Path]) -> None:
    _, info = await probe(media["rotated"])
    assert info.video is not None
    assert (info.video.width, info.video.height, info.video.rotation) == (320, 240, 90)
    assert info.display_size == (240, 320)


async def test_probe_mp3_cover_art_is_not_video(media: dict[str, Path]) -> None:
    fmt, info = await probe(media["mp3"])
    assert fmt == "mp3"
    assert info.video is None
    assert (info.video_streams, info.audio_streams, info.other_streams) == (0, 1, 1)
    assert info.display_size is None


async def test_probe_flac_stereo(media: dict[str, Path]) -> None:
    _, info = await probe(media["flac"])
    assert info.audio == AudioInfo(codec="flac", channels=2, sample_rate=48000)


async def test_probe_empty_file_rejected(tmp_path: Path) -> None:
    empty = tmp_path / "empty.webm"
    empty.write_bytes(b"")
    with pytest.raises(MediaRejected) as caught:
        await probe(empty)
    assert caught.value.reason == EMPTY


async def test_probe_random_bytes_behind_webm_magic_rejected(tmp_path: Path) -> None:
    fake = tmp_path / "fake.webm"
    fake.write_bytes(b"\x1a\x45\xdf\xa3" + random.Random(1).randbytes(4096))
    with pytest.raises(MediaRejected) as caught:
        await probe(fake)
    assert caught.value.reason == UNREADABLE


async def test_probe_truncated_mp4_rejected(tmp_path: Path, media: dict[str, Path]) -> None:
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(media["mp4"].read_bytes()[:200])
    with pytest.raises(MediaRejected) as caught:
        await probe(truncated)
    assert caught.value.reason == UNREADABLE


@pytest.mark.parametrize(
    "text",
    [
        "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n",
        "ffconcat version 1.0\nfile '/etc/passwd'\n",
    ],
    ids=["m3u8", "ffconcat"],
)
async def test_probe_playlist_renamed_webm_rejected(tmp_path: Path, text: str) -> None:
    playlist = tmp_path / "message.webm"
    playlist.write_text(text)
    with pytest.raises(MediaRejected) as caught:
        await probe(playlist)
    assert caught.value.reason == NOT_MEDIA


def test_parse_probe_tolerates_missing_and_na_fields() -> None:
    info = parse_probe(
        {
            "format": {"format_name": "matroska,webm", "duration": "N/A", "bit_rate": "N/A"},
            "streams": [
                {"codec_type": "video", "codec_name": "vp8", "avg_frame_rate": "0/0"},
                {"codec_type": "audio", "channels": 2, "sample_rate": "N/A"},
            ],
        }
    )
    assert info.duration is None and info.bit_rate is None
    assert info.video == VideoInfo(codec="vp8", width=None, height=None, fps=None, rotation=0)
    assert info.audio == AudioInfo(codec=None, channels=2, sample_rate=None)
    assert info.display_size is None
    assert parse_probe({}) == MediaInfo(None, None, None, None, None)


def test_parse_probe_duration_falls_back_to_streams() -> None:
    info = parse_probe(
        {"format": {}, "streams": [{"codec_type": "audio", "duration": "4.5"}, {"duration": 5}]}
    )
    assert info.duration == 5.0
    assert info.other_streams == 1


def test_parse_probe_rotation_from_display_matrix() -> None:
    stream = {
        "codec_type": "video",
        "width": 1920,
        "height": 1080,
        "avg_frame_rate": "30000/1001",
        "r_frame_rate": "1000/1",
        "side_data_list": [{"side_data_type": "Display Matrix", "rotation": -90}],
    }
    info = parse_probe({"streams": [stream]})
    assert info.video is not None
    assert info.video.rotation == 90
    assert info.video.fps == pytest.approx(29.97, abs=0.01)
    assert info.display_size == (1080, 1920)


@pytest.mark.parametrize("tag,rotation", [("90", 90), ("180", 180), ("270", 270), ("-90", 270)])
def test_parse_probe_rotation_from_rotate_tag(tag: str, rotation: int) -> None:
    stream = {"codec_type": "video", "width": 640, "height": 480, "tags": {"rotate": tag}}
    info = parse_probe({"streams": [stream]})
    assert info.video is not None and info.video.rotation == rotation
    expected = (480, 640) if rotation in (90, 270) else (640, 480)
    assert info.display_size == expected


def test_parse_probe_frame_rate_falls_back_to_r_frame_rate() -> None:
    stream = {"codec_type": "video", "avg_frame_rate": "0/0", "r_frame_rate": "25/1"}
    info = parse_probe({"streams": [stream]})
    assert info.video is not None and info.video.fps == 25.0


def test_parse_probe_attached_picture_is_not_video() -> None:
    info = parse_probe(
        {
            "streams": [
                {"codec_type": "audio", "codec_name": "mp3"},
                {"codec_type": "video", "codec_name": "mjpeg", "disposition": {"attached_pic": 1}},
                {"codec_type": "subtitle"},
            ]
        }
    )
    assert info.video is None
    assert (info.video_streams, info.audio_streams, info.other_streams) == (0, 1, 2)


def test_parse_probe_first_streams_win() -> None:
    info = parse_probe(
        {
            "streams": [
                {"codec_type": "video", "codec_name": "h264", "width": 8, "height": 8},
                {"codec_type": "audio", "codec_name": "aac"},
                {"codec_type": "video", "codec_name": "hevc"},
                {"codec_type": "audio", "codec_name": "opus"},
            ]
        }
    )
    assert info.video is not None and info.video.codec == "h264"
    assert info.audio is not None and info.audio.codec == "aac"
    assert (info.video_streams, info.audio_streams) == (2, 2)


def _info(
    *,
    width: int | None = 1280,
    height: int | None = 720,
    fps: float | None = 30.0,
    duration: float | None = 10.0,
    video_streams: int = 1,
    audio: bool = True,
    video: bool = True,
) -> MediaInfo:
    return MediaInfo(
        format_name="mov",
        duration=duration,
        bit_rate=None,
        video=VideoInfo("h264", width, height, fps, 0) if video else None,
        audio=AudioInfo("aac", 2, 48000) if audio else None,
        video_streams=video_streams if video else 0,
        audio_streams=1 if audio else 0,
    )


@pytest.mark.parametrize(
    "info",
    [
        _info(),
        _info(video=False),
        _info(audio=False),
        _info(width=3840, height=2160, fps=120.0),
        _info(width=2160, height=3840),  # portrait 4K
        _info(duration=None, fps=None),  # recorder WebM: unknown until transcoded
        _info(duration=60.0),
    ],
)
def test_check_limits_accepts(info: MediaInfo) -> None:
    check_limits(info, max_duration=60.0)


@pytest.mark.parametrize(
    "info,words",
    [
        (_info(audio=False, video=False), "no audio or video"),
        (_info(video_streams=2), "more than one video track"),
        (_info(width=4096, height=2160), "4096×2160"),
        (_info(width=2160, height=4096), "largest supported size is 3840×2160"),
        (_info(width=3000, height=3000), "3000×3000"),
        (_info(fps=240.0), "240 frames per second"),
        (_info(duration=61.0), "1:01 long; the longest supported is 1:00"),
        (_info(width=None), "could not be read"),
    ],
    ids=["empty", "two-videos", "wide", "tall", "square", "fps", "long", "no-size"],
)
def test_check_limits_rejects(info: MediaInfo, words: str) -> None:
    with pytest.raises(MediaRejected) as caught:
        check_limits(info, max_duration=60.0)
    assert words in caught.value.reason


def test_check_limits_long_duration_in_hours() -> None:
    with pytest.raises(MediaRejected) as caught:
        check_limits(_info(duration=2 * 3600 + 5), max_duration=1800)
    assert caught.value.reason == "The recording is 2:00:05 long; the longest supported is 30:00."


def test_recorder_webm_time_base_is_not_taken_for_a_frame_rate() -> None:
    """Chrome's WebM with uneven frame spacing: no avg rate, r_frame_rate = the 1 kHz base."""
    stream = {
        "codec_type": "video",
        "codec_name": "vp8",
        "width": 1280,
        "height": 720,
        "avg_frame_rate": "0/0",
        "r_frame_rate": "1000/1",
    }
    info = parse_probe({"streams": [stream], "format": {"format_name": "matroska,webm"}})
    assert info.video is not None and info.video.fps is None
    check_limits(info, max_duration=1800)  # not rejected as "1000 frames per second"


def test_measured_rate_still_wins_and_plausible_nominal_rate_is_kept() -> None:
    stream = {"codec_type": "video", "width": 64, "height": 64, "r_frame_rate": "30/1"}
    info = parse_probe({"streams": [stream], "format": {}})
    assert info.video is not None and info.video.fps == 30
    stream["avg_frame_rate"] = "25/1"
    assert parse_probe({"streams": [stream], "format": {}}).video.fps == 25


def test_parse_progress_takes_the_last_time_reached() -> None:
    report = "out_time_us=1000000\nprogress=continue\nout_time_us=19968000\nprogress=end\n"
    assert parse_progress(report) == 19.968
    assert parse_progress("out_time_us=N/A\nprogress=end\n") is None
    assert parse_progress("") is None


async def test_length_of_a_recorder_webm_is_measured_from_its_packets(
    media: dict[str, Path],
) -> None:
    assert abs((await measure_length(media["webm"], "matroska", timeout=30)) - 1.0) < 0.1
