"""Settings from RELAY_* variables (relay/settings.py): defaults, parsing, refusals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from relay import settings as settings_module
from relay.settings import MiB, Settings, SettingsError

# Every variable with a value that differs from its default.
EVERY = {
    "RELAY_DATA_DIR": "/srv/relay",
    "RELAY_DATABASE_URL": "postgresql+asyncpg://relay:pw@db:5432/relay",
    "RELAY_STORAGE": "s3",
    "RELAY_MEDIA_DIR": "/mnt/media",
    "RELAY_SPOOL_DIR": "/tmp/spool",
    "RELAY_PUBLIC_URL": "https://relay.example.org",
    "RELAY_ALLOWED_HOSTS": "relay.example.org, *.corp.example",
    "RELAY_HOST": "0.0.0.0",
    "RELAY_PORT": "9000",
    "RELAY_DATABASE_POOL": "12",
    "RELAY_WORKERS": "0",
    "RELAY_MAX_UPLOAD_BYTES": "1048576",
    "RELAY_UPLOAD_EXPIRY_SECONDS": "600",
    "RELAY_SESSION_DAYS": "7",
    "RELAY_COOKIE_SECURE": "true",
    "RELAY_AUTO_MIGRATE": "false",
    "RELAY_ACCEL_REDIRECT": "/internal-media/",
    "RELAY_S3_BUCKET": "media",
    "RELAY_S3_ENDPOINT_URL": "http://minio:9000",
    "RELAY_S3_PUBLIC_ENDPOINT_URL": "https://media.example.org",
    "RELAY_S3_REGION": "eu-west-1",
    "RELAY_S3_ACCESS_KEY": "AKID",
    "RELAY_S3_SECRET_KEY": "SECRET",
    "RELAY_S3_ADDRESSING": "virtual",
    "RELAY_S3_PART_SIZE": str(16 * MiB),
    "RELAY_S3_PRESIGN_SECONDS": "60",
    "RELAY_S3_CREATE_BUCKET": "no",
    "RELAY_JOB_LEASE_SECONDS": "12.5",
    "RELAY_JOB_MAX_ATTEMPTS": "3",
    "RELAY_JOB_TRANSCRIBE_ATTEMPTS": "2",
    "RELAY_JOB_RETRY_BASE_SECONDS": "0.25",
    "RELAY_JOB_POLL_SECONDS": "2",
    "RELAY_LIVE_JOBS": "3",
    "RELAY_FFMPEG_CONCURRENCY": "4",
    "RELAY_FFMPEG_THREADS": "2",
    "RELAY_FFMPEG_NICE": "5",
    "RELAY_MAX_DURATION_SECONDS": "90.5",
    "RELAY_KEEP_ORIGINALS": "off",
    "RELAY_TRANSCODE_TIMEOUT_SECONDS": "30",
    "RELAY_TRANSCODE_TIMEOUT_FACTOR": "1.5",
    "RELAY_OPEN_UPLOADS_PER_USER": "3",
    "RELAY_MIN_FREE_BYTES": "0",
    "RELAY_SECRET_KEY": "a long random secret",
    "RELAY_LOGIN_MAX_FAILURES": "5",
    "RELAY_HASH_CONCURRENCY": "3",
    "RELAY_GUESTS_PER_LINK_HOUR": "7",
    "RELAY_LISTENERS_PER_LINK_HOUR": "6",
    "RELAY_GUEST_MESSAGES_HOUR": "8",
    "RELAY_GUEST_REACTIONS_HOUR": "9",
    "RELAY_STREAMS_PER_CLIENT": "4",
    "RELAY_WHISPER_MODEL": "/srv/models/small",
    "RELAY_WHISPER_DEVICE": "cpu",
    "RELAY_WHISPER_COMPUTE_TYPE": "int8_float32",
    "RELAY_WHISPER_THREADS": "2",
    "RELAY_WHISPER_BEAM_SIZE": "5",
    "RELAY_SMTP_URL": "smtps://relay:secret@mail.example.org:465",
    "RELAY_MAIL_FROM": "Relay <relay@example.org>",
    "RELAY_NOTIFY_DELAY_SECONDS": "120",
    "RELAY_DIGEST_HOUR": "7",
    "RELAY_METRICS_TOKEN": "scrape",
    "RELAY_LOG_FORMAT": "json",
    "RELAY_METRICS_NETWORKS": "10.0.0.0/8, fd00::/8",
}


def variables_in_source() -> set[str]:
    return set(re.findall(r'"(RELAY_[A-Z0-9_]+)"', Path(settings_module.__file__).read_text()))


def variables_read_with(helper: str) -> list[str]:
    source = Path(settings_module.__file__).read_text()
    return sorted(set(re.findall(rf'(?<![a-z_]){helper}\(env, "(RELAY_[A-Z0-9_]+)"', source)))


def test_defaults_sqlite_under_var_and_local_storage() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite+aiosqlite:///var/relay.db"
    assert settings.storage == "local"
    assert settings.data_dir == Path("var")
    assert settings.media_dir == Path("var/media")
    assert settings.spool_dir == Path("var/spool")
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 8000, 1)
    assert settings.public_url is None and settings.cookie_secure is None
    assert settings.auto_migrate is True
    assert settings.s3.part_size == 8 * MiB and settings.s3.endpoint_url is None


def test_defaults_from_env_match_dataclass_defaults() -> None:
    assert Settings.from_env({}) == Settings()


def test_data_dir_moves_database_media_and_spool() -> None:
    settings = Settings.from_env({"RELAY_DATA_DIR": "/srv/relay"})
    assert settings.database_url == "sqlite+aiosqlite:////srv/relay/relay.db"
    assert settings.media_dir == Path("/srv/relay/media")
    assert settings.spool_dir == Path("/srv/relay/spool")


def test_empty_numbers_and_urls_mean_defaults() -> None:
    names = [*variables_read_with("_int"), *variables_read_with("_float")]
    empty = dict.fromkeys([*names, "RELAY_DATABASE_URL", "RELAY_S3_ENDPOINT_URL"], "")
    assert Settings.from_env(empty) == Settings.from_env({})


@pytest.mark.parametrize("name", ["RELAY_DATA_DIR", "RELAY_MEDIA_DIR", "RELAY_SPOOL_DIR"])
def test_empty_folder_variable_means_default_not_current_directory(name: str) -> None:
    # `RELAY_MEDIA_DIR=` in an env file must not put media (or the database) into the
    # working directory; every other variable treats an empty value as unset.
    assert Settings.from_env({name: ""}) == Settings.from_env({})


def test_every_variable_in_the_source_is_covered_here() -> None:
    assert variables_in_source() == set(EVERY)
    # The refusal tests below are parametrized from the source: none may come out empty.
    for helper in ("_int", "_float", "_bool"):
        assert variables_read_with(helper), helper


def test_every_variable_parsed() -> None:
    s = Settings.from_env(EVERY)
    assert s.data_dir == Path("/srv/relay")
    assert s.database_url == "postgresql+asyncpg://relay:pw@db:5432/relay"
    assert s.database_pool == 12
    assert s.storage == "s3"
    assert s.accel_redirect == "/internal-media/"
    assert s.media_dir == Path("/mnt/media")
    assert s.spool_dir == Path("/tmp/spool")
    assert s.public_url == "https://relay.example.org"
    assert s.allowed_hosts == ("relay.example.org", "*.corp.example")
    assert (s.host, s.port, s.workers) == ("0.0.0.0", 9000, 0)
    assert s.max_upload_bytes == 1048576
    assert s.upload_expiry_seconds == 600
    assert s.session_days == 7
    assert s.cookie_secure is True
    assert s.auto_migrate is False
    assert s.s3.bucket == "media"
    assert s.s3.endpoint_url == "http://minio:9000"
    assert s.s3.public_endpoint_url == "https://media.example.org"
    assert s.s3.region == "eu-west-1"
    assert (s.s3.access_key, s.s3.secret_key) == ("AKID", "SECRET")
    assert s.s3.addressing == "virtual"
    assert s.s3.part_size == 16 * MiB
    assert s.s3.presign_seconds == 60
    assert s.s3.create_bucket is False
    assert s.jobs.lease_seconds == 12.5
    assert (s.jobs.max_attempts, s.jobs.transcribe_attempts) == (3, 2)
    assert s.jobs.retry_base_seconds == 0.25
    assert s.jobs.poll_seconds == 2.0
    assert s.jobs.live == 3
    assert s.media.ffmpeg_concurrency == 4
    assert s.media.ffmpeg_threads == 2
    assert s.media.ffmpeg_nice == 5
    assert s.media.max_duration_seconds == 90.5
    assert s.media.keep_originals is False
    assert (s.media.timeout_seconds, s.media.timeout_factor) == (30.0, 1.5)
    assert (s.limits.open_uploads, s.limits.min_free_bytes) == (3, 0)
    assert s.secret_key == "a long random secret"
    assert (s.limits.login_failures, s.limits.hash_concurrency) == (5, 3)
    limits = s.limits
    assert (limits.guests_per_link_hour, limits.guest_messages_hour) == (7, 8)
    assert limits.listeners_per_link_hour == 6
    assert (limits.guest_reactions_hour, limits.streams_per_client) == (9, 4)
    assert (s.whisper.model, s.whisper.device, s.whisper.compute_type) == (
        "/srv/models/small",
        "cpu",
        "int8_float32",
    )
    assert (s.whisper.threads, s.whisper.beam_size) == (2, 5)
    assert s.mail.smtp_url == "smtps://relay:secret@mail.example.org:465"
    assert (s.mail.sender, s.mail.delay_seconds, s.mail.digest_hour) == (
        "Relay <relay@example.org>",
        120.0,
        7,
    )
    assert s.mail.enabled
    assert (s.metrics_token, s.metrics_networks) == ("scrape", ("10.0.0.0/8", "fd00::/8"))
    assert s.log_format == "json"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("TRUE", True),
        ("yes", True),
        ("on", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("off", False),
        ("auto", None),
        ("", None),
    ],
)
def test_cookie_secure_words(raw: str, expected: bool | None) -> None:
    assert Settings.from_env({"RELAY_COOKIE_SECURE": raw}).cookie_secure is expected


@pytest.mark.parametrize("name", variables_read_with("_int"))
def test_bad_whole_number_refused_naming_variable(name: str) -> None:
    for raw in ("ten", "1.5", "8k"):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: raw})


@pytest.mark.parametrize("name", variables_read_with("_float"))
def test_bad_number_refused_naming_variable(name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: "soon"})


@pytest.mark.parametrize("name", [*variables_read_with("_bool"), "RELAY_COOKIE_SECURE"])
def test_bad_boolean_refused_naming_variable(name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: "maybe"})


def test_s3_part_size_under_5_mib_refused() -> None:
    with pytest.raises(SettingsError, match="RELAY_S3_PART_SIZE"):
        Settings.from_env({"RELAY_S3_PART_SIZE": str(5 * MiB - 1)})


def test_s3_part_size_of_exactly_5_mib_accepted() -> None:
    assert Settings.from_env({"RELAY_S3_PART_SIZE": str(5 * MiB)}).s3.part_size == 5 * MiB


@pytest.mark.parametrize("storage", ["gcs", "S3", "disk", ""])
def test_invalid_storage_refused(storage: str) -> None:
    with pytest.raises(SettingsError, match="RELAY_STORAGE"):
        Settings.from_env({"RELAY_STORAGE": storage})


def test_invalid_addressing_refused() -> None:
    with pytest.raises(SettingsError, match="RELAY_S3_ADDRESSING"):
        Settings.from_env({"RELAY_S3_ADDRESSING": "dns"})


def test_from_env_reads_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAY_PORT", "8123")
    assert Settings.from_env().port == 8123


def test_replace_keeps_validation() -> None:
    with pytest.raises(SettingsError, match="RELAY_STORAGE"):
        Settings().replace(storage="ftp")
