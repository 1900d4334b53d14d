"""The pages around the messages, in Debian's chromium against a real `relay serve`: error
pages with a way home in both languages, the icons and the manifest, a message's address, the
profile form, and Dutch pages with no English left in them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import urljoin

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from relay.i18n import CATALOGS, LOGIN_CATALOGS
from relay.i18n_inbox import INBOX_CATALOGS
from relay.i18n_site import (
    CHROME_CATALOGS,
    ERROR_CATALOGS,
    LANGUAGE_NAMES,
    PROFILE_CATALOGS,
    STATUS_CATALOGS,
)
from relay.i18n_thread import THREAD_CATALOGS
from tests.support.browser import axe_violations, launch, sign_in
from tests.support.server import add_user, serve, stack_env

EMAIL = "anna@example.org"
ALL_CATALOGS = [
    CATALOGS,
    LOGIN_CATALOGS,
    INBOX_CATALOGS,
    THREAD_CATALOGS,
    CHROME_CATALOGS,
    ERROR_CATALOGS,
    PROFILE_CATALOGS,
    STATUS_CATALOGS,
]


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`relay serve` with Anna's thread of two text messages."""
    tmp = tmp_path_factory.mktemp("site")
    env = stack_env(tmp / "var", f"sqlite+aiosqlite:///{tmp}/relay.db", None)
    token = add_user(env, EMAIL)
    process, base = serve(env, tmp / "serve.log")
    try:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            body = {"kind": "text", "title": "Planning", "body": "Zullen we maandag beginnen?"}
            first = client.post("/api/messages", json=body).json()
            reply = {"kind": "text", "body": "Dinsdag past beter.", "parent_id": first["id"]}
            second = client.post("/api/messages", json=reply).json()
        yield {"base": base, "token": token, "thread": first["thread_id"], "reply": second}
    finally:
        process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # No device permission: fake device names would put English words on the recorder page.
    with sync_playwright() as playwright:
        yield launch(playwright, None, allow_media=False)


def _signed_in(browser: Browser, relay: dict, path: str, **options: object) -> Page:
    page = browser.new_context(**options).new_page()
    sign_in(page, relay["base"], EMAIL, path)
    return page


@pytest.mark.parametrize(
    ("locale", "title", "home"),
    [
        ("en-GB", "Page not found", "Go to the start page"),
        ("nl-NL", "Pagina niet gevonden", "Naar de startpagina"),
    ],
)
def test_not_found_page_has_a_way_home_in_both_languages(
    browser: Browser, relay: dict, locale: str, title: str, home: str
) -> None:
    page = _signed_in(browser, relay, "/", locale=locale)
    response = page.goto(f"{relay['base']}/no/such/page")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == title
    link = page.locator("[data-home]")
    assert link.inner_text() == home
    link.click()
    page.wait_for_url(f"{relay['base']}/")
    assert page.locator("h1").inner_text() == "Inbox"
    page.context.close()


def test_icons_and_manifest_load_and_no_page_asks_for_a_missing_file(
    browser: Browser, relay: dict
) -> None:
    page = _signed_in(browser, relay, "/")
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    for path in ("/", "/record", "/me", f"/t/{relay['thread']}", "/login"):
        page.goto(f"{relay['base']}{path}")
        page.wait_for_load_state("networkidle")
    assert not failed, failed
    href = page.evaluate("document.querySelector('link[rel=manifest]').href")
    manifest_response = page.request.get(href)
    assert manifest_response.status == 200
    assert manifest_response.headers["content-type"] == "application/manifest+json"
    manifest = json.loads(manifest_response.body())
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    icons = [*manifest["icons"]]
    icons.append({"src": page.evaluate("document.querySelector('link[rel=icon]').href")})
    for icon in icons:
        got = page.request.get(urljoin(relay["base"], icon["src"]))
        assert got.status == 200, icon
        assert got.headers["content-type"] == icon.get("type", "image/svg+xml"), icon
        # The browser decodes it: a broken image has no natural width.
        width = page.evaluate(
            "src => new Promise(ok => { const i = new Image(); i.onload = () => ok(i.naturalWidth);"
            " i.onerror = () => ok(0); i.src = src; })",
            got.url,
        )
        assert width > 0, icon
    page.context.close()


def test_message_address_opens_its_thread_at_the_message(browser: Browser, relay: dict) -> None:
    reply = relay["reply"]
    page = _signed_in(browser, relay, f"/m/{reply['id']}")
    page.wait_for_url(f"{relay['base']}/t/{relay['thread']}#m-{reply['id']}")
    shown = page.locator(f"#m-{reply['id']}")
    shown.wait_for(timeout=10_000)
    assert "Dinsdag past beter." in shown.inner_text()
    assert shown.is_visible()
    page.context.close()


def test_profile_form_renames_and_signs_out_everywhere(browser: Browser, relay: dict) -> None:
    phone = _signed_in(browser, relay, "/")
    laptop = _signed_in(browser, relay, "/", viewport={"width": 1280, "height": 800})
    laptop.click("[data-profile-link]")
    laptop.wait_for_url(f"{relay['base']}/me")
    laptop.fill("#name", "Anna de Vries")
    with laptop.expect_navigation():
        laptop.click("[data-profile-form] button[type=submit]")
    assert laptop.locator("[data-saved]").inner_text() == "Your profile is saved."
    assert laptop.locator("[data-profile-link]").inner_text().endswith("Anna de Vries")
    thread = httpx.get(
        f"{relay['base']}/api/threads/{relay['thread']}",
        headers={"Authorization": f"Bearer {relay['token']}"},
    ).json()
    assert thread["messages"][0]["author"]["name"] == "Anna de Vries"

    with laptop.expect_navigation():
        laptop.click("form[action='/me/sign-out-everywhere'] button")
    assert laptop.url == f"{relay['base']}/login"
    phone.reload()
    assert phone.url.startswith(f"{relay['base']}/login")
    phone.context.close()
    laptop.context.close()


