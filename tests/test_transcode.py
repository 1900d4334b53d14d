from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from relay.settings import MediaSettings
from tests.media import (
    make_audio,
    make_long_video,
    make_mkv_h264,
    make_mp4,
    make_webm,
    mp4_boxes,
)
from workers import ffmpeg
from workers.analysis import Loudness
from workers.errors import MediaRejected
from workers.renditions import loudness_filter, preview_start, wants_data_saver, webp_info
from workers.transcode import (
    DATA_SAVER_MIN_SECONDS,
    STEPS,
    TWO_PASS_MAX_SECONDS,
    RenditionFile,
    make_renditions,
)

SETTINGS = MediaSettings(ffmpeg_threads=0, ffmpeg_nice=0, max_duration_seconds=60)
VIDEO_NAMES = ["video", "audio", "poster", "preview", "waveform", "silences"]
AUDIO_NAMES = ["audio", "waveform", "silences"]
MUTE_NAMES = ["video", "poster", "preview"]


def ffprobe(path: Path) -> dict[str, Any]:
    argv = ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams"]
    argv += ["-count_packets"]
    done = subprocess.run([*argv, str(path)], check=True, capture_output=True, timeout=30)
    return json.loads(done.stdout)


def streams(data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [s for s in data["streams"] if s["codec_type"] == kind]


def by_name(files: list[RenditionFile]) -> dict[str, RenditionFile]:
    return {f.name: f for f in files}


def check_rendition(
    file: RenditionFile, duration: float | None, channels: int | None = None
) -> dict[str, Any] | None:
    """What every rendition of its name must be; the ffprobe output for media files."""
    assert (
        file.path.name
        == {
            "video": "video.mp4",
            "video_360": "video_360.mp4",
            "audio": "audio.m4a",
            "poster": "poster.jpg",
            "preview": "preview.webp",
            "waveform": "waveform.json",
            "silences": "silences.json",
        }[file.name]
    )
    assert file.size == file.path.stat().st_size > 0
    if file.name in ("waveform", "silences"):
        assert file.mime == "application/json"
        json.loads(file.path.read_text())
        return None
    if file.name == "preview":
        assert file.mime == "image/webp"
        found = webp_info(file.path.read_bytes())
        assert found is not None and found[:2] == (file.width, file.height)
        assert file.width is not None and file.width <= 320
        return None
    if file.name == "poster":
        assert file.mime == "image/jpeg"
        assert file.path.read_bytes()[:3] == b"\xff\xd8\xff"
        return None
    data = ffprobe(file.path)
    boxes = mp4_boxes(file.path)
    assert boxes.index("moov") < boxes.index("mdat")  # faststart
    assert "tags" not in data["format"] or "title" not in data["format"]["tags"]
    if duration is not None:
        assert file.duration == pytest.approx(duration, abs=0.15)
    for a in streams(data, "audio"):
        assert (a["codec_name"], a["profile"], int(a["sample_rate"])) == ("aac", "LC", 48000)
        assert channels is None or a["channels"] == channels  # mono stays mono
    if file.name == "audio":
        assert file.mime == "audio/mp4"
        assert data["format"]["tags"]["major_brand"].strip() == "M4A"
        assert not streams(data, "video") and len(streams(data, "audio")) == 1
        return data
    assert file.mime == "video/mp4"
    [v] = streams(data, "video")
    assert (v["codec_name"], v["profile"], v["pix_fmt"]) == ("h264", "Main", "yuv420p")
    assert (v["width"], v["height"]) == (file.width, file.height)
    assert v["width"] % 2 == 0 and v["height"] % 2 == 0
    assert "side_data_list" not in v  # no stale display matrix to rotate it again
    return data


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("transcode")


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


async def test_ten_minute_message_gets_data_saver_and_one_pass_loudness(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make_long_video(folder / "long.mkv", seconds=600)
    argvs = record_argvs(monkeypatch)
    settings = MediaSettings(ffmpeg_nice=0)  # 30 minutes
    _, files = await make_renditions(src, tmp_path, settings)
    assert [f.name for f in files] == ["video", "video_360", *VIDEO_NAMES[1:]]
    found = by_name(files)
    for file in files:
        media = file.name in ("video", "video_360", "audio")
        check_rendition(file, 600.0 if media else None, channels=1)
    assert (found["video"].width, found["video"].height) == (480, 368)
    small = found["video_360"]
    assert small.height == 360 and small.width is not None and small.width <= 470
    assert small.size < found["video"].size
    [a] = streams(ffprobe(small.path), "audio")
    assert int(a["bit_rate"]) < 80_000
    waveform = json.loads(found["waveform"].path.read_text())
    assert len(waveform["peaks"]) == 1000
    assert waveform["duration"] == pytest.approx(600, abs=0.1)
    # The header says 10 minutes: no loudness measurement, one dynamic loudnorm pass.
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


async def test_work_folder_with_awkward_characters(folder: Path, tmp_path: Path) -> None:
    # The silence metadata file is named inside a filter graph: it must be escaped.
    out = tmp_path / "a:b,c'd[e];f g"
    _, files = await make_renditions(make_audio(folder / "awkward.ogg", 1), out, SETTINGS)
    assert [f.path.parent for f in files] == [out] * 3


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


def record_argvs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every argv that make_renditions runs, in order."""
    argvs: list[list[str]] = []
    real = ffmpeg.run_with_stderr

    async def recording(argv: list[str], **kwargs: Any) -> tuple[bytes, str]:
        argvs.append(argv)
        return await real(argv, **kwargs)

    monkeypatch.setattr(ffmpeg, "run_with_stderr", recording)
    return argvs
