"""Fuzzing the whole API with schemathesis against the served /api/openapi.json: a real
`relay` app (embedded stack) behind uvicorn, with a user, a thread, a reply link, a reaction
and an open upload, so that ids in paths resolve. Any 5xx, or any answer the document does not
allow, fails. RELAY_FUZZ_EXAMPLES raises the number of examples per operation (README)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.schemas import APIOperation
from sqlalchemy import update

from relay import auth
from relay.db import create_engine, sessionmaker
from relay.enums import MessageStatus
from relay.models import Message, Rendition
from relay.settings import JobSettings, Settings
from relay.web.app import create_app
from tests.conftest import run_apart
from tests.support.server import TUS, free_port

EXAMPLES = int(os.environ.get("RELAY_FUZZ_EXAMPLES", "30"))
# The normal suite fuzzes the same examples every run; a longer run explores new ones.
DERANDOMIZE = "RELAY_FUZZ_EXAMPLES" not in os.environ
TIMEOUT = 10.0  # seconds for one request
DEADLINE = timedelta(seconds=30)  # for one example: its request and the checks' own requests
# Schemathesis' statuses for refused input, and 413: a JSON body over 64 KiB.
NEGATIVE = [
    "400",
    "401",
    "403",
    "404",
    "405",
    "406",
    "409",
    "413",
    "415",
    "422",
    "428",
    "429",
    "5xx",
]
CONFIG = {
    "checks": {
        "negative_data_rejection": {"expected-statuses": NEGATIVE},
        # Schema-valid requests may still break rules that JSON Schema cannot state and the
        # document states in words, answered with a documented 400: "one emoji", "within the
        # message", "a text message has a body". Everything else is checked: 5xx, undocumented
        # statuses, content types, headers and bodies, invalid input accepted, auth ignored.
        "positive_data_acceptance": {"enabled": False},
    },
    "operations": [
        {
            # tus 1.0: a missing or other Tus-Resumable answers 412 Precondition Failed.
            "include-path-regex": "/uploads/",
            "checks": {
                "negative_data_rejection": {"expected-statuses": [*NEGATIVE, "412"]},
                "missing_required_header": {"expected-statuses": ["400", "401", "412"]},
            },
        },
        {
            # oEmbed 1.0: a format other than JSON answers 501 Not Implemented.
            "include-path": "/oembed",
            "checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "501"]}},
        },
        # A live stream never ends: it is read for a second.
        {"include-path-regex": "/events$", "request-timeout": 1},
    ],
}
AUDIO = b"\x00\x00\x00\x18ftypM4A " + b"x" * 2000


@dataclass
class Target:
    """The served app and real values for the ids in its paths."""

    base: str
    token: str  # the author's API token
    values: dict[str, dict[str, str]]  # operation or path prefix -> parameter -> real value


def _seed(base: str, token: str, settings: Settings) -> dict[str, dict[str, str]]:
    """A thread of four messages (the first ready, with media; two to delete), a reply link,
    a view link to revoke, a reaction and an open upload; returns path values by operation
    ("METHOD path") or by path prefix, over the defaults under ""."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=TIMEOUT) as http:

        def post(path: str, body: dict) -> dict:
            response = http.post(path, json=body)
            assert response.status_code == 201, response.text
            return response.json()

        first = post("/api/messages", {"kind": "audio", "title": "Fuzz"})
        thread, message = first["thread_id"], first["id"]
        reply = post("/api/messages", {"kind": "text", "body": "hi", "parent_id": message})
        doomed = post("/api/messages", {"kind": "text", "body": "bye", "parent_id": message})
        by_link = post("/api/messages", {"kind": "text", "body": "x", "parent_id": message})
        link = post(f"/api/threads/{thread}/links", {"rights": "reply"})["token"]
        revocable = post(f"/api/threads/{thread}/links", {"rights": "view"})["token"]
        run_apart(_make_ready(settings, message))
        reaction = post(f"/api/messages/{reply['id']}/reactions", {"emoji": "👍"})["id"]
        created = http.post(
            "/api/uploads/",
            headers={**TUS, "Upload-Length": "100", "Upload-Metadata": "filename YS5tNGE="},
        )
        assert created.status_code == 201, created.text
        upload = created.headers["location"].rsplit("/", 1)[1]
    ids = {"id": message, "token": link, "reaction": str(reaction), "position": "0"}
    return {
        "": ids,
        "DELETE /api/messages/{id}": {"id": doomed["id"]},
        "DELETE /s/{token}/messages/{id}": {**ids, "id": by_link["id"]},
        "DELETE /api/links/{token}": {"token": revocable},
        "/api/messages/{id}/reactions/{reaction}": {**ids, "id": reply["id"]},
        "/s/{token}/messages/{id}/reactions/{reaction}": {**ids, "id": reply["id"]},
        "/api/threads/{id}": {"id": thread},
        "/api/uploads/{id}": {"id": upload},
        "/s/{token}/uploads/{id}": {**ids, "id": upload},
    }


