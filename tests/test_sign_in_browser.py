"""The two forms that let people in, used as people use them, in Debian's chromium against
a real `relay serve`: the passcode form of a protected link, and the sign-in form when its
throttle refuses (the reason reads in English and in Dutch)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.browser import PASSWORD, launch
from tests.support.server import add_user, serve, stack_env

PASSCODE = "tulip-42-meadow"
TITLE = "Budget talk"


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`relay serve` with a thread whose link asks for a passcode."""
    tmp = tmp_path_factory.mktemp("sign-in")
    env = stack_env(tmp / "var", f"sqlite+aiosqlite:///{tmp}/relay.db", None)
    token = add_user(env, "ann@example.org")
    process, base = serve(env, tmp / "serve.log")
    try:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            body = {"kind": "text", "title": TITLE, "body": "Shall we cut travel?"}
            first = client.post("/api/messages", json=body).json()
            link = client.post(
                f"/api/threads/{first['thread_id']}/links",
                json={"rights": "view", "passcode": PASSCODE},
            ).json()
        yield {"base": base, "link": f"{base}/s/{link['token']}"}
    finally:
        process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        yield launch(playwright, None)


def _submit(page: Page, selector: str, value: str) -> None:
    page.fill(selector, value)
    with page.expect_navigation(timeout=10_000):
        page.click("button[type=submit]")


def test_passcode_form_refuses_a_wrong_passcode_then_opens_the_thread(
    browser: Browser, relay: dict
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(relay["link"])
    assert page.locator("h1").inner_text() == "This link needs a passcode"
    assert TITLE not in page.content()

    _submit(page, "#passcode", "tulip-41-meadow")
    assert page.url == relay["link"] + "/unlock"
    assert page.locator("#passcode-error").inner_text() == "That passcode is not right. Try again."
    assert page.locator("#passcode").get_attribute("aria-invalid") == "true"

    _submit(page, "#passcode", PASSCODE)
    assert page.url == relay["link"]
    assert page.locator("h1").inner_text() == TITLE
    assert page.get_by_text("Shall we cut travel?").is_visible()
    context.close()


def _sign_in(page: Page, password: str) -> None:
    page.fill("#email", "ann@example.org")
    _submit(page, "#password", password)


def test_sign_in_form_after_ten_failures_says_to_wait_in_english_and_dutch(
    browser: Browser, relay: dict
) -> None:
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.goto(f"{relay['base']}/login")
    for _ in range(10):
        _sign_in(page, "wrong password")
        assert page.get_by_role("alert").inner_text() == "E-mail or password is wrong."
    _sign_in(page, PASSWORD)  # the right one, too late
    assert page.url == f"{relay['base']}/login"
    assert page.get_by_role("alert").inner_text() == (
        "Too many failed sign-ins. Wait 10 min and try again."
    )
    assert not [c for c in context.cookies() if c["name"] == "relay_session"]
    context.close()

    context = browser.new_context(locale="nl-NL")
    page = context.new_page()
    page.goto(f"{relay['base']}/login")
    assert page.locator("h1").inner_text() == "Inloggen"
    _sign_in(page, PASSWORD)
    assert page.get_by_role("alert").inner_text() == (
        "Te veel mislukte aanmeldpogingen. Wacht 10 min en probeer het opnieuw."
    )
    assert page.locator("#password").get_attribute("aria-describedby") == "login-error"
    context.close()
