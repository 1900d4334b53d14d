"""ffmpeg and ffprobe: pure builders of argv lists (workers.ffmpeg_run runs them).

Every input gets a demuxer forced from an allow-list and only local protocols: untrusted
files may name other files or URLs inside them (HLS, ffconcat).
"""

from __future__ import annotations

from pathlib import Path

from workers.analysis import SILENCE_MIN_SECONDS, SILENCE_NOISE_DB, WAVEFORM_RATE
from workers.filters import LOUDNESS, box_scale, filter_value, loudnorm_filter

FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"
PROTOCOL_WHITELIST = "file,pipe"

VIDEO_CRF = 23
VIDEO_PRESET = "veryfast"  # two cores: speed over a few percent of size
VIDEO_AUDIO_BITRATE = "128k"
SMALL_HEIGHT = 360
SMALL_CRF = 28
SMALL_AUDIO_BITRATE = "64k"
AUDIO_BITRATE = "96k"
SAMPLE_RATE = 48000
FPS_CAP_ABOVE = 60.0
FPS_CAP = 30
PREVIEW_FPS = 10
PREVIEW_WIDTH = 320
PREVIEW_QUALITY = 60
WHISPER_RATE = 16000
KEYFRAME_SECONDS = 2  # live outputs: a fragment per keyframe


def probe_args(src: Path, fmt: str) -> list[str]:
    args = [FFPROBE, "-hide_banner", "-loglevel", "error", *_input(src, fmt)]
    return [*args, "-print_format", "json", "-show_format", "-show_streams"]


def length_args(src: Path, fmt: str, *, max_seconds: float) -> list[str]:
    """Read every packet without decoding (thousands of times real time); the time reached
    comes out on stdout, as `-progress` key=value lines."""
    return [
        *_ffmpeg(),
        *_input(src, fmt, seconds=max_seconds),
        *["-map", "0:v?", "-map", "0:a?", "-c", "copy"],
        *["-progress", "pipe:1", "-f", "null", "-"],
    ]


def analysis_args(
    src: Path, fmt: str, *, pcm: Path, silences: Path, loudness: bool, max_seconds: float
) -> list[str]:
    """One decode of the first audio track into: mono PCM for the waveform (`pcm`), a
    silencedetect metadata file (`silences`) and, if `loudness`, loudnorm's measurement
    (JSON at the end of stderr, hence log level info)."""
    graph, outputs = _analysis_graph("[0:a:0]", pcm, silences, loudness=loudness)
    return [
        *_ffmpeg("info" if loudness else "error"),
        *_input(src, fmt, seconds=max_seconds),
        *["-filter_complex", graph, *outputs],
    ]


def _analysis_graph(
    source: str, pcm: Path, silences: Path, *, loudness: bool = False
) -> tuple[str, list[str]]:
    """(filter graph, output options) that split audio `source` into the analysis outputs:
    silences and loudness measured (nothing written) and PCM for the waveform."""
    # silencedetect only reads, so the loudnorm measurement can follow it in one chain.
    chain = (
        f"silencedetect=noise={SILENCE_NOISE_DB}dB:d={SILENCE_MIN_SECONDS},"
        # A file, not stderr: stderr is capped, and long recordings have many silences.
        f"ametadata=mode=print:file={filter_value(_file(silences))}"
    )
    if loudness:
        chain += f",loudnorm={LOUDNESS}:print_format=json"
    graph = f"{source}asplit=2[m][w];[m]{chain},anullsink;[w]{_mono_s16(WAVEFORM_RATE)}[pcm]"
    return graph, _pcm_output("[pcm]", pcm)


def _mono_s16(rate: int) -> str:
    # aresample first: a rate asked of one branch would otherwise be negotiated back
    # through asplit and resample everything, the encoded sound included.
    return f"aresample={rate},aformat=sample_fmts=s16:channel_layouts=mono"


def _pcm_output(label: str, path: Path) -> list[str]:
    return ["-map", label, "-c:a", "pcm_s16le", "-f", "s16le", _file(path)]


