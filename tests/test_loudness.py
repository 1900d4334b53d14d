"""Quiet and loud speech both come out at -16 LUFS, measured by ffmpeg's own ebur128."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from relay.settings import MediaSettings
from tests.support.media import make_speech
from workers.transcode import make_renditions

SETTINGS = MediaSettings(ffmpeg_threads=0, ffmpeg_nice=0, max_duration_seconds=60)
TARGET, TOLERANCE = -16.0, 1.5
TEXT = (
    "Hello, this is a short voice message about the weekly update. We shipped the new "
    "player, fixed three bugs in uploads, and we will meet again on Thursday."
)
_FFMPEG = ["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-y"]


def loudness(path: Path) -> tuple[float, float]:
    """(integrated loudness in LUFS, true peak in dBTP) from ebur128's summary."""
    argv = [*_FFMPEG, "-i", str(path), "-map", "0:a:0", "-af", "ebur128=peak=true"]
    done = subprocess.run(
        [*argv, "-f", "null", "-"], check=True, capture_output=True, text=True, timeout=60
    )
    summary = done.stderr[done.stderr.rindex("Summary:") :]
    integrated = re.search(r"^\s+I:\s+(-?[\d.]+) LUFS", summary, re.MULTILINE)
    peak = re.search(r"^\s+Peak:\s+(-?[\d.]+|-inf) dBFS", summary, re.MULTILINE)
    assert integrated and peak, summary
    return float(integrated.group(1)), float(peak.group(1))


def scaled(src: Path, dst: Path, gain_db: float, *, limit: bool = False) -> Path:
    """`src` made louder or quieter; `limit` keeps the peaks of a hot microphone in range."""
    audio_filter = f"volume={gain_db:.2f}dB"
    if limit:
        audio_filter += ",alimiter=limit=0.97:level=false:attack=1:release=20"
    argv = [*_FFMPEG, "-loglevel", "error", "-i", str(src), "-af", audio_filter]
    subprocess.run([*argv, "-c:a", "pcm_s16le", str(dst)], check=True, timeout=60)
    return dst


def with_video(audio: Path, dst: Path) -> Path:
    """A VP8 + Opus WebM of a test picture and `audio`, as a camera recording."""
    argv = [*_FFMPEG, "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=15"]
    argv += ["-i", str(audio), "-map", "0:v", "-map", "1:a", "-shortest"]
    argv += ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus"]
    subprocess.run([*argv, "-f", "webm", str(dst)], check=True, timeout=60)
    return dst


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("loudness")
    voice = make_speech(folder / "voice.wav", TEXT)
    level, _ = loudness(voice)
    quiet = scaled(voice, folder / "quiet.wav", -35 - level)
    # Speech peaks sit far above its loudness: reaching -8 LUFS takes a limiter, as it
    # does in a microphone turned up too far.
    loud = scaled(voice, folder / "loud.wav", -8 - level + 12, limit=True)
    return {"quiet": quiet, "loud": loud}


@pytest.mark.parametrize("name,level", [("quiet", -35.0), ("loud", -8.0)])
async def test_speech_is_normalised_to_minus_16_lufs(
    speech: dict[str, Path], tmp_path: Path, name: str, level: float
) -> None:
    assert loudness(speech[name])[0] == pytest.approx(level, abs=2.0)
    _, files = await make_renditions(speech[name], tmp_path, SETTINGS)
    [audio] = [f for f in files if f.name == "audio"]
    integrated, peak = loudness(audio.path)
    assert integrated == pytest.approx(TARGET, abs=TOLERANCE)
    assert peak <= -0.5  # loudnorm aims at -1.5 dBTP; AAC may overshoot a little


@pytest.mark.parametrize("name", ["quiet", "loud"])
async def test_video_sound_is_normalised_too(
    speech: dict[str, Path], tmp_path: Path, name: str
) -> None:
    src = with_video(speech[name], tmp_path / f"{name}.webm")
    _, files = await make_renditions(src, tmp_path / "out", SETTINGS)
    found = {f.name: f for f in files}
    for rendition in ("video", "audio"):
        integrated, _ = loudness(found[rendition].path)
        assert integrated == pytest.approx(TARGET, abs=TOLERANCE), rendition
