"""The author changes the language a message is transcribed in (PATCH /api/messages/{id}):
the transcript goes back to pending with one transcription job queued, the page is told, and
bad values, other members and strangers are refused. Both stacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from relay import jobs
from relay.enums import MessageStatus, TranscriptStatus
from relay.models import Event, Job, Transcript
from tests.conftest import World
from tests.support.pages import set_message, sign_in
from tests.support.threads import add_media, auth, join_through_page, post, start


async def _patch(world: World, message_id: str, body: object, who: str = "author") -> dict:
    response = await world.client.patch(
        f"/api/messages/{message_id}", json=body, headers=auth(world, who)
    )
    return {**response.json(), "code": response.status_code}


async def _state(world: World, message_id: str) -> tuple[TranscriptStatus | None, int, int]:
    """The transcript's status, the transcription jobs queued and the transcript events."""
    async with world.services.sessions.begin() as session:
        transcript = await session.get(Transcript, message_id)
        queued = await session.scalars(
            select(Job).where(Job.kind == jobs.TRANSCRIBE_JOB, Job.message_id == message_id)
        )
        events = await session.scalars(
            select(Event).where(Event.message_id == message_id, Event.kind == "transcript")
        )
        return (transcript.status if transcript else None, len(queued.all()), len(events.all()))


async def test_the_author_changes_the_language_and_it_is_transcribed_again(
    world: World, tmp_path: Path
) -> None:
    message = await start(world)
    await add_media(world, tmp_path, message["id"])
    changed = await _patch(world, message["id"], {"language": "NL"})
    assert changed["code"] == 200, changed
    assert changed["language"] == "nl"
    assert changed["transcript"]["status"] == "pending"
    assert await _state(world, message["id"]) == (TranscriptStatus.pending, 1, 1)
    # Again before a worker took it: the waiting job reads the new language, no second one.
    back = await _patch(world, message["id"], {"language": None})
    assert (back["code"], back["language"]) == (200, None)
    assert await _state(world, message["id"]) == (TranscriptStatus.pending, 1, 2)


async def test_a_recording_without_sound_says_so_instead_of_waiting(world: World) -> None:
    message = await start(world)  # ready, but no audio rendition
    changed = await _patch(world, message["id"], {"language": "en"})
    assert changed["transcript"]["status"] == "unavailable"
    assert await _state(world, message["id"]) == (TranscriptStatus.unavailable, 0, 1)


async def test_a_message_still_processing_keeps_the_language_for_later(world: World) -> None:
    message = await start(world)
    await set_message(world, message["id"], status=MessageStatus.processing)
    changed = await _patch(world, message["id"], {"language": "nl"})
    assert (changed["code"], changed["language"], changed["transcript"]) == (200, "nl", None)
    assert await _state(world, message["id"]) == (None, 0, 0)


@pytest.mark.parametrize(
    "body",
    [{"language": "dutch"}, {"language": 42}, {"language": "n1"}, {"lang": "nl"}, {}, ["nl"]],
    ids=["word", "number", "digit", "other-key", "empty", "list"],
)
async def test_a_wrong_value_is_400(world: World, body: object) -> None:
    message = await start(world)
    answer = await _patch(world, message["id"], body)
    assert answer["code"] == 400, answer
    assert await _state(world, message["id"]) == (None, 0, 0)


async def test_only_the_author_may_change_it(world: World, tmp_path: Path) -> None:
    message = await start(world)
    await add_media(world, tmp_path, message["id"])
    # A stranger does not learn that the message exists.
    assert (await _patch(world, message["id"], {"language": "nl"}, "other"))["code"] == 404
    # A member for good (joined, then replied) who is not the author: 403.
    async with sign_in(world, world.other) as colleague:
        await join_through_page(colleague, message["token"])
    reply = {"kind": "text", "body": "ok", "parent_id": message["id"]}
    await post(world, "/api/messages", reply, auth(world, "other"))
    refused = await _patch(world, message["id"], {"language": "nl"}, "other")
    assert refused["code"] == 403 and "author" in refused["detail"]
    assert (await _patch(world, message["id"], {"language": "nl"}, "admin"))["code"] == 403
    assert await _state(world, message["id"]) == (None, 0, 0)
