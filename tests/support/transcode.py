"""Checks shared by the transcode tests: what every rendition of a given name must be."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from relay.settings import MediaSettings
from tests.support.media import mp4_boxes
from workers.renditions import webp_info
from workers.transcode import RenditionFile

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
