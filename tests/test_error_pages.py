"""Error pages, the icons and the web app manifest: every address a browser can land on
answers with Relay's own page, in the language the other pages would choose."""

from __future__ import annotations

import json
import struct

import httpx
import pytest

from relay import i18n, inbox, search
from tests.conftest import World
from tests.support.pages import HTML, sign_in
from tests.support.threads import auth, start

NL = {**HTML, "Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5"}


@pytest.mark.parametrize(
    ("headers", "cookie", "lang", "title", "home"),
    [
        (HTML, None, "en", "Page not found", "Go to the start page"),
        (NL, None, "nl", "Pagina niet gevonden", "Naar de startpagina"),
        # The cookie (set by a language switch) wins over the browser's languages.
        (NL, "en", "en", "Page not found", "Go to the start page"),
        (HTML, "nl", "nl", "Pagina niet gevonden", "Naar de startpagina"),
    ],
)
async def test_not_found_page_speaks_the_chosen_language(
    world: World, headers: dict, cookie: str | None, lang: str, title: str, home: str
) -> None:
    cookies = {i18n.LANG_COOKIE: cookie} if cookie else {}
    async with world.anonymous() as client:
        client.cookies.update(cookies)
        response = await client.get("/no/such/page", headers=headers)
    assert response.status_code == 404
    text = response.text
    assert f'<html lang="{lang}">' in text and f'<h1 id="error-title">{title}</h1>' in text
    assert f'href="/" data-home>{home}</a>' in text
    assert f"<title>{title} · Relay</title>" in text


async def test_not_found_page_names_who_is_signed_in(world: World) -> None:
    async with sign_in(world, world.author) as client:
        response = await client.get("/no/such/page", headers=HTML)
    assert response.status_code == 404
    assert 'href="/me" data-profile-link' in response.text  # the header's avatar and name


async def test_gone_link_and_expired_form_pages_in_dutch(world: World) -> None:
    first = await start(world)
    await world.client.delete(f"/api/links/{first['token']}", headers=auth(world))
    async with world.anonymous() as client:
        gone = await client.get(f"/s/{first['token']}", headers=NL)
        forbidden = await client.post("/login", data={"email": "a@example.org"}, headers=NL)
        english = await client.get(f"/s/{first['token']}", headers=HTML)
    assert gone.status_code == 410 and "Niet meer beschikbaar" in gone.text
    assert "Deze link is ingetrokken of verlopen." in gone.text
    assert forbidden.status_code == 403 and "Niet toegestaan" in forbidden.text
    assert "expired" not in forbidden.text  # the English detail stays on the English page
    assert english.status_code == 410 and "No longer available" in english.text


async def test_unexpected_exception_is_a_branded_500_with_the_security_headers(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug shows people Relay's page and programs the JSON error; neither says what broke."""

    async def broken(*args: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(inbox, "threads_of", broken)
    monkeypatch.setattr(search, "search", broken)
    transport = httpx.ASGITransport(app=world.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://relay.test") as client:
        page = await client.get("/", headers={**auth(world), **NL})
        api = await client.get("/api/search?q=x", headers=auth(world))
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert "Er ging iets mis" in page.text and 'href="/" data-home' in page.text
    assert api.status_code == 500 and api.json() == {
        "error": "internal_error",
        "detail": "Something went wrong on the server. Try again in a moment.",
    }
    for response in (page, api):
        assert "on fire" not in response.text
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"].startswith("default-src 'self'")


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


async def test_icons_and_manifest_load_with_their_types(world: World) -> None:
    page = (await world.client.get("/login", headers=HTML)).text
    assert '<link rel="icon" href="/static/icon.svg" type="image/svg+xml">' in page
    assert '<link rel="apple-touch-icon" href="/static/apple-touch-icon.png">' in page
    assert '<link rel="manifest" href="/static/manifest.webmanifest">' in page
    assert (
        '<meta name="theme-color" content="#ffffff" media="(prefers-color-scheme: light)">' in page
    )
    assert (
        '<meta name="theme-color" content="#1c2128" media="(prefers-color-scheme: dark)">' in page
    )
    favicon = await world.client.get("/favicon.ico")
    assert favicon.status_code == 301 and favicon.headers["location"] == "/static/icon.svg"
    response = await world.client.get("/static/manifest.webmanifest")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["name"] == manifest["short_name"] == "Relay"
    assert (manifest["start_url"], manifest["display"]) == ("/", "standalone")
    # theme_color and background_color are --surface and --bg of app.css (light).
    assert (manifest["theme_color"], manifest["background_color"]) == ("#ffffff", "#f6f7f9")
    sizes = set()
    for icon in [*manifest["icons"], {"src": "/static/apple-touch-icon.png", "sizes": "180x180"}]:
        got = await world.client.get(icon["src"])
        assert got.status_code == 200, icon
        assert got.headers["content-type"] == icon.get("type", "image/png"), icon
        assert len(got.content) < 8 * 1024, icon  # drawn small, no blobs
        if icon["sizes"] == "any":
            assert got.content.startswith(b"<svg") and b"viewBox" in got.content
        else:
            width, height = _png_size(got.content)
            assert f"{width}x{height}" == icon["sizes"], icon
        sizes.add(icon["sizes"])
    assert {"192x192", "512x512", "any"} <= sizes
    assert {i["purpose"] for i in manifest["icons"]} == {"any", "maskable"}
