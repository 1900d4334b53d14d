"""The building blocks of the OpenAPI document: references, error responses, path
parameters and the security of a share link's paths."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def errors(*codes: int) -> dict[str, Any]:
    return {
        str(c): {"description": "error", "content": {"application/json": {"schema": ERROR}}}
        for c in codes
    }


def bare_errors(*codes: int) -> dict[str, Any]:
    """Errors of HEAD requests: a status and headers, no body."""
    return {str(c): {"description": "error (no body: HEAD)"} for c in codes}


def json_content(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def in_path(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "description": description,
    }


STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
SECONDS = {"type": ["number", "null"], "minimum": 0}
ID = in_path("id", STRING, "a thread or message id")
TOKEN = in_path("token", {"type": "string", "minLength": 8, "maxLength": 64}, "share link token")
REACTION = in_path("reaction", {"type": "integer", "minimum": 0}, "reaction id")
CSRF = {
    "name": "X-CSRF-Token",
    "in": "header",
    "required": False,
    "schema": STRING,
    "description": "required when a cookie (session or guest) authenticates the call: the "
    "`csrf` of the thread document, or of POST /s/{token}/guest; a wrong one answers 403",
}
GONE = "410 for a revoked or expired link (or a deleted thread)"
# Behind a link nothing is required; a passcode-protected link needs its unlock cookie, and a
# guest (or a signed-in user) is who replies and reacts.
LINK_SECURITY: list[dict[str, list[str]]] = [
    {},
    {"linkUnlock": []},
    {"guest": []},
    {"guest": [], "linkUnlock": []},
    {"session": []},
    {"bearer": []},
]
DELETED = {"204": {"description": "deleted"}}
MESSAGE = ref("Message")
THREAD_MESSAGE = ref("ThreadMessage")
TRANSCRIPT = ref("Transcript")


def behind_link(item: dict[str, Any]) -> dict[str, Any]:
    """A tus path item as served below /s/{token}/uploads/ for replies through a link."""
    scoped: dict[str, Any] = {"parameters": [TOKEN, *item.get("parameters", [])]}
    for method, operation in item.items():
        if method == "parameters":
            continue
        operation = {**operation, "summary": f"Behind a share link: {operation['summary']}"}
        if operation.get("security") != []:
            operation = {"security": LINK_SECURITY, **operation}
            more = bare_errors if method == "head" else errors
            operation["responses"] = {**operation["responses"], **more(401, 404, 410)}
            if method != "head":
                operation["responses"] |= errors(403)  # CSRF
        else:  # capabilities, the same everywhere: the token is not looked at
            operation["parameters"] = [{**TOKEN, "schema": STRING}]
        scoped[method] = operation
    return scoped
