"""One set of rules for durations, moments and avatars: the server's relay/humanize.py and the
pages' format.js write the same text for the same input (checked in Chromium)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, sync_playwright

from relay import humanize
from tests.support.browser import CHROMIUM, QUIET
from tests.support.server import ROOT

NOW = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)
AGO = [
    0,
    44,
    46,
    59 * 60,
    61 * 60,
    5 * 3600,
    16 * 3600,
    30 * 3600,
    3 * 86400,
    8 * 86400,
    400 * 86400,
]
NAMES = ["Anna de Vries", "sanne", "Joost (agency)", "Jan van der Berg", "Ölüm 😀", "", "李 小龙"]


def test_relative_times_in_english_and_dutch() -> None:
    def at(seconds: int, lang: str) -> str:
        return humanize.relative(NOW - timedelta(seconds=seconds), lang, NOW)

    assert at(10, "en") == "now"
    assert at(60, "en") == "1 minute ago"
    assert at(2 * 3600, "nl") == "2 uur geleden"
    assert at(16 * 3600, "en") == "yesterday"  # 23:30 the day before
    assert at(3 * 86400, "nl") == "3 dagen geleden"
    assert at(8 * 86400, "en") == "29 Nov"
    assert at(8 * 86400, "nl") == "29 nov"
    assert at(400 * 86400, "en") == "2 Nov 2025"
    assert humanize.relative(None, "en") == ""


def test_list_times_in_english_and_dutch() -> None:
    def at(seconds: int, lang: str) -> str:
        return humanize.short(NOW - timedelta(seconds=seconds), lang, NOW)

    assert at(3600, "en") == "14:30"
    assert at(16 * 3600, "nl") == "gisteren"
    assert at(3 * 86400, "en") == "Fri"
    assert at(3 * 86400, "nl") == "vr"
    assert at(8 * 86400, "nl") == "29 nov"


def test_initials_and_colours() -> None:
    assert humanize.initials("Anna de Vries") == "AV"
    assert humanize.initials("sanne") == "S"
    assert humanize.initials("Joost (agency)") == "JA"
    assert humanize.initials("  ") == "?"
    assert humanize.avatar_colour("Anna de Vries") == humanize.avatar_colour("Anna de Vries")
    assert len({humanize.avatar_colour(n) for n in NAMES}) > 2


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=QUIET, headless=True)
        context = browser.new_context(timezone_id="UTC")
        page = context.new_page()
        # The module is read from disk; a data: page may import it as a blob.
        source = (ROOT / "web" / "static" / "format.js").read_text()
        page.set_content("<html><body></body></html>")
        page.evaluate(
            "src => { window.fmt = import(URL.createObjectURL(new Blob([src], "
            "{type: 'text/javascript'}))); }",
            source,
        )
        yield page
        browser.close()


def test_format_js_writes_what_the_server_writes(page: Page) -> None:
    cases = {
        "now": NOW.isoformat(),
        "moments": [(NOW - timedelta(seconds=s)).isoformat() for s in AGO],
        "names": NAMES,
        "clocks": [0, 4.9, 65, 3723, -1],
    }
    got = page.evaluate(
        """async c => { const f = await window.fmt; const now = new Date(c.now); return {
            en: c.moments.map(m => f.relative(m, "en", now)),
            nl: c.moments.map(m => f.relative(m, "nl", now)),
            short_en: c.moments.map(m => f.short(m, "en", now)),
            short_nl: c.moments.map(m => f.short(m, "nl", now)),
            initials: c.names.map(f.initials), colours: c.names.map(f.avatarColour),
            clocks: c.clocks.map(f.clock) }; }""",
        cases,
    )
    moments = [NOW - timedelta(seconds=s) for s in AGO]
    want = {
        "en": [humanize.relative(m, "en", NOW) for m in moments],
        "nl": [humanize.relative(m, "nl", NOW) for m in moments],
        "short_en": [humanize.short(m, "en", NOW) for m in moments],
        "short_nl": [humanize.short(m, "nl", NOW) for m in moments],
        "initials": [humanize.initials(n) for n in NAMES],
        "colours": [humanize.avatar_colour(n) for n in NAMES],
        "clocks": [humanize.clock(s) or "0:00" for s in cases["clocks"]],
    }
    assert got == want, json.dumps(got, ensure_ascii=False)
