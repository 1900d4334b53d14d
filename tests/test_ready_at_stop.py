"""Ready at stop: a recording uploaded as the browser recorder sends it (deferred length, a
PATCH per piece) is transcoded and transcribed while it arrives, on SQLite and PostgreSQL
with the local store; and every pitfall of doing so ends as cleanly as the after-the-fact
path would."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select

from relay.context import Services
from relay.enums import JobState
from relay.models import Job, Upload
from relay.settings import JobSettings, MediaSettings, Settings
from relay.web.app import create_app
from tests.conftest import Person, add_person, fresh_sqlite, run_apart
from tests.conftest import _truncate as truncate_pg
from tests.support.media import make_webm
from tests.support.speech import make_passage, word_error_rate
from tests.support.transcode import ffprobe, streams
from tests.test_loudness import TARGET, TOLERANCE, loudness
from workers import live_job, runner

TUS = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"}
SENTENCES = [
    "Please review the budget before Friday.",
    "The design team will present the new upload flow tomorrow morning.",
    "We moved the weekly meeting to Thursday afternoon.",
    "Remember to record a short update for the customers in Amsterdam.",
]


@dataclass
class Live:
    client: httpx.AsyncClient
    services: Services
    author: Person
    base: str = "http://relay.test"
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    workers: asyncio.Task[None] | None = None

    def start_workers(self) -> None:
        """One worker process's loops: one for jobs, two for live jobs."""
        self.stop = asyncio.Event()
        self.workers = asyncio.create_task(runner.run_workers(self.services, 1, stop=self.stop))

    async def stop_workers(self) -> None:
        """As on SIGTERM: running jobs are handed back."""
        runner.stop_workers(self.services, self.stop)
        assert self.workers is not None
        await asyncio.wait_for(self.workers, 30)

    async def new(self, kind: str = "video") -> dict:
        created = await self.client.post(
            "/api/messages", json={"kind": kind}, headers=self.author.headers
        )
        assert created.status_code == 201, created.text
        return created.json()

    async def send(
        self,
        message: dict,
        data: bytes,
        *,
        pieces: int,
        pause: float,
        start: int = 0,
        stop: int | None = None,
        final: bool = True,
    ) -> float:
        """PATCH data[start:stop] in `pieces`, `pause` apart, like a recorder; the last one
        says the length when `final`. Returns when the last response came."""
        stop = len(data) if stop is None else stop
        bounds = np.linspace(start, stop, pieces + 1).astype(int)
        for i, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False)):
            headers = {**self.author.headers, **TUS, "Upload-Offset": str(a)}
            if final and i == pieces - 1:
                headers["Upload-Length"] = str(len(data))
            answer = await self.client.patch(
                message["upload_url"], content=data[a:b], headers=headers
            )
            assert answer.status_code == 204, answer.text
            if i < pieces - 1:
                await asyncio.sleep(pause)
        return time.perf_counter()

    async def upload_whole(self, data: bytes) -> dict:
        """A file of known length, in one request: the after-the-fact path; once settled."""
        headers = {**self.author.headers, **TUS, "Upload-Length": str(len(data))}
        created = await self.client.post("/api/uploads/", content=data, headers=headers)
        assert created.status_code == 201, created.text
        upload_id = created.headers["Location"].rsplit("/", 1)[1]
        async with self.services.sessions.begin() as session:
            message_id = (await session.get(Upload, upload_id)).message_id
        return await self.settled({"id": message_id})

    async def settled(self, message: dict, *, seconds: float = 60) -> dict:
        """The message once it is ready or failed."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            body = await self.get(message)
            if body["status"] in ("ready", "failed"):
                return body
            await asyncio.sleep(0.05)
        raise AssertionError(f"still {body['status']} after {seconds} s")

    async def transcribed(self, message: dict, *, seconds: float = 90) -> dict:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            body = await self.get(message)
            if body["transcript"] and body["transcript"]["status"] not in ("pending", "running"):
                return body
            await asyncio.sleep(0.1)
        raise AssertionError("the transcript did not settle")

    async def get(self, message: dict, path: str = "") -> dict:
        url = f"/api/messages/{message['id']}{path}"
        answer = await self.client.get(url, headers=self.author.headers)
        assert answer.status_code == 200
        return answer.json()

    async def jobs(self, message: dict) -> dict[str, list[JobState]]:
        async with self.services.sessions.begin() as session:
            rows = await session.execute(
                select(Job.kind, Job.state).where(Job.message_id == message["id"]).order_by(Job.id)
            )
        found: dict[str, list[JobState]] = {}
        for kind, state in rows:
            found.setdefault(kind, []).append(state)
        return found

    async def fetch(self, rendition: dict, path: Path) -> Path:
        answer = await self.client.get(rendition["url"], headers=self.author.headers)
        assert answer.status_code == 200
        path.write_bytes(answer.content)
        return path


def _settings(request: pytest.FixtureRequest, tmp_path: Path, **media: float) -> Settings:
    base = Settings(
        data_dir=tmp_path / "var",
        media_dir=tmp_path / "var" / "media",
        spool_dir=tmp_path / "var" / "spool",
        workers=0,
        jobs=JobSettings(lease_seconds=5, retry_base_seconds=0.2, poll_seconds=0.1, live=2),
        media=MediaSettings(ffmpeg_nice=0, **media),  # type: ignore[arg-type]
        allowed_hosts=("relay.test",),
    )
    if request.param == "sqlite":
        return base.replace(
            database_url=fresh_sqlite(request.getfixturevalue("sqlite_template"), tmp_path)
        )
    url = request.getfixturevalue("pg_url")
    run_apart(truncate_pg(url))
    return base.replace(database_url=url)


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Live]:
    """The app and a worker process's loops."""
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        services: Services = manager._state["relay"]
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url=Live.base) as client:
            live = Live(client, services, await add_person(services, "rec@example.org"))
            live.start_workers()
            try:
                yield live
            finally:
                await live.stop_workers()


