"""The threads part of the OpenAPI document: the inbox, a thread and its live events, share
links, listening and reactions, the JSON API behind a share link (no account needed) and
oEmbed. `relay.web.openapi` merges these paths and schemas into the document it serves."""

from __future__ import annotations

from typing import Any

from relay.web.openapi_parts import (
    CSRF,
    DELETED,
    ERROR,
    GONE,
    ID,
    LINK_SECURITY,
    MESSAGE,
    REACTION,
    STRING,
    THREAD_MESSAGE,
    TOKEN,
    TRANSCRIPT,
    body,
    errors,
    json_content,
    ref,
)

# One server-sent event, as a client's parser gives it (a `retry:` line alone is not one).
EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "id": {"type": "string", "description": "send the last one back as Last-Event-ID"},
        "event": {"type": "string", "description": "the kind, as in the data"},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": ref("LiveEvent"),
        },
    },
}


def _events(summary: str, codes: tuple[int, ...]) -> dict[str, Any]:
    return {
        "summary": summary,
        "description": "Server-sent events. The stream opens with `retry: 3000`; each event has "
        "an `id:`, an `event:` naming its kind and `data:` holding a LiveEvent as JSON. "
        "`resync` means events were lost: reload the thread. A comment (`: ping`) comes every "
        "15 s of silence. When access ends (link revoked or expired, membership gone) a last "
        "`revoked` event is sent and the stream closes. A reconnecting client gets what it "
        f"missed after Last-Event-ID (up to 500 events, else one `resync`). {GONE}.",
        "parameters": [
            {"name": "Last-Event-ID", "in": "header", "required": False, "schema": STRING},
            {
                "name": "last_event_id",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 0},
                "description": "the same, for EventSource polyfills that cannot set headers",
            },
        ],
        "responses": {
            "200": {
                "description": "an endless text/event-stream (Cache-Control: no-store)",
                "content": {"text/event-stream": {"schema": EVENT}},
            },
            **errors(*codes),
            "429": {
                "description": "too many live streams open from this client address "
                "(RELAY_STREAMS_PER_CLIENT per process; Retry-After)",
                "content": {"application/json": {"schema": ERROR}},
            },
            "503": {
                "description": "too many live connections on this process (Retry-After: 5)",
                "content": {"application/json": {"schema": ERROR}},
            },
        },
    }


def _listen(summary: str, codes: tuple[int, ...]) -> dict[str, Any]:
    return {
        "summary": summary,
        "description": "The furthest position is kept; reaching 90% of the duration (or "
        "`heard: true`) marks the message heard for good.",
        "parameters": [CSRF],
        "requestBody": body(ref("NewListen")),
        "responses": {"200": json_content(ref("Listen")), **errors(*codes)},
    }


def _nameless(operation: dict[str, Any]) -> dict[str, Any]:
    """A visitor without a name is counted by a cookie of the link, never named."""
    ok = operation["responses"]["200"]
    operation["description"] += (
        " Without a name, the caller is counted by the `relay_listener` cookie of the link "
        "(set on the first report, or by the link's page); 429 when the link has counted "
        "RELAY_LISTENERS_PER_LINK_HOUR new listeners in the past hour."
    )
    operation["responses"]["200"] = {**ok, "headers": {"Set-Cookie": {"schema": STRING}}}
    operation["responses"] |= errors(429)
    return operation


def _react(summary: str, codes: tuple[int, ...]) -> dict[str, Any]:
    return {
        "summary": summary,
        "parameters": [CSRF],
        "requestBody": body(ref("NewReaction")),
        "responses": {"201": json_content(ref("Reaction"), "created"), **errors(*codes)},
    }


def _unreact(summary: str, codes: tuple[int, ...]) -> dict[str, Any]:
    return {"summary": summary, "parameters": [CSRF], "responses": {**DELETED, **errors(*codes)}}


def _link(operation: dict[str, Any]) -> dict[str, Any]:
    return {"security": LINK_SECURITY, **operation}


LINK = (400, 401, 403, 404, 410, 413)

