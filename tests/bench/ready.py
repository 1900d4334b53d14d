"""Upload finished → message `ready`, next to the bare ffmpeg commands a person would run by
hand for the same outputs.

The bare side runs plain, separate commands one after another, as in a shell: loudnorm's
measurement pass, video.mp4, video_360.mp4 (when the pipeline makes one: 60 s or longer and
really smaller), audio.m4a with the measured loudness, poster.jpg and preview.webp from
video.mp4, silencedetect, and the waveform's PCM. It uses the pipeline's encoder settings
(workers.ffmpeg, workers.filters, workers.analysis) so both sides make the same files; the
pipeline's JSON documents (waveform peaks, silences) are left to it. Probing the upload is
timed apart, since the commands are written from what the probe says.

`relay serve` queues a transcription job once a message is `ready`. It is not timed; but
with one embedded worker it would occupy the worker and the CPU during the next timed run,
so each run starts only once the previous message's transcript has settled.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.bench.core import (
    Stack,
    client,
    file_message,
    log,
    new_message,
    running,
    upload_file,
)
from tests.support.speech import make_passage
from workers import ffmpeg
from workers.analysis import SILENCE_MIN_SECONDS, SILENCE_NOISE_DB, WAVEFORM_RATE, parse_loudnorm
from workers.filters import LOUDNESS, box_scale, filter_value
from workers.probe import MediaInfo, parse_probe, sniff_format
from workers.renditions import (
    PREVIEW_SECONDS,
    TWO_PASS_MAX_SECONDS,
    loudness_filter,
    preview_start,
    wants_data_saver,
)

RATIO_TARGET = 1.15
# ready seconds / recording seconds
FRACTION_GOALS = {"video": 0.25, "voice": 0.05}
ROUNDS = 2
POLL_SECONDS = 0.05
SETTLE_TIMEOUT = 900.0  # for a transcript to leave pending/running
# As make_renditions and MediaSettings' defaults have them.
HEIGHT = 720
THREADS = 0

# The voice recording: espeak-ng sentences with pauses, looped to length, as Opus in Ogg
# at 48 kHz mono, what a phone or browser voice recorder sends.
VOICE_SENTENCES = [
    "Please review the budget before Friday.",
    "The design team will present the new upload flow tomorrow morning.",
    "We moved the weekly meeting to Thursday afternoon because half of the team is away.",
    "Remember to record a short update for the customers in Amsterdam.",
]
VOICE_PAUSE = 1.0  # longer than silencedetect's minimum, so there are silences to find
VOICE_BITRATE = "32k"

# Rendition name → file the bare commands write.
BARE_FILES = {
    "video": "video.mp4",
    "video_360": "video_360.mp4",
    "audio": "audio.m4a",
    "poster": "poster.jpg",
    "preview": "preview.webp",
    "silences": "silences.txt",
    "waveform": "waveform.pcm",
}


def _ffmpeg(level: str = "error") -> list[str]:
    return ["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", level, "-y"]


_FFMPEG = _ffmpeg()


def make_voice(path: Path, seconds: float) -> Path:
    """A `seconds` long voice message: VOICE_SENTENCES looped, Opus in Ogg."""
    with tempfile.TemporaryDirectory(prefix="relay-bench-voice-") as name:
        wav = make_passage(Path(name) / "speech.wav", VOICE_SENTENCES, pause=VOICE_PAUSE)
        argv = [*_FFMPEG, "-stream_loop", "-1", "-i", str(wav), "-t", f"{seconds:.3f}"]
        argv += ["-ac", "1", "-ar", "48000", "-c:a", "libopus", "-b:a", VOICE_BITRATE]
        _run([*argv, "-f", "ogg", str(path)], timeout=120)
    return path


# Bare ffmpeg -------------------------------------------------------------------------------


def _run(argv: list[str], timeout: float) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        tail = result.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"{argv[0]} exited {result.returncode}:\n{tail}")
    return result


@dataclass(frozen=True)
class Source:
    path: Path
    fmt: str
    info: MediaInfo
    duration: float  # as recorded: recorder WebM has none in its header
    probe_seconds: float

    def describe(self) -> str:
        info, parts = self.info, []
        if info.video is not None:
            fps = f" {info.video.fps:g} fps" if info.video.fps else ""
            parts.append(f"{info.video.codec} {info.video.width}x{info.video.height}{fps}")
        if info.audio is not None:
            parts.append(f"{info.audio.codec} {info.audio.channels} ch {info.audio.sample_rate} Hz")
        size = self.path.stat().st_size
        return f"{self.path.name}: {size} bytes, {self.duration:g} s, {' + '.join(parts)}"


def probe_source(src: Path, duration: float) -> Source:
    with src.open("rb") as f:
        fmt = sniff_format(f.read(64))
    if fmt is None:
        raise RuntimeError(f"{src} is not a recognised format")
    start = time.perf_counter()
    info = parse_probe(json.loads(_run(ffmpeg.probe_args(src, fmt), timeout=60).stdout))
    probe_seconds = time.perf_counter() - start
    if info.audio is None:
        raise RuntimeError(f"{src} needs sound: {info}")
    return Source(src, fmt, info, duration, probe_seconds)


def bare_outputs(src: Source) -> list[str]:
    """Rendition names the pipeline makes for `src`, in its order."""
    names = []
    if src.info.video is not None:
        names.append("video")
        if wants_data_saver(src.info.display_size, src.duration, HEIGHT):
            names.append("video_360")
    names.append("audio")
    if src.info.video is not None:
        names += ["poster", "preview"]
    return [*names, "waveform", "silences"]


def loudness_args(src: Source) -> list[str]:
    """loudnorm's first pass: its JSON measurement comes at the end of stderr."""
    return [
        *_ffmpeg("info"),
        *_input(src),
        *["-map", "0:a:0", "-af", f"loudnorm={LOUDNESS}:print_format=json", "-f", "null", "-"],
    ]


