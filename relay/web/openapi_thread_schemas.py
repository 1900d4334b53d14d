"""OpenAPI schemas of threads, links, guests, listening, reactions and live events."""

from __future__ import annotations

from typing import Any

from relay.auth import MAX_PASSCODE, MIN_PASSCODE
from relay.web.openapi_parts import MESSAGE, NULLABLE_STRING, SECONDS, STRING, THREAD_MESSAGE, ref

PERSON = ref("Person")
_PERSON_FIELDS = {
    "id": {"type": ["string", "null"], "description": "null for a deleted user"},
    "name": STRING,
    "guest": {"type": "boolean", "description": "gave only a name on a link"},
}

THREAD_SCHEMAS: dict[str, Any] = {
    "Person": {"type": "object", "properties": _PERSON_FIELDS},
    "InboxItem": {
        "type": "object",
        "properties": {
            "id": STRING,
            "title": {"type": "string", "description": "the first message title, or empty"},
            "url": {"type": "string", "description": "the thread's page, /t/{id}"},
            "last_activity_at": {"type": "string", "format": "date-time"},
            "messages": {"type": "integer"},
            "unread": {"type": "integer", "description": "playable messages of others unheard"},
            "waiting_on_you": {"type": "boolean"},
            "participants": {
                "type": "array",
                "description": "the others in the thread, the latest speaker first",
                "items": {"type": "object", "properties": {"id": STRING, "name": STRING}},
            },
            "latest": {
                "type": ["object", "null"],
                "properties": {
                    "kind": {"enum": ["audio", "video", "text"]},
                    "status": {"enum": ["uploading", "processing", "ready", "failed"]},
                    "duration": {"type": ["number", "null"]},
                    "author": STRING,
                    "author_id": STRING,
                    "mine": {"type": "boolean", "description": "written by the caller"},
                    "text": {
                        "type": "string",
                        "description": "the start of the body, or of a finished transcript",
                    },
                    "created_at": {"type": "string", "format": "date-time"},
                },
            },
        },
    },
    "Thread": {
        "type": "object",
        "properties": {
            "id": STRING,
            "title": STRING,
            "created_at": {"type": "string", "format": "date-time"},
            "last_activity_at": {"type": "string", "format": "date-time"},
            "owner": PERSON,
            "me": {
                "type": "object",
                "properties": {
                    "id": NULLABLE_STRING,
                    "name": NULLABLE_STRING,
                    "role": {"enum": ["owner", "member", "viewer", "guest", "admin", "visitor"]},
                    "can_reply": {"type": "boolean"},
                    "can_share": {"type": "boolean"},
                    "needs_name": {
                        "type": "boolean",
                        "description": "a reply link's visitor may reply after giving a name",
                    },
                },
            },
            "urls": {
                "type": "object",
                "description": "where this caller finds the thread's API (member or link URLs)",
                "properties": {
                    "self": STRING,
                    "events": STRING,
                    "messages": STRING,
                    "guest": NULLABLE_STRING,
                    "links": NULLABLE_STRING,
                },
            },
            "csrf": {
                "type": ["string", "null"],
                "description": "X-CSRF-Token for changes made with a cookie",
            },
            "messages": {"type": "array", "items": THREAD_MESSAGE, "maxItems": 1000},
            "waiting_on": {"type": "array", "items": PERSON},
            "first_unheard": {"type": ["string", "null"], "description": "a message id"},
        },
    },
    "ThreadMessage": {
        "allOf": [
            MESSAGE,
            {
                "type": "object",
                "properties": {
                    "at": {**SECONDS, "description": "seconds into the parent it answers"},
                    "author": PERSON,
                    "mine": {"type": "boolean"},
                    "new": {"type": "boolean", "description": "playable and not heard yet"},
                    "listen": {
                        "type": ["object", "null"],
                        "description": "the caller's own listening state",
                        "properties": {
                            "position": {"type": "number"},
                            "heard": {"type": "boolean"},
                        },
                    },
                    "seen_by": {
                        "type": "array",
                        "description": "who listened how far; filled for the author only",
                        "items": {
                            "type": "object",
                            "properties": {
                                **_PERSON_FIELDS,
                                "position": {"type": "number"},
                                "heard": {"type": "boolean"},
                            },
                        },
                    },
                    "anonymous_listeners": {
                        "type": "object",
                        "description": "people who played it through a link without giving "
                        "a name (one per browser); filled for the author only",
                        "properties": {
                            "count": {"type": "integer", "minimum": 0},
                            "heard": {"type": "integer", "minimum": 0},
                        },
                    },
                    "reactions": {"type": "array", "items": ref("ThreadReaction")},
                    "urls": {
                        "type": "object",
                        "properties": {
                            "listen": STRING,
                            "reactions": STRING,
                            "transcript": STRING,
                            "delete": {
                                "type": ["string", "null"],
                                "description": "for the caller's own messages",
                            },
                            "language": {
                                "type": ["string", "null"],
                                "description": "PATCH here to set the language of the "
                                "caller's own message (signed in, not as a guest)",
                            },
                        },
                    },
                },
            },
        ]
    },
    "ThreadReaction": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "emoji": STRING,
            "at": SECONDS,
            "user": PERSON,
            "mine": {"type": "boolean"},
        },
    },
    "NewLinkMessage": {
        "type": "object",
        "required": ["kind"],
        "properties": {
            "kind": {"enum": ["audio", "video", "text"]},
            "title": {"type": "string", "maxLength": 300},
            "body": {"type": "string", "maxLength": 20000, "description": "text messages only"},
            "parent_id": {
                "type": "string",
                "description": "a message of the link's thread; by default its newest",
            },
            "at": {**SECONDS, "description": "seconds into the parent"},
        },
    },
    "NewLink": {
        "type": "object",
        "properties": {
            "rights": {"enum": ["view", "reply", None], "default": "reply"},
            "expires_in": {
                "type": ["number", "null"],
                "minimum": 60,
                "maximum": 366 * 86400,
                "description": "seconds from now; none: never expires",
            },
            "label": {"type": "string", "maxLength": 200},
            "passcode": {
                "anyOf": [
                    {"type": "string", "minLength": MIN_PASSCODE, "maxLength": MAX_PASSCODE},
                    {"const": ""},
                    {"type": "null"},
                ],
                "description": "empty or null: no passcode",
            },
            "message_id": {
                "type": "string",
                "description": "where the link opens; by default the thread's first message",
            },
        },
    },
    "Link": {
        "type": "object",
        "properties": {
            "token": STRING,
            "url": STRING,
            "rights": {"enum": ["view", "reply"]},
            "label": STRING,
            "passcode": {"type": "boolean", "description": "whether a passcode protects it"},
            "message_id": STRING,
            "created_by": STRING,
            "created_at": {"type": "string", "format": "date-time"},
            "expires_at": {"type": ["string", "null"], "format": "date-time"},
            "revoked_at": {"type": ["string", "null"], "format": "date-time"},
            "live": {"type": "boolean"},
            "used_by": {
                "type": "object",
                "description": "guests and colleagues who came through it, and how many "
                "played something there without a name",
                "properties": {
                    "names": {"type": "array", "items": STRING},
                    "anonymous": {"type": "integer", "minimum": 0},
                },
            },
            "can_revoke": {
                "type": "boolean",
                "description": "the caller may revoke it (the thread's owner, the link's "
                "creator, an admin)",
            },
        },
    },
    "NewListen": {
        "type": "object",
        "properties": {
            "position": {
                "type": ["number", "null"],
                "minimum": 0,
                "default": 0,
                "description": "seconds, within the message; null: 0",
            },
            "heard": {"type": "boolean", "default": False},
        },
    },
    "Listen": {
        "type": "object",
        "properties": {
            "message_id": STRING,
            "position": {"type": "number", "description": "the furthest point reached"},
            "heard": {"type": "boolean"},
        },
    },
    "NewReaction": {
        "type": "object",
        "required": ["emoji"],
        "properties": {
            "emoji": {
                "type": "string",
                "maxLength": 10,
                "description": "one emoji; ZWJ sequences, skin tones, keycaps and flags count "
                "as one, format characters and text are refused",
            },
            "at": {**SECONDS, "description": "a moment within the message"},
        },
    },
    "Reaction": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "message_id": STRING,
            "emoji": STRING,
            "at": SECONDS,
        },
    },
    "Guest": {
        "type": "object",
        "properties": {
            "id": STRING,
            "name": STRING,
            "csrf": {"type": "string", "description": "X-CSRF-Token for the guest's changes"},
        },
    },
    "LiveEvent": {
        "type": "object",
        "description": "the `data:` of a server-sent event; `revoked` carries only `kind`",
        "properties": {
            "id": {"type": "integer"},
            "thread_id": NULLABLE_STRING,
            "kind": {
                "enum": [
                    "message",
                    "status",
                    "transcript",
                    "reaction",
                    "listen",
                    "deleted",
                    "link",
                    "resync",
                    "revoked",
                ]
            },
            "message_id": NULLABLE_STRING,
        },
    },
    "OEmbed": {
        "type": "object",
        "properties": {
            "version": {"const": "1.0"},
            "type": {"const": "link"},
            "provider_name": STRING,
            "provider_url": STRING,
            "title": STRING,
            "author_name": STRING,
            "cache_age": {"type": "integer"},
            "thumbnail_url": {"type": "string", "description": "when the message has a poster"},
        },
    },
}

LINK_SECURITY_SCHEMES: dict[str, Any] = {
    "guest": {
        "type": "apiKey",
        "in": "cookie",
        "name": "relay_guest",
        "description": "Set by POST /s/{token}/guest; sent only below /s/{token} and valid "
        "only behind that link.",
    },
    "linkUnlock": {
        "type": "apiKey",
        "in": "cookie",
        "name": "relay_unlock",
        "description": "Set by the passcode form (POST /s/{token}/unlock); a link with a "
        "passcode answers 401 `passcode_required` without it.",
    },
}
