from __future__ import annotations

from pathlib import Path

import pytest

from workers import ffmpeg

SRC = Path("/uploads/abc")
OUT = Path("/work/out")


def _encode(**changes: object) -> list[str]:
    options: dict = {
        "video": OUT / "video.mp4",
        "small_video": None,
        "audio": OUT / "audio.m4a",
        "audio_filter": "loudnorm=I=-16:TP=-1.5:LRA=11",
        "audio_channels": 1,
        "height": 720,
        "fps": 30.0,
        "threads": 0,
        "max_seconds": 1801.0,
    }
    return ffmpeg.encode_args(SRC, "matroska", **(options | changes))


def _analysis(**changes: object) -> list[str]:
    options: dict = {
        "pcm": OUT / "a.pcm",
        "silences": OUT / "s.txt",
        "loudness": True,
        "max_seconds": 61.0,
    }
    return ffmpeg.analysis_args(SRC, "ogg", **(options | changes))


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def _options(argv: list[str], name: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == name]


def _outputs(argv: list[str]) -> list[list[str]]:
    """The options of each output file, ending with its name."""
    rest = argv[argv.index("-i") + 2 :]
    if rest[:1] == ["-filter_complex"]:
        rest = rest[2:]
    ends = [i for i, arg in enumerate(rest) if arg.startswith("file:") or arg == "-"]
    starts = [0, *(e + 1 for e in ends[:-1])]
    return [rest[a : b + 1] for a, b in zip(starts, ends, strict=True)]


def test_probe_args_force_the_sniffed_format() -> None:
    argv = ffmpeg.probe_args(SRC, "mov")
    assert argv[0] == "ffprobe"
    assert argv[argv.index("-f") + 1] == "mov"
    assert argv.index("-f") < argv.index("-i")
    assert {"-show_format", "-show_streams"} <= set(argv)
    assert _option(argv, "-print_format") == "json"
    assert _option(argv, "-i") == "file:/uploads/abc"


def test_analysis_args_decode_audio_once_into_pcm_and_metadata() -> None:
    argv = _analysis()
    before_input = argv[: argv.index("-i")]
    assert _option(before_input, "-f") == "ogg"
    assert _option(before_input, "-t") == "61.000"  # bounds the decode, not one output
    assert _option(argv, "-loglevel") == "info"  # loudnorm prints its JSON at info
    graph = _option(argv, "-filter_complex")
    assert graph.startswith("[0:a:0]asplit=2")
    assert "silencedetect=noise=-40dB:d=0.7" in graph
    assert r"ametadata=mode=print:file=file\\:/work/out/s.txt" in graph
    assert "loudnorm=I=-16:TP=-1.5:LRA=11:print_format=json,anullsink" in graph
    assert "aresample=8000,aformat=sample_fmts=s16:channel_layouts=mono[pcm]" in graph
    [output] = _outputs(argv)
    assert output == ["-map", "[pcm]", "-c:a", "pcm_s16le", "-f", "s16le", "file:/work/out/a.pcm"]


def test_analysis_args_without_loudness_stay_quiet() -> None:
    argv = _analysis(loudness=False)
    assert "loudnorm" not in _option(argv, "-filter_complex")
    assert _option(argv, "-loglevel") == "error"


def test_analysis_args_escape_the_metadata_path() -> None:
    graph = _option(_analysis(silences=Path("/w/a:b,c.txt")), "-filter_complex")
    assert r"file=file\\:/w/a\\:b\,c.txt,loudnorm" in graph


def test_encode_args_write_every_output_from_one_decode() -> None:
    argv = _encode(small_video=OUT / "video_360.mp4")
    assert argv.count("-i") == 1
    assert _option(argv[: argv.index("-i")], "-t") == "1801.000"
    graph = _option(argv, "-filter_complex")
    assert "[0:v:0]split=2[s0][s1]" in graph
    assert "[s0]scale=w='if(gte(iw,ih),min(iw,1280),min(iw,720))'" in graph
    assert "[s1]scale=w='if(gte(iw,ih),min(iw,640),min(iw,360))'" in graph
    # Loudness is normalised once, resampled from loudnorm's 192 kHz once, then copied.
    assert graph.count("loudnorm") == 1
    assert "[0:a:0]loudnorm=I=-16:TP=-1.5:LRA=11,aformat=sample_rates=48000" in graph
    assert ":channel_layouts=mono,asplit" in graph
    assert graph.endswith("asplit=3[a0][a1][a2]")
    video, small, audio = _outputs(argv)
    assert _options(video, "-map") == ["[v0]", "[a0]"]
    assert _options(small, "-map") == ["[v1]", "[a1]"]
    assert _options(audio, "-map") == ["[a2]"]
    for output, crf, bitrate in ((video, "23", "128k"), (small, "28", "64k")):
        assert _option(output, "-c:v") == "libx264"
        assert _option(output, "-profile:v") == "main"
        assert _option(output, "-pix_fmt") == "yuv420p"
        assert _option(output, "-preset") == "veryfast"
        assert _option(output, "-fps_mode") == "vfr"
        assert _option(output, "-crf") == crf
        assert (_option(output, "-c:a"), _option(output, "-b:a")) == ("aac", bitrate)
        assert (_option(output, "-ar"), _option(output, "-ac")) == ("48000", "1")
        assert _option(output, "-f") == "mp4"
    assert (_option(audio, "-c:a"), _option(audio, "-b:a")) == ("aac", "96k")
    assert (_option(audio, "-ar"), _option(audio, "-ac")) == ("48000", "1")
    assert _option(audio, "-f") == "ipod"  # the M4A brand
    for output in (video, small, audio):
        assert _option(output, "-movflags") == "+faststart"
        assert _option(output, "-map_metadata") == "-1"
    assert [o[-1] for o in (video, small, audio)] == [
        "file:/work/out/video.mp4",
        "file:/work/out/video_360.mp4",
        "file:/work/out/audio.m4a",
    ]


