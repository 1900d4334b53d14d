"""The inbox page without JavaScript: one row per thread, the whole row one link named by the
title, with the last message's preview ("You:" for the reader's own), the moment, an unread
count and "waiting on you", in a fixed number of queries; and its search, a GET form answered
by the page itself, with escaped snippets, the highlight as <mark>, and links that open the
thread at the moment; in English and Dutch. Both stacks."""

from __future__ import annotations

import html
import re

from relay import i18n
from relay.enums import MessageStatus, TranscriptStatus
from relay.inbox import excerpt
from relay.models import Transcript
from tests.conftest import World
from tests.support.pages import HTML, set_message, sign_in
from tests.support.threads import auth, become_guest, post, start
from tests.test_thread_queries import Statements


def test_both_languages_have_the_same_words() -> None:
    assert set(i18n.INBOX_CATALOGS["en"]) == set(i18n.INBOX_CATALOGS["nl"])


def test_excerpt_keeps_one_line_and_cuts_at_a_word() -> None:
    assert excerpt("  Fine\n by   me ") == "Fine by me"
    long = "word " * 40
    cut = excerpt(long)
    assert len(cut) <= 121 and cut.endswith("word…")


def _rows(page: str) -> dict[str, str]:
    """Each thread row's markup by the thread it links to."""
    rows = re.findall(r'<li class="row thread-row.*?</li>', page, re.S)
    return {re.search(r'href="/t/([^"]+)"', row).group(1): row for row in rows}  # type: ignore[union-attr]


