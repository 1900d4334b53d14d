"""Browser and device formats become the expected renditions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.media import make_audio, make_mkv_h264, make_mp4, make_webm
from tests.support.transcode import (
    AUDIO_NAMES,
    MUTE_NAMES,
    SETTINGS,
    VIDEO_NAMES,
    by_name,
    check_rendition,
    ffprobe,
    streams,
)
from workers.renditions import webp_info
from workers.transcode import make_renditions


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("transcode-corpus")


Maker = Callable[[Path], Path]
# name: (make the upload, renditions, size of the video, duration, audio channels)
CORPUS: dict[str, tuple[Maker, list[str], tuple[int, int] | None, float, int | None]] = {
    "chrome-vp8.webm": (lambda p: make_webm(p, 2), VIDEO_NAMES, (320, 240), 2.0, 1),
    "chrome-vp9.webm": (lambda p: make_webm(p, 2, codec="vp9"), VIDEO_NAMES, (320, 240), 2.0, 1),
    "chrome-h264.mkv": (lambda p: make_mkv_h264(p, 2), VIDEO_NAMES, (320, 240), 2.0, 1),
    "safari.mp4": (lambda p: make_mp4(p, 2), VIDEO_NAMES, (320, 240), 2.0, 1),
    "camera.mov": (lambda p: make_mp4(p, 2, container="mov"), VIDEO_NAMES, (320, 240), 2.0, 1),
    "vga.webm": (lambda p: make_webm(p, 2, "640x480"), VIDEO_NAMES, (640, 480), 2.0, 1),
    "portrait.mp4": (lambda p: make_mp4(p, 2, "360x640"), VIDEO_NAMES, (360, 640), 2.0, 1),
    "phone-rotated.mp4": (lambda p: make_mp4(p, 2, rotate=90), VIDEO_NAMES, (240, 320), 2.0, 1),
    "odd.webm": (lambda p: make_webm(p, 2, "321x241"), VIDEO_NAMES, (320, 240), 2.0, 1),
    "vfr.webm": (lambda p: make_webm(p, 2, vfr=True), VIDEO_NAMES, (320, 240), 2.0, 1),
    "mute.webm": (lambda p: make_webm(p, 2, audio=False), MUTE_NAMES, (320, 240), 2.0, None),
    "voice.ogg": (lambda p: make_audio(p, 2, "ogg"), AUDIO_NAMES, None, 2.0, 1),
    "voice.wav": (lambda p: make_audio(p, 2, "wav"), AUDIO_NAMES, None, 2.0, 1),
    "song.mp3": (
        lambda p: make_audio(p, 2, "mp3", channels=2, cover=True),
        AUDIO_NAMES,
        None,
        2.0,
        2,
    ),
    "voice.m4a": (lambda p: make_audio(p, 2, "m4a", cover=True), AUDIO_NAMES, None, 2.0, 1),
}


@pytest.mark.parametrize("name", CORPUS)
async def test_corpus_becomes_checked_renditions(folder: Path, tmp_path: Path, name: str) -> None:
    make, names, size, duration, channels = CORPUS[name]
    src = make(folder / name)
    info, files = await make_renditions(src, tmp_path, SETTINGS)
    assert [f.name for f in files] == names
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f.path.name for f in files)
    found = by_name(files)
    for file in files:
        check_rendition(file, duration if file.name in ("video", "audio") else None, channels)
    if size is None:
        assert info.video is None
        assert (found["audio"].width, found["audio"].height) == (None, None)
    else:
        assert (found["video"].width, found["video"].height) == size
        assert (found["poster"].width, found["poster"].height) == size
        preview = found["preview"]
        assert preview.width == min(320, size[0])
        assert preview.height == pytest.approx(size[1] * preview.width / size[0], abs=2)
    if channels is None:
        assert not streams(ffprobe(found["video"].path), "audio")
    else:
        assert streams(ffprobe(found["audio"].path), "audio")[0]["channels"] == channels
    if "video" in found and channels:
        assert len(streams(ffprobe(found["video"].path), "audio")) == 1


async def test_variable_frame_rate_keeps_its_frames(folder: Path, tmp_path: Path) -> None:
    src = make_webm(folder / "vfr-count.webm", 2, audio=False, vfr=True)
    source_frames = int(streams(ffprobe(src), "video")[0]["nb_read_packets"])
    _, files = await make_renditions(src, tmp_path, SETTINGS)
    [v] = streams(ffprobe(by_name(files)["video"].path), "video")
    assert source_frames < 40  # 2 s at 30 fps, thinned out
    assert int(v["nb_read_packets"]) == source_frames  # no frames invented to fill gaps


async def test_preview_is_a_looping_animation_of_about_three_seconds(
    folder: Path, tmp_path: Path
) -> None:
    src = make_mkv_h264(folder / "seven.mkv", seconds=7, size="640x360", audio=False)
    _, files = await make_renditions(src, tmp_path, SETTINGS)
    preview = by_name(files)["preview"]
    data = preview.path.read_bytes()
    found = webp_info(data)
    assert found is not None
    width, height, frames = found
    assert (width, height) == (320, 180)
    assert 28 <= frames <= 31  # 3 s at 10 fps
    anim = data.index(b"ANIM")
    assert int.from_bytes(data[anim + 12 : anim + 14], "little") == 0  # loops forever


@pytest.mark.parametrize(
    "size,max_height,expected",
    [
        ("1280x720", 360, (640, 360)),
        ("240x320", 720, (240, 320)),  # portrait stays portrait, never upscaled
        ("720x1280", 360, (360, 640)),  # portrait is fitted to its long side
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


async def test_high_frame_rate_is_capped_at_30(folder: Path, tmp_path: Path) -> None:
    src = make_webm(folder / "slowmo.webm", seconds=1, size="160x120", audio=False, rate=90)
    info, files = await make_renditions(src, tmp_path, SETTINGS)
    assert info.video is not None and info.video.fps == 90
    [v] = streams(ffprobe(by_name(files)["video"].path), "video")
    num, den = v["avg_frame_rate"].split("/")
    assert int(num) / int(den) == pytest.approx(30, abs=1)


async def test_one_frame_clip_still_gets_a_poster_and_preview(folder: Path, tmp_path: Path) -> None:
    src = make_webm(folder / "blink.webm", seconds=0.034, size="160x120")
    _, files = await make_renditions(src, tmp_path, SETTINGS)
    found = by_name(files)
    assert (found["poster"].width, found["poster"].height) == (160, 120)
    assert (found["preview"].width, found["preview"].height) == (160, 120)


async def test_uploader_metadata_is_dropped(folder: Path, tmp_path: Path) -> None:
    metadata = {"title": "secret", "comment": "hello", "location": "+52.3700+004.8900/"}
    src = make_mp4(folder / "tagged.mp4", seconds=1, metadata=metadata)
    assert ffprobe(src)["format"]["tags"]["title"] == "secret"
    _, files = await make_renditions(src, tmp_path, SETTINGS)
    for file in files:
        raw = file.path.read_bytes()
        assert b"secret" not in raw and b"+52.37" not in raw
    for name in ("video", "audio"):
        tags = ffprobe(by_name(files)[name].path)["format"].get("tags", {})
        assert not {"title", "comment", "location", "location-eng"} & set(tags)