async def _make_ready(settings: Settings, message_id: str) -> None:
    """The first message as if processed: ready, 4 s long, with an audio rendition."""
    engine = create_engine(settings.database_url)
    key = f"renditions/{message_id}/audio.m4a"
    (settings.media_dir / "renditions" / message_id).mkdir(parents=True, exist_ok=True)
    (settings.media_dir / key).write_bytes(AUDIO)
    async with sessionmaker(engine).begin() as session:
        await session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(status=MessageStatus.ready, duration=4.0)
        )
        session.add(
            Rendition(
                message_id=message_id,
                name="audio",
                storage_key=key,
                mime="audio/mp4",
                bytes=len(AUDIO),
            )
        )
    await engine.dispose()


def values_for(target: Target, method: str, path: str) -> dict[str, str]:
    """Real path values for an operation: its own, else those of the longest path prefix."""
    values = target.values
    if (own := values.get(f"{method} {path}")) is not None:
        return {**values[""], **own}
    prefixes = [key for key in values if key and " " not in key and path.startswith(key)]
    return {**values[""], **(values[max(prefixes, key=len)] if prefixes else {})}


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Target]:
    settings_ = Settings(
        data_dir=tmp_path / "var",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}",
        media_dir=tmp_path / "var" / "media",
        spool_dir=tmp_path / "var" / "spool",
        workers=0,
        jobs=JobSettings(poll_seconds=0.1),
    )
    port = free_port()
    config = uvicorn.Config(create_app(settings_), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        while not server.started and thread.is_alive():
            time.sleep(0.05)
        token = run_apart(_add_author(settings_))
        yield Target(base, token, _seed(base, token, settings_))
    finally:
        server.should_exit = True
        thread.join(15)


async def _add_author(settings: Settings) -> str:
    engine = create_engine(settings.database_url)
    async with sessionmaker(engine).begin() as session:
        user = await auth.create_user(session, "fuzz@example.org", "a long passphrase")
        token = await auth.issue_api_token(session, user)
    await engine.dispose()
    return token


def test_api_answers_as_documented(target: Target) -> None:
    config = SchemathesisConfig.from_dict({**CONFIG, "request-timeout": TIMEOUT})
    schema = schemathesis.openapi.from_url(f"{target.base}/api/openapi.json", config=config)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        try:
            fuzz(operation, target)
        except (Exception, BaseExceptionGroup) as exc:  # every operation runs; all are reported
            failures.append(f"{operation.label}: {exc}")
    assert operations > 30
    assert not failures, "\n\n".join(failures)


def fuzz(operation: APIOperation, target: Target) -> None:
    """Positive and negative cases, half of them with path values that exist."""
    strategies = [operation.as_strategy(mode) for mode in GenerationMode]
    if "{" in operation.path:
        real = values_for(target, operation.method.upper(), operation.path)
        strategies += [
            operation.as_strategy(mode, path_parameters=_pick(real, operation.path))
            for mode in GenerationMode
        ]

    @given(case=st.one_of(strategies))
    @settings(
        max_examples=EXAMPLES,
        deadline=DEADLINE,
        database=None,
        derandomize=DERANDOMIZE,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Case) -> None:
        headers = {"Authorization": f"Bearer {target.token}"}
        case.call_and_validate(base_url=target.base, headers=headers)

    run()


def _pick(values: dict[str, str], path: str) -> dict[str, str]:
    return {name: value for name, value in values.items() if f"{{{name}}}" in path}