def _text(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


async def _guest_reply(world: World, token: str, body: dict) -> dict:
    async with world.anonymous() as visitor:
        csrf = await become_guest(visitor, token, "Sanne Jansen")
        response = await visitor.post(
            f"/s/{token}/messages", json=body, headers={"X-CSRF-Token": csrf}
        )
    assert response.status_code == 201, response.text
    return response.json()


async def test_inbox_rows_preview_the_last_message_with_who_said_it(world: World) -> None:
    own = await post(
        world, "/api/messages", {"kind": "text", "body": "Shall we  meet\nat ten?"}, auth(world)
    )
    silent = await start(world, "Plan for Monday", duration=9.0)
    spoken = await start(world, "Budget")
    voice = await _guest_reply(world, spoken["token"], {"kind": "audio"})
    await set_message(world, voice["id"], status=MessageStatus.ready, duration=12.0)
    async with world.services.sessions.begin() as session:
        session.add(
            Transcript(
                message_id=voice["id"],
                status=TranscriptStatus.done,
                text="The budget looks fine to me.",
            )
        )
    async with sign_in(world, world.author) as browser:
        page = (await browser.get("/", headers=HTML)).text
        dutch = (await browser.get("/?lang=nl", headers=HTML)).text
    rows = _rows(page)
    assert len(rows) == 3
    assert "<title>(1) Inbox · Relay</title>" in page  # the unread count, in the tab
    for thread_id, row in rows.items():
        # One link per row, named by the thread's title alone (its box covers the row);
        # the preview and the moment describe it, and the page rewrites the moment.
        assert row.count("<a ") == 1
        (link,) = re.findall(r"<a [^>]*>[^<]*</a>", row)
        assert 'class="row-link row-title"' in link and f'href="/t/{thread_id}"' in link
        for described in re.search(r'aria-describedby="([^"]+)"', link).group(1).split():  # type: ignore[union-attr]
            assert f'id="{described}"' in row
        assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[^"]+" data-relative="short">', row)

    mine = _text(rows[own["thread_id"]])
    assert "You: Shall we meet at ten?" in mine
    assert "row-unread" not in rows[own["thread_id"]] and "Waiting on you" not in mine

    # A recording without a transcript yet: its kind and length.
    assert "You: Voice message 0:09" in _text(rows[silent["thread_id"]])
    assert 'class="icon icon-audio"' in rows[silent["thread_id"]]

    # Someone else's answer: the transcript after their first name, new, and it waits on me.
    theirs = rows[spoken["thread_id"]]
    assert "Sanne: The budget looks fine to me." in _text(theirs)
    assert 'class="row thread-row is-unread"' in theirs
    assert re.search(r'class="row-unread"><span aria-hidden="true">1</span>', theirs)
    assert "1 new" in _text(theirs) and "Waiting on you" in _text(theirs)
    assert theirs.count('class="avatar ') == 1 and ">SJ</span>" in theirs

    dutch_rows = _rows(dutch)
    assert "Jij: Shall we meet at ten?" in _text(dutch_rows[own["thread_id"]])
    assert "1 nieuw" in _text(dutch_rows[spoken["thread_id"]])
    assert "Wacht op jou" in _text(dutch_rows[spoken["thread_id"]])

    # The API says the same in data: who wrote it, whether it is the reader's, the people.
    listed = (await world.client.get("/api/threads", headers=auth(world))).json()["threads"]
    item = next(i for i in listed if i["id"] == spoken["thread_id"])
    assert item["latest"]["text"] == "The budget looks fine to me."
    assert item["latest"]["mine"] is False and item["latest"]["author"] == "Sanne Jansen"
    assert [p["name"] for p in item["participants"]] == ["Sanne Jansen"]


async def test_an_empty_inbox_says_what_to_do(world: World) -> None:
    async with sign_in(world, world.other) as browser:
        english = (await browser.get("/", headers=HTML)).text
        dutch = (await browser.get("/?lang=nl", headers=HTML)).text
    assert "Your inbox is empty" in english and 'href="/record"' in english
    assert "Je inbox is leeg" in dutch and "Bericht opnemen" in dutch
    assert "thread-row" not in english


async def test_the_inbox_costs_the_same_queries_for_one_thread_or_twenty(world: World) -> None:
    first = await start(world, "First")
    await _guest_reply(world, first["token"], {"kind": "text", "body": "Seen it"})

    async def cost() -> int:
        async with sign_in(world, world.author) as browser:
            with Statements(world) as counted:
                page = await browser.get("/", headers=HTML)
        assert page.status_code == 200
        return counted.count

    one = await cost()
    for n in range(19):
        await post(world, "/api/messages", {"kind": "text", "body": f"Note {n}"}, auth(world))
    assert await cost() == one


async def test_the_inbox_form_finds_a_word_and_links_to_its_moment(world: World) -> None:
    body = {"kind": "text", "title": "Plans", "body": "The <b>zeppelin</b> budget & more"}
    message = await post(world, "/api/messages", body, auth(world))
    async with sign_in(world, world.author) as browser:
        page = (await browser.get("/", headers=HTML)).text
        assert 'role="search"' in page and 'name="q"' in page and 'method="get"' in page
        # One field: its label is there for screen readers, the placeholder for the eye.
        assert '<label class="visually-hidden" for="search-q">' in page
        assert 'placeholder="Search messages"' in page
        found = await browser.get("/?q=zeppelin", headers=HTML)
        assert found.status_code == 200
        text = found.text
        assert "1 result" in text and "Results for “zeppelin”" in text
        # SQLite keeps the tag as text (escaped), PostgreSQL's ts_headline drops it.
        assert "<mark>zeppelin</mark>" in text and "budget &amp; more" in text
        assert "<b>" not in text
        href = f"/t/{message['thread_id']}?t=0.0#m-{message['id']}"
        assert f'href="{html.escape(href)}"' in text
        # A hit is a row as the threads are: one link, named by its title.
        assert re.search(r'class="row-link row-title hit-link" href="[^"]+" [^>]*>Plans</a>', text)
        assert re.search(r'class="row-author hit-speaker">Author<', text)

        none = (await browser.get("/?q=okapi&lang=nl", headers=HTML)).text
        assert "Niets gevonden voor “okapi”" in none and '<html lang="nl">' in none
        # The switch is remembered: the next page speaks Dutch without asking.
        dutch = (await browser.get("/?q=zeppelin", headers=HTML)).text
        assert "1 resultaat" in dutch and 'placeholder="Zoek in berichten"' in dutch
        too_long = (await browser.get("/?q=" + "x" * 201, headers=HTML)).text
        assert "hoogstens 200 tekens" in too_long


async def test_strangers_find_nothing_of_others(world: World) -> None:
    await post(world, "/api/messages", {"kind": "text", "body": "secret zeppelin"}, auth(world))
    async with sign_in(world, world.other) as browser:
        text = (await browser.get("/?q=zeppelin", headers=HTML)).text
    assert "Nothing found for “zeppelin”" in text and "<mark>" not in text