# What is heard does not depend on the database: these run on SQLite only.
SOUND_ONLY = pytest.mark.parametrize("live", ["sqlite"], indirect=True)


@pytest.fixture(params=["sqlite", "postgres"])
async def live(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Live]:
    async with running(_settings(request, tmp_path)) as world:
        yield world


OPUS = ("-c:a", "libopus", "-b:a", "48k", "-live", "1", "-f", "webm")  # as a recorder sends


def ffmpeg(*args: str) -> bytes:
    return subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", *args], capture_output=True, check=True
    ).stdout


async def until(check: Callable[[], Awaitable[bool]], seconds: float) -> bool:
    """Whether `check` comes true within `seconds`."""
    deadline = time.monotonic() + seconds
    while not (done := await check()):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    return done


def _ffmpeg_children() -> list[str]:
    found = subprocess.run(["pgrep", "-a", "-f", "ffmpeg.*pipe:0"], capture_output=True, text=True)
    return found.stdout.splitlines()


def _spool(live: Live) -> list[str]:
    folder = live.services.settings.spool_dir
    return sorted(p.name for p in folder.glob("live-*")) if folder.exists() else []


def _start(data: dict) -> dict[str, float]:
    return {s["codec_type"]: float(s.get("start_time", 0)) for s in data["streams"]}


async def test_a_recorder_webm_is_ready_at_stop_as_today_s_renditions(
    live: Live, tmp_path: Path
) -> None:
    # MediaRecorder-like: no duration, no cues, frames unevenly spaced (r_frame_rate 1000/1).
    data = make_webm(tmp_path / "rec.webm", seconds=12, size="640x480", vfr=True).read_bytes()
    message = await live.new()
    last_byte = await live.send(message, data, pieces=24, pause=0.4)  # pieces cut mid-cluster
    body = await live.settled(message)
    waited = time.perf_counter() - last_byte
    assert body["status"] == "ready", body
    assert waited < 4.0, f"ready {waited:.1f} s after the last byte"
    names = {r["name"]: r for r in body["renditions"]}
    assert {"video", "audio", "poster", "preview", "waveform", "silences"} <= names.keys()
    assert "video_360" not in names  # under a minute: none, as after the fact
    video = ffprobe(await live.fetch(names["video"], tmp_path / "video.mp4"))
    [v], [a] = streams(video, "video"), streams(video, "audio")
    assert (v["codec_name"], a["codec_name"]) == ("h264", "aac")
    assert abs(float(video["format"]["duration"]) - 12) <= 0.1
    starts = _start(video)
    assert abs(starts["video"] - starts["audio"]) <= 0.040, starts  # in sync
    assert body["duration"] == pytest.approx(12, abs=0.1)
    poster = await live.client.get(names["poster"]["url"], headers=live.author.headers)
    assert poster.content[:3] == b"\xff\xd8\xff"
    await live.transcribed(message)
    assert await live.jobs(message) == {"live": [JobState.done]}  # heard while it arrived
    assert not _spool(live) and not _ffmpeg_children()


