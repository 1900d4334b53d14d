"""The OpenAPI paths of Web Push: the server's VAPID key, the caller's browser subscriptions,
and the service worker script."""

from __future__ import annotations

from typing import Any

from relay.notify.subscriptions import MAX_ENDPOINT
from relay.web.openapi_parts import CSRF, body, errors, json_content

ENDPOINT = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_ENDPOINT,
    "pattern": "^https://",
    "description": "the push service's URL for this browser (https)",
}
SUBSCRIPTION = {
    "type": "object",
    "description": "a browser's PushSubscription.toJSON()",
    "required": ["endpoint", "keys"],
    "properties": {
        "endpoint": ENDPOINT,
        "expirationTime": {"type": ["number", "null"]},
        "keys": {
            "type": "object",
            "required": ["p256dh", "auth"],
            "properties": {
                "p256dh": {
                    "type": "string",
                    "maxLength": 128,
                    "description": "the browser's P-256 public key, base64url (65 bytes)",
                },
                "auth": {
                    "type": "string",
                    "maxLength": 64,
                    "description": "the authentication secret, base64url (16 bytes)",
                },
            },
        },
    },
}

PUSH_PATHS: dict[str, Any] = {
    "/api/push/key": {
        "get": {
            "summary": "The server's VAPID public key, to subscribe with",
            "description": "The applicationServerKey of PushManager.subscribe(): an uncompressed "
            "P-256 point, base64url. Made on first use and kept.",
            "responses": {
                "200": json_content(
                    {
                        "type": "object",
                        "required": ["key"],
                        "properties": {"key": {"type": "string"}},
                    }
                ),
                **errors(401),
            },
        }
    },
    "/api/push/subscriptions": {
        "post": {
            "summary": "Send this browser's new messages to it by Web Push",
            "description": "The browser's PushSubscription; the same endpoint again replaces "
            "the earlier subscription (also one made by another account on that browser). "
            "A person keeps at most 20 browsers: the oldest goes. 400 for an endpoint that is "
            "not https or keys that cannot encrypt.",
            "parameters": [CSRF],
            "requestBody": body(SUBSCRIPTION),
            "responses": {
                "201": json_content(
                    {
                        "type": "object",
                        "properties": {
                            "endpoint": {"type": "string"},
                            "created_at": {"type": "string", "format": "date-time"},
                        },
                    },
                    "stored",
                ),
                **errors(400, 401, 403, 413),
            },
        },
        "delete": {
            "summary": "Stop Web Push to a browser of the caller's",
            "description": "204 also when the caller has no such subscription.",
            "parameters": [CSRF],
            "requestBody": body(
                {"type": "object", "required": ["endpoint"], "properties": {"endpoint": ENDPOINT}}
            ),
            "responses": {"204": {"description": "removed"}, **errors(400, 401, 403, 413)},
        },
    },
    "/sw.js": {
        "get": {
            "security": [],
            "summary": "The service worker that shows pushes (scope: the whole site)",
            "responses": {
                "200": {
                    "description": "the script",
                    "content": {"text/javascript": {"schema": {"type": "string"}}},
                }
            },
        }
    },
}
