"""The inbox's search without JavaScript: a GET form answered by the page itself, with
escaped snippets, the highlight as <mark>, and links that open the thread at the moment; in
English and Dutch. Both stacks."""

from __future__ import annotations

import html
import re

from relay import i18n
from tests.conftest import World
from tests.support.pages import HTML, sign_in
from tests.support.threads import auth, post


def test_both_languages_have_the_same_words() -> None:
    assert set(i18n.INBOX_CATALOGS["en"]) == set(i18n.INBOX_CATALOGS["nl"])


async def test_the_inbox_form_finds_a_word_and_links_to_its_moment(world: World) -> None:
    body = {"kind": "text", "title": "Plans", "body": "The <b>zeppelin</b> budget & more"}
    message = await post(world, "/api/messages", body, auth(world))
    async with sign_in(world, world.author) as browser:
        page = (await browser.get("/", headers=HTML)).text
        assert 'role="search"' in page and 'name="q"' in page and 'method="get"' in page
        found = await browser.get("/?q=zeppelin", headers=HTML)
        assert found.status_code == 200
        text = found.text
        assert "1 result" in text and "Results for “zeppelin”" in text
        # SQLite keeps the tag as text (escaped), PostgreSQL's ts_headline drops it.
        assert "<mark>zeppelin</mark>" in text and "budget &amp; more" in text
        assert "<b>" not in text
        href = f"/t/{message['thread_id']}?t=0.0#m-{message['id']}"
        assert f'href="{html.escape(href)}"' in text
        assert re.search(r'class="hit-speaker">Author<', text)

        none = (await browser.get("/?q=okapi&lang=nl", headers=HTML)).text
        assert "Niets gevonden voor “okapi”" in none and '<html lang="nl">' in none
        # The switch is remembered: the next page speaks Dutch without asking.
        dutch = (await browser.get("/?q=zeppelin", headers=HTML)).text
        assert "1 resultaat" in dutch and "Uitloggen" in dutch
        too_long = (await browser.get("/?q=" + "x" * 201, headers=HTML)).text
        assert "hoogstens 200 tekens" in too_long


async def test_strangers_find_nothing_of_others(world: World) -> None:
    await post(world, "/api/messages", {"kind": "text", "body": "secret zeppelin"}, auth(world))
    async with sign_in(world, world.other) as browser:
        text = (await browser.get("/?q=zeppelin", headers=HTML)).text
    assert "Nothing found for “zeppelin”" in text and "<mark>" not in text
