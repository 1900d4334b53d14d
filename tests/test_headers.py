"""Security headers on every kind of response (JSON, media, static files, live streams, tus,
errors), and unknown addresses answered with the product's own error, as a page or JSON."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import World
from tests.support.pages import HTML
from tests.support.server import on_uvicorn, stream_head
from tests.support.threads import add_media, auth, start


def assert_protected(response: httpx.Response, *, share: bool) -> None:
    assert response.headers["x-content-type-options"] == "nosniff", response.url
    assert response.headers["referrer-policy"] == ("no-referrer" if share else "same-origin")
    if share:
        assert response.headers["x-robots-tag"] == "noindex", response.url
    else:
        assert "x-robots-tag" not in response.headers, response.url


async def test_json_answers_carry_the_security_headers(world: World) -> None:
    first = await start(world)
    member = await world.client.get("/api/messages", headers=auth(world))
    assert member.status_code == 200
    assert_protected(member, share=False)
    by_link = await world.client.get(f"/s/{first['token']}/thread")
    assert by_link.status_code == 200
    assert_protected(by_link, share=True)
    refused = await world.client.get("/api/messages")
    assert refused.status_code == 401
    assert_protected(refused, share=False)
    for path in (
        "/healthz",
        "/api/openapi.json",
        f"/oembed?url=http://relay.test/s/{first['token']}",
    ):
        response = await world.client.get(path)
        assert response.status_code == 200, path
        assert_protected(response, share=False)


async def test_media_and_static_files_carry_the_security_headers(
    world: World, tmp_path: Path
) -> None:
    first = await start(world)
    await add_media(world, tmp_path, first["id"])
    member = await world.client.get(f"/media/{first['id']}/audio", headers=auth(world))
    by_link = await world.client.get(f"/s/{first['token']}/media/audio")
    # The local store sends the bytes, S3 a redirect to a presigned URL.
    assert member.status_code in (200, 302, 307) and by_link.status_code in (200, 302, 307)
    assert_protected(member, share=False)
    assert_protected(by_link, share=True)
    static = await world.client.get("/static/app.css")
    assert static.status_code == 200
    assert_protected(static, share=False)


async def test_tus_answers_carry_the_security_headers(world: World) -> None:
    options = await world.client.options("/api/uploads/")
    assert options.status_code == 204 and options.headers["tus-resumable"] == "1.0.0"
    assert_protected(options, share=False)
    missing = await world.client.head(
        "/api/uploads/nope", headers={**auth(world), "Tus-Resumable": "1.0.0"}
    )
    assert missing.status_code == 404 and missing.headers["tus-resumable"] == "1.0.0"
    assert_protected(missing, share=False)


async def test_live_streams_carry_the_security_headers(world: World) -> None:
    first = await start(world)
    async with on_uvicorn(world.app) as base:
        member = await stream_head(base, f"/api/threads/{first['thread_id']}/events", auth(world))
        by_link = await stream_head(base, f"/s/{first['token']}/events", {})
    for response, share in ((member, False), (by_link, True)):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert_protected(response, share=share)


async def test_unknown_address_is_the_error_page_for_browsers(world: World) -> None:
    response = await world.client.get("/no/such/page", headers=HTML)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert 'href="/" data-home' in response.text and "Page not found" in response.text
    assert response.headers["content-security-policy"]
    assert_protected(response, share=False)
    share = await world.client.get("/s/abcdefgh/no-such-thing/here", headers=HTML)
    assert share.status_code == 404
    assert_protected(share, share=True)
    static = await world.client.get("/static/no-such-file.css", headers=HTML)
    assert static.status_code == 404 and 'href="/" data-home' in static.text


async def test_unknown_address_is_json_for_programs_and_below_api(world: World) -> None:
    for path, headers in [("/no/such/page", {}), ("/api/nothing", HTML), ("/media/x/y/z", {})]:
        response = await world.client.get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/json", path
        body = response.json()
        assert body["error"] == "not_found" and body["detail"], path
        assert_protected(response, share=False)


async def test_wrong_method_is_405_in_the_same_form(world: World) -> None:
    response = await world.client.put("/api/messages", headers=auth(world))
    assert response.status_code == 405
    assert "POST" in response.headers["allow"]
    body = response.json()
    assert body["error"] == "method_not_allowed" and "PUT" in body["detail"]
    assert_protected(response, share=False)
    page = await world.client.post("/record", headers=HTML)
    assert page.status_code == 405 and 'href="/" data-home' in page.text
    assert_protected(page, share=False)


async def test_a_form_the_server_cannot_read_is_an_error_page(world: World) -> None:
    first = await start(world)
    fields = "&".join(f"f{n}=x" for n in range(10))  # the passcode form takes at most 5
    response = await world.client.post(
        f"/s/{first['token']}/unlock",
        content=fields,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "Too many fields" in response.text and 'href="/" data-home' in response.text
    assert_protected(response, share=True)