THREAD_PATHS: dict[str, Any] = {
    "/api/threads": {
        "get": {
            "summary": "The inbox: threads the caller takes part in, newest activity first (100)",
            "responses": {
                "200": json_content(
                    {
                        "type": "object",
                        "properties": {"threads": {"type": "array", "items": ref("InboxItem")}},
                    }
                ),
                **errors(401),
            },
        }
    },
    "/api/threads/{id}": {
        "parameters": [ID],
        "get": {
            "summary": "The thread document: every message with listening state and reactions",
            "responses": {"200": json_content(ref("Thread")), **errors(401, 404)},
        },
    },
    "/api/threads/{id}/events": {
        "parameters": [ID],
        "get": _events("Live updates of the thread", (400, 401, 404)),
    },
    "/api/threads/{id}/links": {
        "parameters": [ID],
        "get": {
            "summary": "The thread's share links, live or not (owner, members and admins)",
            "responses": {
                "200": json_content(
                    {
                        "type": "object",
                        "properties": {"links": {"type": "array", "items": ref("Link")}},
                    }
                ),
                **errors(401, 403, 404),
            },
        },
        "post": {
            "summary": "Create a share link (at most 50 per thread)",
            "parameters": [CSRF],
            "requestBody": body(ref("NewLink")),
            "responses": {
                "201": json_content(ref("Link"), "created"),
                **errors(400, 401, 403, 404, 413),
            },
        },
    },
    "/api/links/{token}": {
        "parameters": [TOKEN],
        "delete": {
            "summary": "Revoke a link (thread owner, link creator or admin); it answers 410 after",
            "parameters": [CSRF],
            "responses": {"204": {"description": "revoked"}, **errors(401, 403, 404)},
        },
    },
    "/api/messages/{id}/listen": {
        "parameters": [ID],
        "put": _listen("Report how far the caller listened", (400, 401, 403, 404, 413)),
    },
    "/api/messages/{id}/reactions": {
        "parameters": [ID],
        "post": _react("React with one emoji, optionally at a moment", (400, 401, 403, 404, 413)),
    },
    "/api/messages/{id}/reactions/{reaction}": {
        "parameters": [ID, REACTION],
        "delete": _unreact("Remove one of the caller's own reactions", (401, 403, 404)),
    },
    # -- behind a share link ----------------------------------------------------------------
    "/s/{token}/status": {
        "parameters": [TOKEN],
        "get": _link(
            {
                "summary": "The message the link opens at (its page polls this while processing)",
                "responses": {"200": json_content(MESSAGE), **errors(401, 404, 410)},
            }
        ),
    },
    "/s/{token}/transcript": {
        "parameters": [TOKEN],
        "get": _link(
            {
                "summary": "Transcript of the message the link opens at",
                "responses": {"200": json_content(TRANSCRIPT), **errors(401, 404, 410)},
            }
        ),
    },
    "/s/{token}/thread": {
        "parameters": [TOKEN],
        "get": _link(
            {
                "summary": "The thread document through a link",
                "description": f"401 `passcode_required` until the passcode is given; {GONE}.",
                "responses": {"200": json_content(ref("Thread")), **errors(401, 404, 410)},
            }
        ),
    },
    "/s/{token}/events": {
        "parameters": [TOKEN],
        "get": _link(_events("Live updates through a link", (400, 401, 404, 410))),
    },
    "/s/{token}/guest": {
        "parameters": [TOKEN],
        "post": {
            "security": [{}, {"linkUnlock": []}],
            "summary": "Give a display name on a reply link: a guest bound to this link only",
            "description": "Sets the `relay_guest` cookie (path /s/{token}, 90 days). JSON only, "
            "so a cross-site form cannot send it; 403 on a view-only link; 429 when the link "
            "took RELAY_GUESTS_PER_LINK_HOUR new names in the past hour.",
            "requestBody": body(
                {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 60}},
                }
            ),
            "responses": {
                "201": {
                    **json_content(ref("Guest"), "created"),
                    "headers": {"Set-Cookie": {"schema": STRING}},
                },
                **errors(400, 401, 403, 404, 410, 413, 429),
            },
        },
    },
    "/s/{token}/messages": {
        "parameters": [TOKEN],
        "post": _link(
            {
                "summary": "Reply through a reply link; audio/video replies get a tus upload",
                "description": "`upload_url` points below /s/{token}/uploads/. 403 on a "
                "view-only link or without a name (guests call /s/{token}/guest first); 429 "
                "past a guest's hourly quota or the open uploads per person; 507 when the "
                "server is short of disk space.",
                "parameters": [CSRF],
                "requestBody": body(ref("NewLinkMessage")),
                "responses": {
                    "201": json_content(THREAD_MESSAGE, "created"),
                    **errors(400, 401, 403, 404, 410, 413, 429, 507),
                },
            }
        ),
    },
    "/s/{token}/messages/{id}": {
        "parameters": [TOKEN, ID],
        "delete": _link(
            {
                "summary": "Delete one's own message and all its media",
                "parameters": [CSRF],
                "responses": {**DELETED, **errors(401, 403, 404, 410)},
            }
        ),
    },
    "/s/{token}/messages/{id}/listen": {
        "parameters": [TOKEN, ID],
        "put": _link(_nameless(_listen("Report how far someone listened through a link", LINK))),
    },
    "/s/{token}/messages/{id}/reactions": {
        "parameters": [TOKEN, ID],
        "post": _link(_react("React through a reply link", (400, 401, 403, 404, 410, 413, 429))),
    },
    "/s/{token}/messages/{id}/reactions/{reaction}": {
        "parameters": [TOKEN, ID, REACTION],
        "delete": _link(_unreact("Remove one's own reaction", (401, 403, 404, 410))),
    },
    "/s/{token}/messages/{id}/transcript": {
        "parameters": [TOKEN, ID],
        "get": _link(
            {
                "summary": "Transcript of a message in the link's thread",
                "responses": {"200": json_content(TRANSCRIPT), **errors(401, 404, 410)},
            }
        ),
    },
    "/oembed": {
        "get": {
            "security": [],
            "summary": "oEmbed 1.0 (type `link`) for a share link without a passcode",
            "description": "404 for unknown, revoked or expired links and URLs that are not "
            "share links of this site; 401 for protected links.",
            "parameters": [
                {
                    "name": "url",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "maxLength": 2000},
                    "description": "a share link, https://relay.example/s/{token}",
                },
                {
                    "name": "format",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "default": "json"},
                    "description": "only `json`; anything else answers 501",
                },
            ],
            "responses": {
                "200": json_content(ref("OEmbed")),
                **errors(400, 401, 404, 501),
            },
        }
    },
}
