"""Transcription end to end in-process on both stacks: upload → media job → transcribe job →
transcript, captions, title and search; corrections; failures never fail the message."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from relay.settings import Settings, WhisperSettings
from relay.webvtt import parse_vtt
from tests.conftest import Person, World
from tests.support.server import TUS
from tests.support.speech import make_passage, make_silence, wav_seconds, word_error_rate
from workers.context import Context
from workers.runner import Worker, default_handlers

FIRST = "Please review the budget before Friday."
SECOND = "The design team will present the new upload flow tomorrow morning."
PAUSE = 2.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """tiny.en: three times faster than the default base, and English-only (tested below)."""
    return settings.replace(whisper=WhisperSettings(model="tiny.en"))


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """Two sentences with a pause; returns the file and when the second one starts."""
    folder = tmp_path_factory.mktemp("speech")
    first = make_passage(folder / "first.wav", [FIRST], pause=PAUSE)
    both = make_passage(folder / "both.wav", [FIRST, SECOND], pause=PAUSE)
    return both, wav_seconds(first)


async def send(world: World, person: Person, path: Path, **body: str) -> str:
    """Create a message and upload the file through tus; returns the message id."""
    created = await world.client.post(
        "/api/messages", json={"kind": "audio", **body}, headers=person.headers
    )
    assert created.status_code == 201, created.text
    data = path.read_bytes()
    headers = {
        **person.headers,
        **TUS,
        "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": "0",
        "Upload-Length": str(len(data)),
    }
    response = await world.client.patch(created.json()["upload_url"], content=data, headers=headers)
    assert response.status_code == 204, response.text
    return created.json()["id"]


async def work(world: World) -> None:
    await Worker(Context(world.services, asyncio.Semaphore(1)), default_handlers()).run(burst=True)


async def get(world: World, path: str, person: Person | None = None) -> dict:
    person = person or world.author
    response = await world.client.get(path, headers=person.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_speech_gets_transcript_captions_title_and_search(
    world: World, speech: tuple[Path, float]
) -> None:
    path, second_starts = speech
    message_id = await send(world, world.author, path)
    await work(world)

    message = await get(world, f"/api/messages/{message_id}")
    assert message["status"] == "ready"
    transcript = await get(world, f"/api/messages/{message_id}/transcript")
    assert transcript["status"] == "done" and transcript["language"] == "en"
    assert word_error_rate(f"{FIRST} {SECOND}", transcript["text"]) <= 0.25, transcript["text"]
    assert message["title"].startswith("Please review the budget"), "titled from the transcript"

    captions = next(r for r in message["renditions"] if r["name"] == "captions")
    vtt = await world.client.get(
        captions["url"], headers=world.author.headers, follow_redirects=True
    )
    assert vtt.status_code == 200 and vtt.headers["content-type"].startswith("text/vtt")
    cues = parse_vtt(vtt.text)
    assert cues and all(0 <= start < end <= message["duration"] + 0.05 for start, end, _ in cues)

    found = await get(world, "/api/search?q=morning")
    hits = [h for h in found["hits"] if h["message_id"] == message_id]
    assert hits, (transcript["text"], found)
    assert "<mark>" in hits[0]["snippet_html"].lower()
    assert abs(hits[0]["start"] - second_starts) <= 1.0
    assert (await get(world, "/api/search?q=morning", world.other))["hits"] == []


async def test_captions_follow_media_access_rules(world: World, speech: tuple[Path, float]) -> None:
    message_id = await send(world, world.author, speech[0])
    await work(world)
    message = await get(world, f"/api/messages/{message_id}")
    path = f"/media/{message_id}/captions"
    assert (await world.client.get(path, headers=world.other.headers)).status_code == 404
    async with world.anonymous() as anonymous:
        assert (await anonymous.get(path)).status_code == 401
        token = message["share_url"].rsplit("/", 1)[1]
        shared = await anonymous.get(f"/s/{token}/media/captions", follow_redirects=True)
        assert shared.status_code == 200 and shared.text.startswith("WEBVTT")
        transcript = await anonymous.get(f"/s/{token}/transcript")
        assert transcript.status_code == 200 and "morning" in transcript.text.lower()


async def test_silence_gives_an_empty_transcript_not_invented_text(
    world: World, tmp_path: Path
) -> None:
    message_id = await send(world, world.author, make_silence(tmp_path / "quiet.wav", 6))
    await work(world)
    assert (await get(world, f"/api/messages/{message_id}"))["status"] == "ready"
    transcript = await get(world, f"/api/messages/{message_id}/transcript")
    assert transcript["status"] == "done"
    assert transcript["text"] == "" and transcript["segments"] == []


async def test_correcting_a_segment_updates_captions_and_search(
    world: World, speech: tuple[Path, float]
) -> None:
    message_id = await send(world, world.author, speech[0], title="Budget")
    await work(world)
    transcript = await get(world, f"/api/messages/{message_id}/transcript")
    first = transcript["segments"][0]
    path = f"/api/messages/{message_id}/transcript/segments/{first['position']}"
    denied = await world.client.patch(path, json={"text": "x"}, headers=world.other.headers)
    assert denied.status_code == 404
    response = await world.client.patch(
        path,
        json={"text": "Please review the okapi budget before Friday."},
        headers=world.author.headers,
    )
    assert response.status_code == 200
    corrected = response.json()
    assert corrected["edited"] and corrected["segments"][0]["edited"]
    assert corrected["segments"][0]["machine_text"] == first["machine_text"]
    vtt = await world.client.get(
        f"/media/{message_id}/captions", headers=world.author.headers, follow_redirects=True
    )
    assert "okapi" in vtt.text
    assert (await get(world, "/api/search?q=okapi"))["hits"][0]["message_id"] == message_id
    assert (await get(world, f"/api/messages/{message_id}"))["title"] == "Budget"
    bad = await world.client.patch(
        f"/api/messages/{message_id}/transcript/segments/999",
        json={"text": "x"},
        headers=world.author.headers,
    )
    assert bad.status_code == 404


async def test_dutch_on_an_english_only_model_fails_the_transcript_not_the_message(
    world: World, speech: tuple[Path, float]
) -> None:
    message_id = await send(world, world.author, speech[0], language="nl")
    await work(world)
    assert (await get(world, f"/api/messages/{message_id}"))["status"] == "ready"
    transcript = await get(world, f"/api/messages/{message_id}/transcript")
    assert transcript["status"] == "failed"
    assert "only understands English" in transcript["error"]


async def test_user_language_preference_round_trip(world: World) -> None:
    response = await world.client.patch(
        "/api/me", json={"language": "nl"}, headers=world.author.headers
    )
    assert response.status_code == 200 and response.json()["language"] == "nl"
    assert (await get(world, "/api/me"))["language"] == "nl"
    bad = await world.client.patch(
        "/api/me", json={"language": "dutch"}, headers=world.author.headers
    )
    assert bad.status_code == 400


async def test_search_input_is_checked_and_text_messages_are_found(world: World) -> None:
    assert (
        await world.client.get("/api/search?q=", headers=world.author.headers)
    ).status_code == 400
    long = "a" * 201
    assert (
        await world.client.get(f"/api/search?q={long}", headers=world.author.headers)
    ).status_code == 400
    async with world.anonymous() as anonymous:
        assert (await anonymous.get("/api/search?q=x")).status_code == 401
    created = await world.client.post(
        "/api/messages",
        json={"kind": "text", "body": "The <b>zebra</b> crossing plan is ready"},
        headers=world.author.headers,
    )
    assert created.status_code == 201
    hits = (await get(world, '/api/search?q=zebra "crossing'))["hits"]
    assert [h["message_id"] for h in hits] == [created.json()["id"]]
    assert "<b>" not in hits[0]["snippet_html"], "the text is escaped, never markup"
