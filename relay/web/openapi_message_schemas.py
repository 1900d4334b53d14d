"""OpenAPI schemas of messages, uploads, transcripts, search results and errors."""

from __future__ import annotations

from typing import Any

MESSAGE_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "detail"],
        "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
    },
    "NewMessage": {
        "type": "object",
        "required": ["kind"],
        "properties": {
            "kind": {"enum": ["audio", "video", "text"]},
            "title": {"type": "string", "maxLength": 300},
            "body": {"type": "string", "description": "text messages only"},
            "parent_id": {"type": "string", "description": "reply to this message"},
            "at": {
                "type": ["number", "null"],
                "minimum": 0,
                "description": "with parent_id: the moment (seconds into the parent) "
                "this reply answers",
            },
            "language": {
                "type": ["string", "null"],
                "description": "two-letter transcription language; null: detect",
            },
        },
    },
    "Rendition": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "mime": {"type": "string"},
            "bytes": {"type": "integer"},
            "width": {"type": ["integer", "null"]},
            "height": {"type": ["integer", "null"]},
            "duration": {"type": ["number", "null"]},
            "url": {"type": "string"},
        },
    },
    "Transcript": {
        "type": "object",
        "properties": {
            "status": {"enum": ["none", "pending", "running", "done", "failed", "unavailable"]},
            "language": {"type": ["string", "null"]},
            "language_probability": {"type": ["number", "null"]},
            "model": {"type": "string"},
            "text": {"type": "string"},
            "error": {"type": ["string", "null"]},
            "edited": {"type": "boolean"},
            "segments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "position": {"type": "integer"},
                        "start": {"type": "number"},
                        "end": {"type": "number"},
                        "text": {"type": "string"},
                        "machine_text": {"type": "string"},
                        "edited": {"type": "boolean"},
                    },
                },
            },
        },
    },
    "Message": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "kind": {"enum": ["audio", "video", "text"]},
            "status": {"enum": ["uploading", "processing", "ready", "failed"]},
            "title": {"type": "string"},
            "body": {"type": "string"},
            "duration": {"type": ["number", "null"]},
            "error": {"type": ["string", "null"]},
            "thread_id": {"type": "string"},
            "parent_id": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "share_url": {"type": ["string", "null"]},
            "steps": {
                "type": "array",
                "description": "media job progress, in order",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "state": {"enum": ["pending", "running", "done", "skipped", "failed"]},
                        "reason": {"type": "string"},
                    },
                },
            },
            "language": {"type": ["string", "null"]},
            "transcript": {
                "type": ["object", "null"],
                "properties": {
                    "status": {"enum": ["pending", "running", "done", "failed", "unavailable"]},
                    "language": {"type": ["string", "null"]},
                    "text": {"type": "string"},
                    "error": {"type": ["string", "null"]},
                },
            },
            "upload_url": {"type": "string", "description": "while uploading"},
            "upload_offset": {"type": "integer", "description": "while uploading"},
            "renditions": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Rendition"},
            },
        },
    },
}