def output_args(src: Source, out: Path, audio_filter: str) -> list[tuple[str, list[str]]]:
    """(rendition name, argv) for each file, in the order they are run."""
    info, wanted = src.info, bare_outputs(src)
    channels = "1" if info.audio is not None and info.audio.channels == 1 else "2"
    sound = ["-af", audio_filter, "-ar", str(ffmpeg.SAMPLE_RATE), "-ac", channels]
    mp4 = ["-map_metadata", "-1", "-movflags", "+faststart"]
    if THREADS:
        mp4 += ["-threads", str(THREADS)]
    fps_cap = ""
    if info.video is not None and (info.video.fps or 0) > ffmpeg.FPS_CAP_ABOVE:
        fps_cap = f"fps={ffmpeg.FPS_CAP},"
    video = out / BARE_FILES["video"]
    commands: list[tuple[str, list[str]]] = []

    def encode(name: str, height: int, crf: int, audio_bitrate: str) -> None:
        argv = [*_FFMPEG, *_input(src), "-map", "0:v:0", "-map", "0:a:0"]
        argv += ["-vf", fps_cap + box_scale(height), "-c:v", "libx264", "-profile:v", "main"]
        argv += ["-preset", ffmpeg.VIDEO_PRESET, "-crf", str(crf), "-pix_fmt", "yuv420p"]
        argv += ["-fps_mode", "vfr", *sound, "-c:a", "aac", "-b:a", audio_bitrate, *mp4]
        commands.append((name, [*argv, str(out / BARE_FILES[name])]))

    if "video" in wanted:
        encode("video", HEIGHT, ffmpeg.VIDEO_CRF, ffmpeg.VIDEO_AUDIO_BITRATE)
    if "video_360" in wanted:
        encode("video_360", ffmpeg.SMALL_HEIGHT, ffmpeg.SMALL_CRF, ffmpeg.SMALL_AUDIO_BITRATE)
    argv = [*_FFMPEG, *_input(src), "-map", "0:a:0", *sound]
    argv += ["-c:a", "aac", "-b:a", ffmpeg.AUDIO_BITRATE, *mp4, "-f", "ipod"]
    commands.append(("audio", [*argv, str(out / BARE_FILES["audio"])]))
    if "poster" in wanted:
        argv = [*_FFMPEG, "-ss", f"{min(1.0, src.duration / 2):.3f}", "-f", "mp4"]
        argv += ["-i", str(video), "-frames:v", "1", "-q:v", "3", "-update", "1"]
        commands.append(("poster", [*argv, str(out / BARE_FILES["poster"])]))
    if "preview" in wanted:
        scale = f"scale=w='min({ffmpeg.PREVIEW_WIDTH},iw)':h=-2"
        argv = [*_FFMPEG, "-ss", f"{preview_start(src.duration):.3f}"]
        argv += ["-t", f"{PREVIEW_SECONDS:.3f}", "-f", "mp4", "-i", str(video)]
        argv += ["-vf", f"fps={ffmpeg.PREVIEW_FPS},{scale}", "-c:v", "libwebp_anim"]
        argv += ["-quality", str(ffmpeg.PREVIEW_QUALITY), "-loop", "0"]
        commands.append(("preview", [*argv, str(out / BARE_FILES["preview"])]))
    marks = filter_value(str(out / BARE_FILES["silences"]))
    detect = f"silencedetect=noise={SILENCE_NOISE_DB}dB:d={SILENCE_MIN_SECONDS}"
    argv = [*_FFMPEG, *_input(src), "-map", "0:a:0"]
    argv += ["-af", f"{detect},ametadata=mode=print:file={marks}", "-f", "null", "-"]
    commands.append(("silences", argv))
    argv = [*_FFMPEG, *_input(src), "-map", "0:a:0", "-ac", "1", "-ar", str(WAVEFORM_RATE)]
    argv += ["-c:a", "pcm_s16le", "-f", "s16le", str(out / BARE_FILES["waveform"])]
    commands.append(("waveform", argv))
    return commands