@SOUND_ONLY
async def test_one_continuous_audio_encode_has_no_click_at_any_piece(
    live: Live, tmp_path: Path
) -> None:
    sine = tmp_path / "sine.webm"
    ffmpeg(*("-f", "lavfi", "-i", "sine=f=440:r=48000:d=10", "-af", "volume=0.3"), *OPUS, str(sine))
    message = await live.new("audio")
    await live.send(message, sine.read_bytes(), pieces=20, pause=0.2)
    body = await live.settled(message)
    assert body["status"] == "ready", body
    audio = next(r for r in body["renditions"] if r["name"] == "audio")
    m4a = await live.fetch(audio, tmp_path / "audio.m4a")
    pcm = ffmpeg("-i", str(m4a), "-f", "f32le", "-ac", "1", "-")
    samples = np.frombuffer(pcm, dtype="<f4")
    # After loudnorm's look-ahead settles, a 440 Hz sine moves at most 2π·440/48000 of its
    # amplitude per sample; a join of separately encoded pieces jumps far more.
    steady = samples[4 * 48000 : 9 * 48000]
    amplitude = np.abs(steady).max()
    assert amplitude > 0.05
    assert np.abs(np.diff(steady)).max() <= 1.3 * 2 * np.pi * 440 / 48000 * amplitude
    assert len(samples) / 48000 == pytest.approx(10, abs=0.1)


@SOUND_ONLY
async def test_speech_is_transcribed_while_it_arrives(live: Live, tmp_path: Path) -> None:
    wav = make_passage(tmp_path / "talk.wav", SENTENCES * 3, pause=1.0)
    voice = tmp_path / "talk.webm"
    ffmpeg("-i", str(wav), "-af", "volume=-18dB", *OPUS, str(voice))  # a quiet microphone
    message = await live.new("audio")
    last_byte = await live.send(message, voice.read_bytes(), pieces=30, pause=0.5)
    body = await live.transcribed(message)
    waited = time.perf_counter() - last_byte
    assert body["transcript"]["status"] == "done", body["transcript"]
    text = body["transcript"]["text"].lower()
    assert waited < 12, f"transcript {waited:.1f} s after the last byte"
    assert text.count("budget before friday") == 3, text  # no piece lost or heard twice
    # Heard as well as after the fact (Whisper base, greedy for English, on espeak-ng).
    today = await live.transcribed(await live.upload_whole(voice.read_bytes()))
    truth = " ".join(SENTENCES * 3)
    errors = word_error_rate(truth, text)
    assert errors <= word_error_rate(truth, today["transcript"]["text"]) + 0.05, text
    assert errors <= 0.25, text
    assert body["title"].startswith("Please review")
    audio = next(r for r in body["renditions"] if r["name"] == "audio")
    integrated, _ = loudness(await live.fetch(audio, tmp_path / "audio.m4a"))
    assert integrated == pytest.approx(TARGET, abs=TOLERANCE)  # as after the fact
    transcript = await live.get(message, "/transcript")
    starts = [s["start"] for s in transcript["segments"]]
    assert starts == sorted(starts) and starts[-1] > body["duration"] * 0.7
    assert await live.jobs(message) == {"live": [JobState.done]}  # no transcription job


async def test_a_network_drop_resumes_into_the_same_live_run(live: Live, tmp_path: Path) -> None:
    # A body cut off mid-way over real HTTP is tests/test_e2e.py's; here the recorder is gone
    # for a while (shorter than IDLE_SECONDS), asks where it was and goes on.
    data = make_webm(tmp_path / "rec.webm", seconds=6).read_bytes()
    message = await live.new()
    half = len(data) // 2
    await live.send(message, data, pieces=6, pause=0.2, stop=half, final=False)
    await asyncio.sleep(2.0)
    head = await live.client.head(message["upload_url"], headers={**live.author.headers, **TUS})
    assert int(head.headers["Upload-Offset"]) == half
    await live.send(message, data, pieces=4, pause=0.2, start=half)
    body = await live.settled(message)
    assert body["status"] == "ready" and body["duration"] == pytest.approx(6, abs=0.1)
    await live.transcribed(message)
    assert await live.jobs(message) == {"live": [JobState.done]}