def encode_args(
    src: Path | None,
    fmt: str,
    *,
    video: Path | None,
    small_video: Path | None,
    audio: Path | None,
    audio_filter: str | None,
    audio_channels: int | None,
    height: int,
    fps: float | None,
    threads: int,
    max_seconds: float,
    fragmented: bool = False,
    analysis: tuple[Path, Path, Path | None] | None = None,
) -> list[str]:
    """One decode of `src` (None: stdin) into any of: H.264 Main + AAC-LC MP4 within a `height`p box
    (`video`), the same within 360p at a lower bitrate (`small_video`), and AAC-LC .m4a
    (`audio`). `audio_filter` (such as filters.loudnorm_filter()) runs once for all of them; None
    means the outputs have no sound. Sound is mono if `audio_channels` is 1, else stereo
    (upmixing a mono microphone would double the AAC work for nothing). Above 60 fps
    (`fps`, measured) video is capped at 30.
    """
    if audio is not None and audio_filter is None:
        raise ValueError("an audio output needs an audio filter")
    graph: list[str] = []
    videos = [
        (path, box, crf, audio_bitrate)
        for path, box, crf, audio_bitrate in (
            (video, height, VIDEO_CRF, VIDEO_AUDIO_BITRATE),
            (small_video, SMALL_HEIGHT, SMALL_CRF, SMALL_AUDIO_BITRATE),
        )
        if path is not None
    ]
    if not videos and audio is None:
        raise ValueError("no outputs")
    if videos:
        head = f"fps={FPS_CAP}," if fps is not None and fps > FPS_CAP_ABOVE else ""
        if len(videos) == 1:
            graph.append(f"[0:v:0]{head}{box_scale(videos[0][1])}[v0]")
        else:
            graph.append(f"[0:v:0]{head}split=2[s0][s1]")
            graph += [f"[s{i}]{box_scale(v[1])}[v{i}]" for i, v in enumerate(videos)]
    sound = audio_filter is not None
    channels = "1" if audio_channels == 1 else "2"
    n_audio = (len(videos) + (audio is not None)) if sound else 0
    source, extra, speech = "[0:a:0]", [], None
    if analysis is not None and n_audio:
        source = "[enc]"
        graph.append("[0:a:0]asplit=2[enc][ana]")
        pcm, silences, speech = analysis
        part, extra = _analysis_graph("[ana]", pcm, silences)
        graph.append(part)
    if n_audio:
        # loudnorm works at 192 kHz: resample once, before the copies. Naming the layout
        # also gives the encoder one, which loudnorm's output lacks.
        chain = f"{source}{audio_filter},aformat=sample_rates={SAMPLE_RATE}"
        chain += f":channel_layouts={'mono' if channels == '1' else 'stereo'}"
        # Whisper hears the normalised sound, as it hears the .m4a after the fact: its
        # features depend on the level.
        labels = [f"[a{i}]" for i in range(n_audio)] + (["[sp]"] if speech else [])
        split = f",asplit={len(labels)}" if len(labels) > 1 else ""
        graph.append(chain + split + "".join(labels))
        if speech is not None:
            graph.append(f"[sp]{_mono_s16(WHISPER_RATE)}[speech]")
            extra += _pcm_output("[speech]", speech)
    args = [*_ffmpeg(), *_input(src, fmt, seconds=max_seconds), "-filter_complex"]
    args.append(";".join(graph))
    common = _common(threads, fragmented=fragmented)
    for i, (path, _, crf, audio_bitrate) in enumerate(videos):
        args += ["-map", f"[v{i}]"]
        if sound:
            args += ["-map", f"[a{i}]", *_aac(audio_bitrate), "-ac", channels]
        keyframes = ["-force_key_frames", f"expr:gte(t,n_forced*{KEYFRAME_SECONDS})"]
        args += _h264(crf) + (keyframes if fragmented else []) + common
        args += ["-f", "mp4", _file(path)]
    if audio is not None:
        # The ipod muxer is mp4 with the M4A brand that Apple players expect for audio.
        args += ["-map", f"[a{n_audio - 1}]", *_aac(AUDIO_BITRATE), "-ac", channels]
        args += [*common, "-f", "mp4" if fragmented else "ipod", _file(audio)]
    return args + extra


def small_video_args(
    src_mp4: Path, dst: Path, *, has_audio: bool, threads: int, max_seconds: float
) -> list[str]:
    """The 360p rendition from our own MP4, when its length was only known afterwards."""
    args = [*_ffmpeg(), *_input(src_mp4, "mp4", seconds=max_seconds), "-map", "0:v:0"]
    args += ["-vf", box_scale(SMALL_HEIGHT), *_h264(SMALL_CRF)]
    if has_audio:
        args += ["-map", "0:a:0", *_aac(SMALL_AUDIO_BITRATE)]
    return args + _common(threads) + ["-f", "mp4", _file(dst)]


