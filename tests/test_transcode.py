from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from relay.settings import MediaSettings
from tests.media import make_audio, make_mkv_h264, make_mp4, make_webm, mp4_boxes
from workers.errors import MediaRejected
from workers.transcode import RenditionFile, make_renditions

SETTINGS = MediaSettings(ffmpeg_threads=0, ffmpeg_nice=0, max_duration_seconds=60)


def ffprobe(path: Path) -> dict[str, Any]:
    argv = ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams"]
    done = subprocess.run([*argv, str(path)], check=True, capture_output=True, timeout=30)
    return json.loads(done.stdout)


def streams(data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [s for s in data["streams"] if s["codec_type"] == kind]


def _listing(folder: Path) -> list[Path]:
    return list(folder.iterdir())


def by_name(files: list[RenditionFile]) -> dict[str, RenditionFile]:
    return {f.name: f for f in files}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("transcode")


async def test_recorder_webm_becomes_phone_playable_mp4(folder: Path, tmp_path: Path) -> None:
    src = make_webm(folder / "chrome.webm", seconds=3, size="320x240")
    info, files = await make_renditions(src, tmp_path, SETTINGS)
    assert info.duration is None  # the WebM header did not say
    assert [f.name for f in files] == ["video", "poster"]
    video = by_name(files)["video"]
    assert video.path == tmp_path / "video.mp4"
    assert video.mime == "video/mp4"
    assert (video.width, video.height) == (320, 240)
    assert video.duration == pytest.approx(3.0, abs=0.15)
    assert video.size == video.path.stat().st_size > 0

    data = ffprobe(video.path)
    [v] = streams(data, "video")
    [a] = streams(data, "audio")
    assert (v["codec_name"], v["profile"], v["pix_fmt"]) == ("h264", "Main", "yuv420p")
    assert (a["codec_name"], a["profile"]) == ("aac", "LC")
    assert (int(a["sample_rate"]), a["channels"]) == (48000, 2)
    boxes = mp4_boxes(video.path)
    assert boxes.index("moov") < boxes.index("mdat")  # faststart


async def test_poster_is_a_jpeg_of_the_video_size(folder: Path, tmp_path: Path) -> None:
    src = make_mkv_h264(folder / "chrome-h264.mkv", seconds=2, size="480x270")
    _, files = await make_renditions(src, tmp_path, SETTINGS)
    video, poster = by_name(files)["video"], by_name(files)["poster"]
    assert poster.path == tmp_path / "poster.jpg"
    assert poster.mime == "image/jpeg"
    assert poster.path.read_bytes()[:3] == b"\xff\xd8\xff"
    assert (poster.width, poster.height) == (video.width, video.height) == (480, 270)
    assert poster.duration is None
    assert poster.size == poster.path.stat().st_size


@pytest.mark.parametrize(
    "size,max_height,expected",
    [
        ("1280x720", 360, (640, 360)),
        ("240x320", 720, (240, 320)),  # portrait stays portrait, never upscaled
        ("720x1280", 360, (360, 640)),  # portrait is fitted to its long side
        ("321x241", 720, (320, 240)),  # odd sizes become even
        ("640x640", 360, (360, 360)),
    ],
)
async def test_video_is_fitted_and_even(
    folder: Path, tmp_path: Path, size: str, max_height: int, expected: tuple[int, int]
) -> None:
    src = make_webm(folder / f"{size}.webm", seconds=1, size=size, audio=False)
    _, files = await make_renditions(src, tmp_path, SETTINGS, max_height=max_height)
    video = by_name(files)["video"]
    assert (video.width, video.height) == expected
    [v] = streams(ffprobe(video.path), "video")
    assert (v["width"], v["height"]) == expected


async def test_audio_only_ogg_becomes_m4a_without_poster(folder: Path, tmp_path: Path) -> None:
    src = make_audio(folder / "voice.ogg", seconds=2, kind="ogg")
    info, files = await make_renditions(src, tmp_path, SETTINGS)
    assert info.video is None
    [audio] = files
    assert (audio.name, audio.mime, audio.path) == ("audio", "audio/mp4", tmp_path / "audio.m4a")
    assert (audio.width, audio.height) == (None, None)
    assert audio.duration == pytest.approx(2.0, abs=0.1)
    assert not (tmp_path / "poster.jpg").exists()
    data = ffprobe(audio.path)
    [a] = streams(data, "audio")
    assert (a["codec_name"], a["profile"], a["channels"]) == ("aac", "LC", 1)
    assert not streams(data, "video")
    assert data["format"]["tags"]["major_brand"].strip() == "M4A"
    boxes = mp4_boxes(audio.path)
    assert boxes.index("moov") < boxes.index("mdat")


async def test_mp3_with_cover_art_is_audio(folder: Path, tmp_path: Path) -> None:
    src = make_audio(folder / "song.mp3", seconds=1, kind="mp3", channels=2, cover=True)
    _, files = await make_renditions(src, tmp_path, SETTINGS)
    assert [f.name for f in files] == ["audio"]
    data = ffprobe(files[0].path)
    assert not streams(data, "video")
    assert streams(data, "audio")[0]["channels"] == 2


async def test_video_without_audio_has_no_audio_stream(folder: Path, tmp_path: Path) -> None:
    src = make_webm(folder / "mute.webm", seconds=1, audio=False)
    info, files = await make_renditions(src, tmp_path, SETTINGS)
    assert info.audio is None
    data = ffprobe(by_name(files)["video"].path)
    assert len(streams(data, "video")) == 1
    assert not streams(data, "audio")


async def test_rotated_phone_video_is_turned_upright(folder: Path, tmp_path: Path) -> None:
    src = make_mp4(folder / "iphone.mp4", seconds=1, size="320x240", rotate=90)
    info, files = await make_renditions(src, tmp_path, SETTINGS)
    assert info.display_size == (240, 320)
    video, poster = by_name(files)["video"], by_name(files)["poster"]
    assert (video.width, video.height) == (240, 320)
    assert (poster.width, poster.height) == (240, 320)
    [v] = streams(ffprobe(video.path), "video")
    assert (v["width"], v["height"]) == (240, 320)
    assert "side_data_list" not in v  # no stale display matrix to rotate it again
    assert "rotate" not in v.get("tags", {})


async def test_uploader_metadata_is_dropped(folder: Path, tmp_path: Path) -> None:
    metadata = {"title": "secret", "comment": "hello", "location": "+52.3700+004.8900/"}
    src = make_mp4(folder / "tagged.mp4", seconds=1, metadata=metadata)
    assert ffprobe(src)["format"]["tags"]["title"] == "secret"
    _, files = await make_renditions(src, tmp_path, SETTINGS)
    for file in files:
        raw = file.path.read_bytes()
        assert b"secret" not in raw and b"+52.37" not in raw
    tags = ffprobe(by_name(files)["video"].path)["format"].get("tags", {})
    assert not {"title", "comment", "location", "location-eng"} & set(tags)


async def test_output_is_cut_at_max_duration(folder: Path, tmp_path: Path) -> None:
    # No duration in the header, so only -t can bound it.
    src = make_webm(folder / "long.webm", seconds=3, size="160x120")
    settings = MediaSettings(ffmpeg_nice=0, max_duration_seconds=1.5)
    _, files = await make_renditions(src, tmp_path, settings)
    assert by_name(files)["video"].duration == pytest.approx(1.5, abs=0.1)


async def test_too_long_upload_rejected_before_transcoding(folder: Path, tmp_path: Path) -> None:
    src = make_audio(folder / "long.wav", seconds=3, kind="wav")
    settings = MediaSettings(ffmpeg_nice=0, max_duration_seconds=2)
    with pytest.raises(MediaRejected) as caught:
        await make_renditions(src, tmp_path, settings)
    assert "longest supported is 0:02" in caught.value.reason
    assert _listing(tmp_path) == []


async def test_not_media_rejected(tmp_path: Path) -> None:
    src = tmp_path / "upload"
    src.write_text("#EXTM3U\nfile:///etc/passwd\n")
    with pytest.raises(MediaRejected):
        await make_renditions(src, tmp_path / "out", SETTINGS)
    assert not (tmp_path / "out").exists()


async def test_high_frame_rate_is_capped_at_30(folder: Path, tmp_path: Path) -> None:
    src = make_webm(folder / "slowmo.webm", seconds=1, size="160x120", audio=False, rate=90)
    info, files = await make_renditions(src, tmp_path, SETTINGS)
    assert info.video is not None and info.video.fps == 90
    [v] = streams(ffprobe(by_name(files)["video"].path), "video")
    num, den = v["avg_frame_rate"].split("/")
    assert int(num) / int(den) == pytest.approx(30, abs=1)


async def test_one_frame_clip_still_gets_a_poster(folder: Path, tmp_path: Path) -> None:
    src = make_webm(folder / "blink.webm", seconds=0.034, size="160x120")
    _, files = await make_renditions(src, tmp_path, SETTINGS)
    poster = by_name(files)["poster"]
    assert (poster.width, poster.height) == (160, 120)