def _input(src: Source) -> list[str]:
    return ["-f", src.fmt, "-i", str(src.path)]


@dataclass(frozen=True)
class BareRun:
    seconds: float
    by_command: dict[str, float]
    commands: list[list[str]]


def bare_once(src: Source, out: Path) -> BareRun:
    """The commands in a row, each waiting for the one before; audio.m4a needs the
    measurement, poster and preview need video.mp4."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    by_command: dict[str, float] = {}
    commands: list[list[str]] = []

    def step(name: str, argv: list[str]) -> str:
        commands.append(argv)
        begun = time.perf_counter()
        stderr = _run(argv, timeout=120 + 10 * src.duration).stderr
        by_command[name] = time.perf_counter() - begun
        return stderr.decode(errors="replace")

    start = time.perf_counter()
    two_pass = src.duration < TWO_PASS_MAX_SECONDS
    measurement = parse_loudnorm(step("loudness", loudness_args(src))) if two_pass else None
    audio_filter = loudness_filter(src.duration, measurement, measured=two_pass)
    for name, argv in output_args(src, out, audio_filter):
        step(name, argv)
    seconds = time.perf_counter() - start
    # No silences, no lines: that file may be empty.
    wrote = [n for n in bare_outputs(src) if n == "silences" or _size(out / BARE_FILES[n])]
    missing = [n for n in bare_outputs(src) if n not in wrote]
    if missing:
        raise RuntimeError(f"bare ffmpeg wrote nothing for {', '.join(missing)}")
    return BareRun(seconds, by_command, commands)


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


# relay serve -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RelayRun:
    seconds: float
    message: dict


def relay_once(http: httpx.Client, src: Path, kind: str, timeout: float) -> RelayRun:
    """Upload as a file of known length in one PATCH (today's after-the-fact path); seconds
    from its response until the message reads `ready`."""
    message, url = file_message(http, src, kind=kind)
    upload_file(http, url, src, patches=1, deferred=False)
    done = time.perf_counter()
    deadline = done + timeout
    while time.perf_counter() < deadline:
        body = http.get(f"/api/messages/{message['id']}").json()
        if body["status"] == "ready":
            return RelayRun(time.perf_counter() - done, body)
        if body["status"] == "failed":
            raise RuntimeError(f"message failed: {body.get('error')}")
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"message still {body['status']} after {timeout:.0f} s")


def settle(http: httpx.Client, message_id: str) -> tuple[float, str | None]:
    """Wait (untimed) until the message's transcript is neither pending nor running; the
    seconds that took and where it ended."""
    start = time.perf_counter()
    status: str | None = None
    while time.perf_counter() - start < SETTLE_TIMEOUT:
        transcript = http.get(f"/api/messages/{message_id}").json().get("transcript")
        status = transcript["status"] if transcript else None
        if status not in ("pending", "running"):
            break
        time.sleep(0.2)
    else:
        log(f"transcript of {message_id} still {status} after {SETTLE_TIMEOUT:.0f} s")
    return time.perf_counter() - start, status


# The comparison ----------------------------------------------------------------------------


def measure(
    stack: Stack, tmp: Path, src: Path, duration: float, kind: str = "video"
) -> dict[str, object]:
    """ROUNDS of each side against one `relay serve` with one embedded worker; the order
    alternates (relay first, then bare first) and the faster run of each side counts.

    `kind` is "video" or "voice"; `duration` is what the recording was made with.
    """
    source = probe_source(src, duration)
    out = tmp / f"bare-{kind}"
    relay_runs: list[RelayRun] = []
    bare_runs: list[BareRun] = []
    settled: list[tuple[float, str | None]] = []
    serve_log = tmp / f"serve-ready-{kind}-{stack.name}.log"
    with (
        running(stack, serve_log, RELAY_WORKERS="1") as (_, base),
        client(base, stack.token) as http,
    ):
        new_message(http)  # warm up

        def relay_side() -> None:
            message_kind = "video" if kind == "video" else "audio"
            run = relay_once(http, src, message_kind, timeout=120 + 10 * duration)
            relay_runs.append(run)
            log(f"{stack.name} {kind}: ready after {run.seconds:.2f} s")
            # Untimed: the transcription job must not share the next timed run.
            settled.append(settle(http, run.message["id"]))
            log(f"{kind}: transcript {settled[-1][1]} after {settled[-1][0]:.2f} s more")

        def bare_side() -> None:
            bare_runs.append(bare_once(source, out))
            log(f"bare ffmpeg {kind}: {bare_runs[-1].seconds:.2f} s")

        for index in range(ROUNDS):
            order: tuple[Callable[[], None], ...] = (
                (relay_side, bare_side) if index % 2 == 0 else (bare_side, relay_side)
            )
            for side in order:
                side()
    shutil.rmtree(out, ignore_errors=True)

    best_relay = min(relay_runs, key=lambda r: r.seconds)
    best_bare = min(bare_runs, key=lambda r: r.seconds)
    ready, bare = best_relay.seconds, best_bare.seconds
    relay_outputs = [r["name"] for r in best_relay.message["renditions"]]
    goal = FRACTION_GOALS[kind]
    if sorted(relay_outputs) != sorted(bare_outputs(source)):
        log(f"{kind}: relay made {relay_outputs}, bare ffmpeg {bare_outputs(source)}")
    return {
        "stack": stack.name,
        "input": kind,
        "source": source.describe(),
        "rounds": ROUNDS,
        "poll_seconds": POLL_SECONDS,
        "relay_env": {k: v for k, v in stack.env.items() if k.startswith("RELAY_JOB")}
        | {"RELAY_WORKERS": "1"},
        "outputs": relay_outputs,
        "outputs_match": sorted(relay_outputs) == sorted(bare_outputs(source)),
        "ready_seconds": round(ready, 3),
        "ready_seconds_runs": [round(r.seconds, 3) for r in relay_runs],
        "bare_ffmpeg_seconds": round(bare, 3),
        "bare_ffmpeg_seconds_runs": [round(r.seconds, 3) for r in bare_runs],
        "bare_ffmpeg_seconds_by_command": {
            name: round(s, 3) for name, s in best_bare.by_command.items()
        },
        "bare_ffmpeg_commands": [shlex.join(argv) for argv in best_bare.commands],
        "bare_probe_seconds_excluded": round(source.probe_seconds, 3),
        "ratio": round(ready / bare, 3),
        "ratio_target": RATIO_TARGET,
        "ratio_ok": ready / bare <= RATIO_TARGET,
        "ready_fraction_of_duration": round(ready / duration, 3),
        "ready_fraction_goal": goal,
        "ready_fraction_ok": ready / duration <= goal,
        # After each relay run, before the next timed run; not part of any timing.
        "transcript_wait_seconds_untimed": [round(s, 2) for s, _ in settled],
        "transcript_status_after_wait": [status for _, status in settled],
    }
