"""The OpenAPI 3.1 document of every JSON endpoint, served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from relay.search import MAX_QUERY
from relay.web.openapi_media import MEDIA_PATHS
from relay.web.openapi_message_schemas import MESSAGE_SCHEMAS
from relay.web.openapi_parts import bare_errors as _bare
from relay.web.openapi_parts import behind_link
from relay.web.openapi_parts import errors as _errors
from relay.web.openapi_parts import json_content as _json
from relay.web.openapi_push import PUSH_PATHS
from relay.web.openapi_thread_schemas import LINK_SECURITY_SCHEMES, THREAD_SCHEMAS
from relay.web.openapi_threads import THREAD_PATHS

TUS_HEADERS = {"Tus-Resumable": {"schema": {"type": "string", "const": "1.0.0"}}}

MESSAGE = {"$ref": "#/components/schemas/Message"}
ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
TUS_IN = [
    {
        "name": "Tus-Resumable",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "`1.0.0`; any other value answers 412",
    }
]

TRANSCRIPT = {"$ref": "#/components/schemas/Transcript"}
ME = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "email": {"type": "string"},
        "display_name": {"type": "string"},
        "is_admin": {"type": "boolean"},
        "language": {"type": ["string", "null"]},
    },
}

PATHS: dict[str, Any] = {
    "/healthz": {
        "get": {
            "security": [],
            "summary": "Process is alive",
            "responses": {"200": _json({"type": "object"})},
        }
    },
    "/api/openapi.json": {
        "get": {
            "security": [],
            "summary": "This document",
            "responses": {"200": _json({"type": "object"})},
        }
    },
    "/readyz": {
        "get": {
            "security": [],
            "summary": "Database and storage are reachable",
            "responses": {
                "200": _json({"type": "object"}),
                "503": _json({"type": "object"}, "not ready"),
            },
        }
    },
    "/api/messages": {
        "post": {
            "summary": "Create a message; audio/video ones get a deferred-length tus upload",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/NewMessage"}}
                },
            },
            "description": "429: too many unfinished uploads (RELAY_OPEN_UPLOADS_PER_USER); "
            "507: the server is short of disk space.",
            "responses": {
                "201": _json(MESSAGE, "created"),
                **_errors(400, 401, 403, 404, 413, 429, 507),
            },
        },
        "get": {
            "summary": "The caller's messages, newest first",
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {"messages": {"type": "array", "items": MESSAGE}},
                    }
                ),
                **_errors(401),
            },
        },
    },
    "/api/messages/{id}": {
        "parameters": ID,
        "get": {
            "summary": "Status, renditions and failure reason",
            "responses": {"200": _json(MESSAGE), **_errors(401, 404)},
        },
        "patch": {
            "summary": "The author sets the message's language; a playable recording is "
            "transcribed again in it",
            "description": "`null` detects the language. The transcript goes back to `pending` "
            "and a transcription job is queued (sending the same language again retries a "
            "failed transcript); a message still being processed is transcribed in the new "
            "language when it is ready. 403 for members who are not the author.",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["language"],
                            "additionalProperties": False,
                            "properties": {
                                "language": {
                                    "type": ["string", "null"],
                                    "pattern": "^[A-Za-z]{2}$",
                                    "examples": ["nl", "en"],
                                }
                            },
                        }
                    }
                },
            },
            "responses": {"200": _json(MESSAGE), **_errors(400, 401, 403, 404)},
        },
        "delete": {
            "summary": "Delete the message and all its media",
            "responses": {"204": {"description": "deleted"}, **_errors(401, 403, 404)},
        },
    },
    "/api/messages/{id}/transcript": {
        "parameters": ID,
        "get": {
            "summary": "Transcript with timed segments (and what the model heard, if corrected)",
            "responses": {"200": _json(TRANSCRIPT), **_errors(401, 404)},
        },
    },
    "/api/messages/{id}/transcript/segments/{position}": {
        "parameters": [
            *ID,
            {"name": "position", "in": "path", "required": True, "schema": {"type": "integer"}},
        ],
        "patch": {
            "summary": "The author corrects one segment; captions and search follow",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["text"],
                            "properties": {"text": {"type": "string", "maxLength": 2000}},
                        }
                    }
                },
            },
            "responses": {"200": _json(TRANSCRIPT), **_errors(400, 401, 403, 404)},
        },
    },
    "/api/search": {
        "get": {
            "summary": "Full-text search in transcripts and text messages the caller can see",
            "parameters": [
                {
                    "name": "q",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY},
                }
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "query": {"type": "string"},
                            "hits": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "message_id": {"type": "string"},
                                        "title": {"type": "string"},
                                        "kind": {"type": "string"},
                                        "start": {"type": "number"},
                                        "snippet_html": {"type": "string"},
                                        "url": {"type": "string"},
                                        "thread_id": {"type": "string"},
                                        "thread_title": {"type": "string"},
                                        "speaker": {"type": "string"},
                                        "thread_url": {
                                            "type": "string",
                                            "description": "the thread page, playing the "
                                            "message from the hit",
                                        },
                                    },
                                },
                            },
                        },
                    }
                ),
                **_errors(400, 401),
            },
        },
    },
    "/api/me": {
        "get": {"summary": "The caller", "responses": {"200": _json(ME), **_errors(401)}},
        "patch": {
            "summary": "Set the caller's transcription language ('nl', 'en' or null)",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "responses": {"200": _json(ME), **_errors(400, 401, 403)},
        },
    },
    "/api/uploads/": {
        "options": {
            "security": [],
            "summary": "tus capabilities",
            "responses": {"204": {"description": "Tus-Version, Tus-Extension, Tus-Max-Size"}},
        },
        "post": {
            "summary": "tus creation (Upload-Length or Upload-Defer-Length: 1; Upload-Metadata "
            "`message`, `filename`, `filetype`, `title`); a body makes it creation-with-upload",
            "parameters": TUS_IN,
            "responses": {
                "201": {
                    "description": "created; Location is the upload URL",
                    "headers": TUS_HEADERS,
                },
                **_errors(400, 401, 403, 404, 409, 412, 413, 429, 507),
            },
        },
    },
    "/api/uploads/{id}": {
        "parameters": ID,
        "options": {
            "security": [],
            "summary": "tus capabilities",
            "responses": {"204": {"description": "Tus-Version, Tus-Extension, Tus-Max-Size"}},
        },
        "head": {
            "summary": "tus offset",
            "parameters": TUS_IN,
            "responses": {
                "200": {"description": "Upload-Offset, Upload-Length"},
                **_bare(401, 404, 410, 412),
            },
        },
        "patch": {
            "summary": "tus append at Upload-Offset (application/offset+octet-stream)",
            "parameters": TUS_IN,
            "responses": {
                "204": {"description": "stored; Upload-Offset is the new offset"},
                **_errors(400, 401, 403, 404, 409, 410, 412, 413, 415, 423, 507),
            },
        },
        "delete": {
            "summary": "tus termination",
            "parameters": TUS_IN,
            "responses": {
                "204": {"description": "terminated"},
                **_errors(401, 403, 404, 409, 410, 412, 423),
            },
        },
    },
    **THREAD_PATHS,
}
PATHS["/s/{token}/uploads/{id}"] = behind_link(PATHS["/api/uploads/{id}"])
PATHS |= MEDIA_PATHS | PUSH_PATHS

COMPONENTS: dict[str, Any] = {
    "schemas": {
        **MESSAGE_SCHEMAS,
        **THREAD_SCHEMAS,
    },
    "securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer"},
        "session": {"type": "apiKey", "in": "cookie", "name": "relay_session"},
        **LINK_SECURITY_SCHEMES,
    },
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Relay", "version": "0.1.0"},
    "security": [{"bearer": []}, {"session": []}],
    "paths": PATHS,
    "components": COMPONENTS,
}


async def document(request: Request) -> Response:
    return JSONResponse(DOCUMENT)
