"""The profile page, /me: the name others read, the language, signing out everywhere; plain
forms with the session's CSRF token."""

from __future__ import annotations

from relay import i18n
from relay.models import User
from relay.web.http import SESSION_COOKIE
from tests.conftest import World
from tests.support.pages import HTML, assert_page_headers, session_csrf, sign_in


async def test_profile_anonymous_goes_to_sign_in_and_back(world: World) -> None:
    async with world.anonymous() as client:
        response = await client.get("/me", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fme"


async def test_header_links_the_users_name_to_the_profile(world: World) -> None:
    async with sign_in(world, world.author) as client:
        page = await client.get("/me", headers=HTML)
    assert page.status_code == 200
    assert 'href="/me" data-profile-link' in page.text and "</span>Author</span></a>" in page.text
    assert 'value="Author"' in page.text and world.author.email in page.text
    assert 'action="/me/sign-out-everywhere"' in page.text and 'action="/logout"' in page.text
    assert_page_headers(page, world.services.settings, share=False)


async def test_profile_form_saves_the_name_and_both_languages(world: World) -> None:
    """The page language is this browser's (a cookie); the spoken one the account's, which
    transcripts use: a Dutch speaker may read English pages."""
    async with sign_in(world, world.author) as client:
        page = (await client.get("/me", headers=HTML)).text
        assert '<option value="" selected>Detect</option>' in page
        csrf = session_csrf(page)
        form = {"csrf": csrf, "name": "  Anna   de Vries ", "language": "nl", "speech": "nl"}
        saved = await client.post("/me", data=form, headers=HTML)
        assert saved.status_code == 303 and saved.headers["location"] == "/me?saved=profile"
        assert f"{i18n.LANG_COOKIE}=nl" in saved.headers["set-cookie"]
        page = await client.get("/me?saved=profile", headers=HTML)
    assert '<html lang="nl">' in page.text and "Je profiel is opgeslagen." in page.text
    assert "</span>Anna de Vries</span></a>" in page.text
    assert '<option value="nl" lang="nl" selected>Nederlands</option>' in page.text
    async with world.services.sessions() as session:
        user = await session.get(User, world.author.id)
        assert user is not None and (user.display_name, user.language) == ("Anna de Vries", "nl")
        assert user.ui_language == "nl"  # kept for jobs, which have no page to ask


async def test_profile_form_refuses_a_word_for_the_reader(world: World) -> None:
    """A name such as "You" would read as the viewer's own messages on everyone's pages."""
    async with sign_in(world, world.author) as client:
        csrf = session_csrf((await client.get("/me", headers=HTML)).text)
        english = await client.post("/me", data={"csrf": csrf, "name": "You"}, headers=HTML)
        client.cookies.set(i18n.LANG_COOKIE, "nl")
        dutch = await client.post("/me", data={"csrf": csrf, "name": "jij"}, headers=HTML)
        empty = await client.post("/me", data={"csrf": csrf, "name": " "}, headers=HTML)
    assert english.status_code == dutch.status_code == empty.status_code == 400
    assert "“You” always means whoever is reading." in english.text
    assert 'aria-invalid="true"' in english.text and 'href="#name"' in english.text
    assert "“jij” betekent altijd: wie dit leest." in dutch.text
    assert "Vul je naam in." in empty.text
    async with world.services.sessions() as session:
        user = await session.get(User, world.author.id)
        assert user is not None and user.display_name == "Author"


async def test_profile_form_without_csrf_403(world: World) -> None:
    async with sign_in(world, world.author) as client:
        response = await client.post("/me", data={"name": "Mallory"}, headers=HTML)
    assert response.status_code == 403


async def test_sign_out_everywhere_ends_every_session_but_not_api_tokens(world: World) -> None:
    async with sign_in(world, world.author) as phone, sign_in(world, world.author) as laptop:
        async with sign_in(world, world.other) as colleague:
            csrf = session_csrf((await laptop.get("/me", headers=HTML)).text)
            refused = await laptop.post("/me/sign-out-everywhere", data={}, headers=HTML)
            assert refused.status_code == 403
            done = await laptop.post("/me/sign-out-everywhere", data={"csrf": csrf})
            assert done.status_code == 303 and done.headers["location"] == "/login"
            assert SESSION_COOKIE not in laptop.cookies
            assert (await phone.get("/", headers=HTML)).headers["location"] == "/login"
            assert (await colleague.get("/", headers=HTML)).status_code == 200
    api = await world.client.get("/api/me", headers=world.author.headers)
    assert api.status_code == 200