def _english_fragments() -> dict[str, str]:
    """Each English UI string's literal parts (placeholders cut out) that a Dutch page must
    not show; strings that Dutch uses as well ("Inbox", "Relay") are allowed, and so are
    the names of the languages, each in itself ("English" on the Dutch switch link)."""
    dutch = {value for catalog in ALL_CATALOGS for value in catalog["nl"].values()}
    dutch |= set(LANGUAGE_NAMES.values())
    found = {}
    for catalog in ALL_CATALOGS:
        for key, english in catalog["en"].items():
            if english in dutch or english == catalog["nl"].get(key):
                continue
            for part in re.split(r"\{\w+\}", english):
                part = part.strip(" .,:;“”()")
                # Short bits ("of", "in", "at") are Dutch words too.
                if len(part) >= 4 and re.search(r"[A-Za-z]", part) and part not in dutch:
                    found[part] = key
    return found


def _visible_words(page: Page) -> str:
    """The text a person sees or hears: rendered text plus labels, titles and placeholders."""
    return page.evaluate(
        """() => [document.title, document.body.innerText,
            ...[...document.querySelectorAll('[aria-label],[title],[placeholder],[alt]')]
              .flatMap(e => ['aria-label', 'title', 'placeholder', 'alt']
                .map(a => e.getAttribute(a) || ''))].join('\\n')"""
    )


def test_dutch_pages_show_no_english_ui_strings(browser: Browser, relay: dict) -> None:
    fragments = _english_fragments()
    assert len(fragments) > 100  # the catalogues were read
    context: BrowserContext = browser.new_context(locale="nl-NL")
    page = context.new_page()
    page.goto(f"{relay['base']}/login")
    pages = {"login": _visible_words(page)}
    sign_in(page, relay["base"], EMAIL, "/")
    for name, path in [
        ("inbox", "/"),
        ("record", "/record"),
        ("profile", "/me"),
        ("error", "/no/such/page"),
        ("thread", f"/t/{relay['thread']}"),
    ]:
        page.goto(f"{relay['base']}{path}")
        page.wait_for_load_state("networkidle")
        assert page.locator("html").get_attribute("lang") == "nl", name
        pages[name] = _visible_words(page)
    english = {
        name: sorted(
            f"{part!r} ({key})"
            for part, key in fragments.items()
            if re.search(rf"(?<!\w){re.escape(part)}(?!\w)", text)
        )
        for name, text in pages.items()
    }
    assert not {name: found for name, found in english.items() if found}, english
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_profile_and_error_pages_pass_an_accessibility_scan(
    browser: Browser, relay: dict, scheme: str
) -> None:
    page = _signed_in(browser, relay, "/me", bypass_csp=True, color_scheme=scheme)
    found = {}
    for path in ("/me", "/no/such/page"):
        page.goto(f"{relay['base']}{path}")
        if violations := axe_violations(page):
            found[path] = violations
    page.context.close()
    assert not found, found


def test_phone_inbox_in_dutch_keeps_the_record_button_clear_and_passes_a_scan(
    browser: Browser, relay: dict
) -> None:
    """At 390x844 the round record button floats clear of the first row, every target takes
    a thumb, a tap anywhere on a row opens it, no English is left, and the sign-in page, the
    inbox and its live search results pass axe-core in light and dark."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        locale="nl-NL",
        bypass_csp=True,
    )
    page = context.new_page()
    found: dict[str, list[str]] = {}

    def scan(name: str) -> None:
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            found[f"{name} {scheme}"] = axe_violations(page)

    page.goto(f"{relay['base']}/login")
    scan("login")
    sign_in(page, relay["base"], EMAIL, "/")
    page.wait_for_load_state("networkidle")
    row = page.locator(".thread-row").first.bounding_box()
    button = page.locator("[data-record]").bounding_box()
    profile = page.locator("[data-profile-link]").bounding_box()
    assert row and button and profile
    apart = (
        button["y"] >= row["y"] + row["height"]
        or button["y"] + button["height"] <= row["y"]
        or button["x"] >= row["x"] + row["width"]
    )
    assert apart, (row, button)
    assert round(button["width"]) == round(button["height"]) == 56
    assert min(row["height"], profile["height"], profile["width"]) >= 44
    preview = page.locator(".thread-row .row-preview").first
    assert preview.inner_text().startswith("Jij:")
    # A tap on the preview lands on the row's one link.
    box = preview.bounding_box()
    assert box
    tapped = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('a')?.className",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
    )
    assert tapped and "row-link" in tapped
    words = _visible_words(page)
    english = [p for p in _english_fragments() if re.search(rf"(?<!\w){re.escape(p)}(?!\w)", words)]
    assert not english, english
    scan("inbox")
    page.fill("#search-q", "maandag")
    page.locator(".hit-link").first.wait_for(timeout=10_000)
    scan("search")
    context.close()
    assert not any(found.values()), found
