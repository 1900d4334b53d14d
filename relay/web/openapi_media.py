"""The media part of the OpenAPI document (renditions, for members and behind a share link)
and the two forms of a link's page: join and passcode. `relay.web.openapi` merges these paths."""

from __future__ import annotations

from typing import Any

from relay.web.openapi_parts import (
    GONE,
    ID,
    LINK_SECURITY,
    STRING,
    TOKEN,
    bare_errors,
    errors,
    in_path,
)

NAME = in_path(
    "name",
    STRING,
    "a rendition: `video`, `video_360`, `audio`, `poster`, `preview`, `waveform`, "
    "`silences` or `captions`",
)
BYTES = {"type": "string", "format": "binary"}
# What renditions are: MP4 video, AAC audio, JPEG or WebP pictures, WebVTT captions, JSON
# (the waveform's peaks, the silences).
MEDIA_TYPES = {
    "video/mp4": {"schema": BYTES},
    "audio/mp4": {"schema": BYTES},
    "image/jpeg": {"schema": BYTES},
    "image/webp": {"schema": BYTES},
    "text/vtt": {"schema": STRING},
    "application/json": {"schema": {}},
}
RANGE = {
    "name": "Range",
    "in": "header",
    "required": False,
    "schema": STRING,
    "description": "one byte range, `bytes=0-1` (iOS asks for this first); several ranges or "
    "a malformed header get the whole file",
}
HTML = {"text/html": {"schema": STRING}}


def _media(summary: str, codes: tuple[int, ...], *, head: bool = False) -> dict[str, Any]:
    content = {} if head else {"content": MEDIA_TYPES}
    return {
        "summary": summary,
        "description": "The local store answers byte ranges; the S3 store redirects (302) to "
        "a presigned URL of the store for video, audio and pictures, after this request's "
        "access check.",
        "parameters": [RANGE],
        "responses": {
            "200": {"description": "the whole file", **content},
            "206": {
                "description": "the asked range",
                "headers": {"Content-Range": {"schema": STRING}},
                **content,
            },
            "302": {
                "description": "S3: the presigned URL (Cache-Control: no-store)",
                "headers": {"Location": {"schema": STRING}},
            },
            "416": {
                "description": "the range lies outside the file",
                "headers": {"Content-Range": {"schema": STRING}},
            },
            **(bare_errors(*codes) if head else errors(*codes)),
        },
    }


def _pages(*codes: int) -> dict[str, Any]:
    return {str(code): {"description": "a page", "content": HTML} for code in codes}


def _both(summary: str, codes: tuple[int, ...]) -> dict[str, Any]:
    return {"get": _media(summary, codes), "head": _media(summary, codes, head=True)}


def _behind_link(item: dict[str, Any]) -> dict[str, Any]:
    return {method: {"security": LINK_SECURITY, **op} for method, op in item.items()}


MEDIA_PATHS: dict[str, Any] = {
    "/media/{id}/{name}": {
        "parameters": [ID, NAME],
        **_both("A rendition of a message the caller can see", (401, 404)),
    },
    "/s/{token}/media/{name}": {
        "parameters": [TOKEN, NAME],
        **_behind_link(_both("A rendition of the message the link opens at", (401, 404, 410))),
    },
    "/s/{token}/media/{id}/{name}": {
        "parameters": [TOKEN, ID, NAME],
        **_behind_link(_both("A rendition of a message in the link's thread", (401, 404, 410))),
    },
    "/s/{token}/join": {
        "parameters": [TOKEN],
        "post": {
            "security": LINK_SECURITY,
            "summary": '"Add to my inbox" on a link\'s page (a form, not JSON)',
            "description": "A signed-in visitor joins the link's thread and is redirected (303) "
            "to /t/{id}; anyone else to the sign-in page. The form carries the `csrf` of the "
            f"thread page when a cookie signs in. {GONE}.",
            "requestBody": {
                "required": False,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {"type": "object", "properties": {"csrf": STRING}}
                    }
                },
            },
            "responses": {
                "303": {
                    "description": "to the thread",
                    "headers": {"Location": {"schema": STRING}},
                },
                **_pages(400, 401, 403, 404, 410, 429),
            },
        },
    },
    "/s/{token}/unlock": {
        "parameters": [TOKEN],
        "post": {
            "security": [],
            "summary": "The passcode form of a protected link (a page, not JSON)",
            "description": "A right passcode, or a link without one, redirects (303) to the "
            "link's page and sets the `relay_unlock` cookie. A wrong one shows the form again "
            f"(401). Guesses are limited in number per link (429). {GONE}.",
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "passcode": {
                                    "type": "string",
                                    "description": "its first 128 characters count",
                                }
                            },
                        }
                    }
                },
            },
            "responses": {
                "303": {
                    "description": "to /s/{token}",
                    "headers": {"Location": {"schema": STRING}, "Set-Cookie": {"schema": STRING}},
                },
                **_pages(400, 401, 404, 410, 429),
            },
        },
    },
}
