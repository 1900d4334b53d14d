"""Storage fixtures: a real single-node OpenStack Swift with s3api (infra/swift.sh) and a
`storage` fixture that runs a test once per backend."""

from __future__ import annotations

import os
import secrets
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from relay.settings import MiB, S3Settings
from relay.storage.base import Storage
from relay.storage.local import LocalStorage
from relay.storage.s3 import S3Storage

SWIFT_SCRIPT = Path(__file__).resolve().parents[2] / "infra" / "swift.sh"


@pytest.fixture(scope="session")
def swift_endpoint() -> str:
    """Start Swift once (a no-op when it already answers) and return its S3 endpoint."""
    try:
        result = subprocess.run(
            [str(SWIFT_SCRIPT), "start"], capture_output=True, text=True, timeout=180
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"infra/swift.sh start hung:\n{exc.stdout}\n{exc.stderr}", pytrace=False)
    if result.returncode != 0:
        pytest.fail(
            f"infra/swift.sh start failed with exit code {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}",
            pytrace=False,
        )
    return f"http://127.0.0.1:{os.environ.get('RELAY_SWIFT_PORT', '18080')}"


@pytest.fixture(scope="session")
def s3_settings(swift_endpoint: str) -> Iterator[S3Settings]:
    """A bucket of its own for this test session, emptied and removed at the end."""
    settings = S3Settings(
        bucket=f"relay-test-{secrets.token_hex(4)}",
        endpoint_url=swift_endpoint,
        region="us-east-1",
        access_key="test:tester",
        secret_key="testing",
        addressing="path",
        part_size=5 * MiB,
        presign_seconds=120,
    )
    yield settings
    _remove_bucket(settings)


@pytest.fixture(scope="session")
async def s3_storage(
    s3_settings: S3Settings, tmp_path_factory: pytest.TempPathFactory
) -> S3Storage:
    storage = S3Storage(s3_settings, spool_dir=tmp_path_factory.mktemp("s3-spool"))
    await storage.ensure_bucket()
    return storage


@pytest.fixture(params=["local", "s3"], ids=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """A ready store: a folder under tmp_path, or the session's Swift bucket."""
    if request.param == "local":
        root = tmp_path / "media"
        root.mkdir()
        return LocalStorage(root)
    return request.getfixturevalue("s3_storage")


def _remove_bucket(settings: S3Settings) -> None:
    """Best effort: abort uploads, delete objects, delete the bucket (sync, at teardown)."""
    client = S3Storage(settings, spool_dir=Path("/nonexistent")).client
    bucket = settings.bucket
    try:
        for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
            for upload in page.get("Uploads", []):
                client.abort_multipart_upload(
                    Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if objects:
                client.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
        client.delete_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("NoSuchBucket", "404"):
            warnings.warn(f"could not remove test bucket {bucket}: {exc}", stacklevel=1)
    except BotoCoreError as exc:
        warnings.warn(f"could not remove test bucket {bucket}: {exc}", stacklevel=1)