def test_encode_args_stereo_and_wider_sources_give_stereo_everywhere() -> None:
    for channels in (2, 6, None):
        argv = _encode(audio_channels=channels)
        assert ":channel_layouts=stereo," in _option(argv, "-filter_complex")
        assert [_option(o, "-ac") for o in _outputs(argv)] == ["2", "2"]


def test_encode_args_video_without_sound() -> None:
    argv = _encode(audio=None, audio_filter=None, audio_channels=None)
    assert _option(argv, "-filter_complex") == (
        "[0:v:0]scale=w='if(gte(iw,ih),min(iw,1280),min(iw,720))'"
        ":h='if(gte(iw,ih),min(ih,720),min(ih,1280))'"
        ":force_original_aspect_ratio=decrease:force_divisible_by=2:out_range=tv[v0]"
    )
    [video] = _outputs(argv)
    assert _options(video, "-map") == ["[v0]"]
    assert "-c:a" not in video


def test_encode_args_audio_only() -> None:
    argv = _encode(video=None)
    assert _option(argv, "-filter_complex") == (
        "[0:a:0]loudnorm=I=-16:TP=-1.5:LRA=11,aformat=sample_rates=48000:channel_layouts=mono[a0]"
    )
    [audio] = _outputs(argv)
    assert _options(audio, "-map") == ["[a0]"]
    assert "-c:v" not in argv


def test_encode_args_refuse_nonsense() -> None:
    with pytest.raises(ValueError):
        _encode(audio_filter=None)  # an audio file needs sound
    with pytest.raises(ValueError):
        _encode(video=None, audio=None)


def test_encode_args_cap_frame_rate_only_above_60() -> None:
    assert "fps=" not in _option(_encode(fps=60.0), "-filter_complex")
    assert "fps=" not in _option(_encode(fps=None), "-filter_complex")
    assert _option(_encode(fps=120.0), "-filter_complex").startswith("[0:v:0]fps=30,scale")


def test_encode_args_threads_only_when_set() -> None:
    assert "-threads" not in _encode(threads=0)
    assert _options(_encode(threads=2), "-threads") == ["2", "2"]


def test_small_video_args_make_360p_of_our_mp4() -> None:
    argv = ffmpeg.small_video_args(
        OUT / "video.mp4", OUT / "video_360.mp4", has_audio=True, threads=0, max_seconds=61
    )
    assert _option(argv[: argv.index("-i")], "-f") == "mp4"
    assert "min(ih,360)" in _option(argv, "-vf")
    assert (_option(argv, "-crf"), _option(argv, "-b:a")) == ("28", "64k")
    assert _options(argv, "-map") == ["0:v:0", "0:a:0"]
    mute = ffmpeg.small_video_args(
        OUT / "video.mp4", OUT / "video_360.mp4", has_audio=False, threads=0, max_seconds=61
    )
    assert _options(mute, "-map") == ["0:v:0"] and "-c:a" not in mute


def test_poster_args_take_one_frame_of_our_mp4() -> None:
    argv = ffmpeg.poster_args(OUT / "video.mp4", OUT / "poster.jpg", at_seconds=0.5)
    before_input = argv[: argv.index("-i")]
    assert _option(before_input, "-f") == "mp4"
    assert _option(before_input, "-ss") == "0.500"
    assert _option(argv, "-frames:v") == "1"
    assert _option(argv, "-q:v") == "3"
    assert _option(argv, "-update") == "1"


def test_preview_args_make_a_looping_small_webp() -> None:
    argv = ffmpeg.preview_args(OUT / "video.mp4", OUT / "preview.webp", start=1.0, seconds=3.0)
    before_input = argv[: argv.index("-i")]
    assert (_option(before_input, "-f"), _option(before_input, "-ss")) == ("mp4", "1.000")
    assert _option(before_input, "-t") == "3.000"
    assert _option(argv, "-vf") == "fps=10,scale=w='min(320,iw)':h=-2"
    assert _option(argv, "-c:v") == "libwebp_anim"
    assert (_option(argv, "-quality"), _option(argv, "-loop")) == ("60", "0")
    assert _option(argv[argv.index("-i") :], "-f") == "webp"