async def test_a_worker_stopped_mid_recording_hands_it_to_the_next(
    live: Live, tmp_path: Path
) -> None:
    data = make_webm(tmp_path / "rec.webm", seconds=8).read_bytes()
    message = await live.new()
    await live.send(message, data, pieces=5, pause=0.3, stop=len(data) // 2, final=False)

    async def following() -> bool:
        return (await live.jobs(message))["live"] == [JobState.running]

    assert await until(following, 10)
    await live.stop_workers()  # SIGTERM: its ffmpeg is killed, the job handed back at once
    assert (await live.jobs(message))["live"] == [JobState.queued]
    assert not _spool(live) and not _ffmpeg_children()
    live.start_workers()  # the next worker starts over from the first byte
    await live.send(message, data, pieces=5, pause=0.3, start=len(data) // 2)
    body = await live.settled(message)
    assert body["status"] == "ready" and body["duration"] == pytest.approx(8, abs=0.1)
    await live.transcribed(message)
    assert await live.jobs(message) == {"live": [JobState.done]}


async def test_an_abandoned_upload_stops_its_work_and_the_media_job_takes_over(
    live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_job, "IDLE_SECONDS", 1.5)
    data = make_webm(tmp_path / "rec.webm", seconds=8).read_bytes()
    message = await live.new()
    await live.send(message, data, pieces=4, pause=0.2, stop=len(data) // 2, final=False)

    async def handed_over() -> bool:
        return (await live.jobs(message))["live"] == [JobState.done]

    assert await until(handed_over, 15)
    assert not _spool(live) and not _ffmpeg_children()  # its ffmpeg and files are gone
    assert (await live.get(message))["status"] == "uploading"
    # The recorder comes back much later: nothing is lost, the after-the-fact path makes it.
    await live.send(message, data, pieces=2, pause=0.1, start=len(data) // 2)
    body = await live.settled(message)
    assert body["status"] == "ready" and body["duration"] == pytest.approx(8, abs=0.15)
    assert (await live.jobs(message))["media"] == [JobState.done]


async def test_a_deleted_recording_stops_its_live_work_at_once(live: Live, tmp_path: Path) -> None:
    data = make_webm(tmp_path / "rec.webm", seconds=8).read_bytes()
    message = await live.new()
    await live.send(message, data, pieces=4, pause=0.3, stop=len(data) // 2, final=False)
    deleted = await live.client.delete(
        f"/api/messages/{message['id']}", headers=live.author.headers
    )
    assert deleted.status_code == 204

    async def stopped() -> bool:
        return not _spool(live) and not _ffmpeg_children()

    assert await until(stopped, 5)


@pytest.fixture(params=["sqlite"])
async def short_live(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Live]:
    async with running(_settings(request, tmp_path, max_duration_seconds=4)) as world:
        yield world


async def test_a_recording_over_the_limit_fails_while_it_is_still_arriving(
    short_live: Live, tmp_path: Path
) -> None:
    data = make_webm(tmp_path / "long.webm", seconds=10).read_bytes()
    message = await short_live.new()
    stop = int(len(data) * 0.8)
    await short_live.send(message, data, pieces=8, pause=0.3, stop=stop, final=False)
    body = await short_live.settled(message, seconds=10)
    assert body["status"] == "failed"
    assert "longer than the maximum of 4 seconds" in body["error"]
    # The recorder learns at its next PATCH; nothing more is taken.
    headers = {**short_live.author.headers, **TUS, "Upload-Offset": str(stop)}
    rest = await short_live.client.patch(
        message["upload_url"], content=data[stop:], headers=headers
    )
    assert rest.status_code == 410 and "longer than the maximum" in rest.json()["detail"]
    assert not _spool(short_live) and not _ffmpeg_children()


async def test_garbage_after_a_good_start_ends_as_after_the_fact(
    live: Live, tmp_path: Path
) -> None:
    good = make_webm(tmp_path / "rec.webm", seconds=4).read_bytes()
    data = good[: len(good) // 2] + bytes(range(256)) * 400
    message = await live.new()
    await live.send(message, data, pieces=6, pause=0.2)
    body = await live.settled(message)
    today = await live.upload_whole(data)
    assert body["status"] == today["status"], (body, today)
    if today["status"] == "ready":  # plays as far as it goes
        assert body["duration"] == pytest.approx(today["duration"], abs=0.1)
    else:
        assert body["error"] == today["error"]


async def test_long_uploads_at_once_are_bounded_and_other_work_goes_on(
    live: Live, tmp_path: Path
) -> None:
    data = make_webm(tmp_path / "rec.webm", seconds=5).read_bytes()
    recordings = [await live.new() for _ in range(3)]  # two live slots
    file = make_webm(tmp_path / "file.webm", seconds=2).read_bytes()

    async def upload_a_file() -> dict:
        # A file of known length meanwhile: the after-the-fact path, not queued behind.
        body = await live.upload_whole(file)
        jobs = await live.jobs(body)
        assert jobs["media"] == [JobState.done] and "live" not in jobs
        return body

    sending = [live.send(m, data, pieces=10, pause=0.4) for m in recordings]
    *_, filed = await asyncio.gather(*sending, upload_a_file())
    assert filed["status"] == "ready"
    bodies = [await live.settled(m) for m in recordings]
    assert all(
        b["status"] == "ready" and b["duration"] == pytest.approx(5, abs=0.1) for b in bodies
    )
    kinds = [await live.jobs(m) for m in recordings]
    assert sum("media" in k for k in kinds) == 1, kinds  # the third waited: after the fact