def live_args(
    fmt: str,
    *,
    video: Path | None,
    small_video: Path | None,
    audio: Path | None,
    pcm: Path | None,
    silences: Path | None,
    speech: Path | None,
    audio_channels: int | None,
    height: int,
    fps: float | None,
    threads: int,
    max_seconds: float,
) -> list[str]:
    """One continuous decode of a recording arriving on stdin into fragmented MP4s (each
    readable while it grows; remux_args makes the final faststart file), plus, from the
    same audio, the analysis outputs of analysis_args and 16 kHz mono PCM for Whisper
    (`speech`). Sound is normalised by loudnorm's dynamic (streaming) mode: one encode, no
    second pass at the end. Keyframes every KEYFRAME_SECONDS cut fragments of equal length.
    Progress (`out_time_us=`) comes out on stdout."""
    args = encode_args(
        None,
        fmt,
        video=video,
        small_video=small_video,
        audio=audio,
        audio_filter=loudnorm_filter() if audio is not None else None,
        audio_channels=audio_channels,
        height=height,
        fps=fps,
        threads=threads,
        max_seconds=max_seconds,
        fragmented=True,
        analysis=(pcm, silences, speech) if pcm is not None and silences is not None else None,
    )
    return [*args, "-progress", "pipe:1"]


def remux_args(src: Path, dst: Path, *, muxer: str) -> list[str]:
    """A fragmented MP4 of ours into one faststart file (`muxer` mp4 or ipod), no re-encode."""
    args = [*_ffmpeg(), *_input(src, "mp4"), "-map", "0", "-c", "copy"]
    return [*args, *_common(0), "-f", muxer, _file(dst)]


def poster_args(src_mp4: Path, dst_jpg: Path, *, at_seconds: float) -> list[str]:
    """One JPEG frame of our own transcoded MP4."""
    return [
        *_ffmpeg(),
        *_input(src_mp4, "mp4", start=at_seconds),
        *["-map", "0:v:0", "-frames:v", "1", "-q:v", "3", "-map_metadata", "-1"],
        # One file, and no %d pattern expansion of the output name.
        *["-update", "1", "-f", "image2", _file(dst_jpg)],
    ]


def preview_args(src_mp4: Path, dst_webp: Path, *, start: float, seconds: float) -> list[str]:
    """A looping animated WebP of our own MP4 for link unfurls."""
    scale = f"scale=w='min({PREVIEW_WIDTH},iw)':h=-2"
    return [
        *_ffmpeg(),
        *_input(src_mp4, "mp4", start=start, seconds=seconds),
        *["-map", "0:v:0", "-vf", f"fps={PREVIEW_FPS},{scale}", "-c:v", "libwebp_anim"],
        *["-quality", str(PREVIEW_QUALITY), "-loop", "0", "-map_metadata", "-1"],
        *["-f", "webp", _file(dst_webp)],
    ]


def _ffmpeg(level: str = "error") -> list[str]:
    return [FFMPEG, "-hide_banner", "-nostdin", "-nostats", "-loglevel", level, "-y"]


def _file(path: Path) -> str:
    # "file:" keeps a name such as "a:b.webm" from being read as protocol "a".
    return f"file:{path}"


def _input(
    src: Path | None, fmt: str, *, start: float | None = None, seconds: float | None = None
) -> list[str]:
    """Input options: forced demuxer, local protocols only; -t bounds the decode. `src`
    None reads stdin."""
    args = ["-protocol_whitelist", PROTOCOL_WHITELIST, "-f", fmt]
    if start is not None:
        args += ["-ss", f"{start:.3f}"]
    if seconds is not None:
        args += ["-t", f"{seconds:.3f}"]
    return [*args, "-i", "pipe:0" if src is None else _file(src)]


def _h264(crf: int) -> list[str]:
    return [
        *["-c:v", "libx264", "-profile:v", "main", "-preset", VIDEO_PRESET],
        *["-crf", str(crf), "-pix_fmt", "yuv420p"],
        # Recorder WebM is variable frame rate with a 1 ms time base; the default (cfr for
        # mp4) would duplicate frames to fill every tick.
        *["-fps_mode", "vfr"],
    ]


def _aac(bitrate: str) -> list[str]:
    return ["-c:a", "aac", "-b:a", bitrate, "-ar", str(SAMPLE_RATE)]


def _common(threads: int, *, fragmented: bool = False) -> list[str]:
    # delay_moov: the header waits for the first fragment, so it can hold the edit lists that
    # keep sound and picture in sync (B-frame delay, AAC priming).
    flags = "+frag_keyframe+delay_moov+default_base_moof" if fragmented else "+faststart"
    args = ["-map_metadata", "-1", "-movflags", flags]
    # Phone recordings can start one stream well before the other; the default queue of
    # 128 packets then aborts the run.
    args += ["-max_muxing_queue_size", "4096"]
    return args + (["-threads", str(threads)] if threads > 0 else [])
