"""Settings, read once from `RELAY_*` environment variables at start-up and passed down."""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

MiB = 1024 * 1024


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
SMTP_SCHEMES = ("smtp", "smtps", "smtp+starttls")


class SettingsError(ValueError):
    """A `RELAY_*` variable has a value that cannot be used."""


@dataclass(frozen=True)
class S3Settings:
    bucket: str = "relay"
    endpoint_url: str | None = None
    # Presigned URLs are signed for this endpoint: browsers must reach it (https behind https).
    public_endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key: str | None = None
    secret_key: str | None = None
    addressing: str = "path"  # "path" or "virtual"
    part_size: int = 8 * MiB  # S3 refuses parts under 5 MiB except the last one
    presign_seconds: int = 300
    create_bucket: bool = True


@dataclass(frozen=True)
class JobSettings:
    lease_seconds: float = 30.0
    max_attempts: int = 5
    # A transcription repeats a long Whisper run, and its failure never fails the message.
    transcribe_attempts: int = 3
    retry_base_seconds: float = 5.0
    poll_seconds: float = 0.5
    # Recordings transcoded while they arrive, at once per worker process (each waits on its
    # upload, so they run beside the other jobs); 0: only after the last byte.
    live: int = 2


@dataclass(frozen=True)
class MediaSettings:
    ffmpeg_concurrency: int = 1
    ffmpeg_threads: int = 0  # 0 lets ffmpeg choose
    ffmpeg_nice: int = 10
    max_duration_seconds: float = 30 * 60
    keep_originals: bool = True
    # An ffmpeg run is killed after this base plus the factor times the recording's length
    # (probed; the maximum length when unknown).
    timeout_seconds: float = 60.0
    timeout_factor: float = 3.0


DEVICES = ("auto", "cpu", "cuda")
COMPUTE_TYPES = (
    *("default", "auto", "int8", "int8_float32", "int8_float16", "int8_bfloat16"),
    *("int16", "float16", "bfloat16", "float32"),
)


@dataclass(frozen=True)
class WhisperSettings:
    model: str = ""  # a folder, a name ("tiny.en", "small", "large-v3"), or "": offline base
    device: str = "auto"  # auto: cuda when CTranslate2 sees a GPU, else cpu
    compute_type: str = ""  # "": int8 on cpu, float16 on cuda
    threads: int = 0  # 0: CTranslate2's default (4, or OMP_NUM_THREADS)
    # None: chosen per language (workers/whisper.py, BEAM_SIZES); a number for every language.
    beam_size: int | None = None
    # Where the default model is joined from its packages; Settings: $RELAY_DATA_DIR/models.
    cache_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise SettingsError(f"RELAY_WHISPER_DEVICE must be one of {', '.join(DEVICES)}")
        if self.compute_type and self.compute_type not in COMPUTE_TYPES:
            raise SettingsError(
                f"RELAY_WHISPER_COMPUTE_TYPE must be one of {', '.join(COMPUTE_TYPES)}"
            )
        if not 0 <= self.threads <= 64:
            raise SettingsError("RELAY_WHISPER_THREADS must be between 0 and 64")
        if self.beam_size is not None and not 1 <= self.beam_size <= 10:
            raise SettingsError("RELAY_WHISPER_BEAM_SIZE must be between 1 and 10")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WhisperSettings:
        env = os.environ if environ is None else environ
        beam = env.get("RELAY_WHISPER_BEAM_SIZE", "").strip()
        return cls(
            model=env.get("RELAY_WHISPER_MODEL", "").strip(),
            device=env.get("RELAY_WHISPER_DEVICE", "").strip().lower() or "auto",
            compute_type=env.get("RELAY_WHISPER_COMPUTE_TYPE", "").strip().lower(),
            threads=_int(env, "RELAY_WHISPER_THREADS", 0),
            beam_size=_int(env, "RELAY_WHISPER_BEAM_SIZE", 1) if beam else None,
        )

    def resolved(self) -> tuple[str, str]:
        """(device, compute_type) with "auto" and "" decided for this machine."""
        device = self.device
        if device == "auto":
            import ctranslate2

            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        return device, self.compute_type or ("float16" if device == "cuda" else "int8")


@dataclass(frozen=True)
class LimitSettings:
    """Quotas and throttles; each answers 429 (or 507 for disk space) with a clear reason."""

    login_failures: int = 10  # wrong sign-ins per account and per client address in 10 min
    hash_concurrency: int = 2  # argon2 checks at once per process (each takes a core)
    guests_per_link_hour: int = 20  # new guest names on one link per hour
    listeners_per_link_hour: int = 100  # new nameless listeners on one link per hour
    guest_messages_hour: int = 30  # messages one guest may post per hour
    guest_reactions_hour: int = 60  # reactions one guest may add per hour
    streams_per_client: int = 10  # live event streams open at once from one client address
    open_uploads: int = 10  # unfinished uploads one person may have at once
    min_free_bytes: int = 1024 * MiB  # below this free space (spool, media) uploads get 507


@dataclass(frozen=True)
class MailSettings:
    """Notification mail; without an SMTP URL no mail is planned at all."""

    smtp_url: str = ""  # smtp://host:port, smtps://user:pass@host:465, smtp+starttls://…
    sender: str = "Relay <relay@localhost>"
    delay_seconds: float = 300.0  # the batch window after the first new message
    digest_hour: int = 8  # the daily digest's hour (UTC)
    timeout_seconds: float = 30.0

    @property
    def enabled(self) -> bool:
        return bool(self.smtp_url)


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    database_url: str = ""
    database_pool: int = 20  # PostgreSQL connections each process keeps open
    storage: str = "local"  # "local" or "s3"
    media_dir: Path = Path("var/media")
    spool_dir: Path = Path("var/spool")
    public_url: str | None = None
    # Host headers answered; (): LOCAL_HOSTS and the public URL's host; ("*",): any (unsafe).
    allowed_hosts: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1  # embedded worker loops in `relay serve`; 0 disables them
    max_upload_bytes: int = 4096 * MiB
    upload_expiry_seconds: int = 24 * 3600
    session_days: int = 30
    # Signs share-link tokens; instances serving one database share it. Empty: a key kept
    # in the data folder (secret.key), made on first start.
    secret_key: str = ""
    cookie_secure: bool | None = None  # None: Secure when the request came over https
    auto_migrate: bool = True
    # Behind nginx: after the access check the relay answers with X-Accel-Redirect to this
    # internal location (infra/nginx.conf), which sends the local file itself.
    accel_redirect: str | None = None
    s3: S3Settings = field(default_factory=S3Settings)
    jobs: JobSettings = field(default_factory=JobSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    whisper: WhisperSettings = field(default_factory=WhisperSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    log_format: str = "text"  # or "json": one object per line
    # Who may read /metrics: a bearer token, or a client address in these networks.
    metrics_token: str = ""
    metrics_networks: tuple[str, ...] = ("127.0.0.1/32", "::1/128")

    def __post_init__(self) -> None:
        if not self.database_url:
            url = f"sqlite+aiosqlite:///{self.data_dir / 'relay.db'}"
            object.__setattr__(self, "database_url", url)
        if self.whisper.cache_dir is None:
            whisper = dataclasses.replace(self.whisper, cache_dir=self.data_dir / "models")
            object.__setattr__(self, "whisper", whisper)
        if self.mail.smtp_url and urlsplit(self.mail.smtp_url).scheme not in SMTP_SCHEMES:
            raise SettingsError(
                "RELAY_SMTP_URL must start with smtp://, smtps:// or smtp+starttls://"
            )
        if not 1 <= self.database_pool <= 1000:
            raise SettingsError("RELAY_DATABASE_POOL must be between 1 and 1000")
        if self.log_format not in ("text", "json"):
            raise SettingsError(
                f"RELAY_LOG_FORMAT must be 'text' or 'json', not {self.log_format!r}"
            )
        for network in self.metrics_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise SettingsError(
                    f"RELAY_METRICS_NETWORKS takes networks such as 10.0.0.0/8, not {network!r}"
                ) from None
        if self.storage not in ("local", "s3"):
            raise SettingsError(f"RELAY_STORAGE must be 'local' or 's3', not {self.storage!r}")
        if self.s3.addressing not in ("path", "virtual"):
            raise SettingsError("RELAY_S3_ADDRESSING must be 'path' or 'virtual'")
        if self.s3.part_size < 5 * MiB:
            raise SettingsError("RELAY_S3_PART_SIZE must be at least 5 MiB (5242880)")
        if self.accel_redirect is not None and not (
            self.accel_redirect.startswith("/") and self.accel_redirect.endswith("/")
        ):
            raise SettingsError(
                "RELAY_ACCEL_REDIRECT is a path that starts and ends with '/', such as "
                "/internal-media/"
            )
        for host in self.allowed_hosts:
            if not host or "/" in host or any(c.isspace() for c in host):
                raise SettingsError(
                    f"RELAY_ALLOWED_HOSTS takes host names separated by commas, not {host!r}"
                )
        for name, value, low, high in _bounds(self):
            if not low <= value <= high:
                raise SettingsError(f"{name} must be between {low} and {high}, not {value}")

    @property
    def trusted_hosts(self) -> tuple[str, ...]:
        """The Host headers answered; absolute links are built from them when no public URL
        is set."""
        if self.allowed_hosts:
            return self.allowed_hosts
        public = urlsplit(self.public_url).hostname if self.public_url else None
        return LOCAL_HOSTS + ((public,) if public else ())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("RELAY_DATA_DIR") or "var")
        return cls(
            data_dir=data_dir,
            database_url=env.get("RELAY_DATABASE_URL", ""),
            database_pool=_int(env, "RELAY_DATABASE_POOL", 20),
            storage=env.get("RELAY_STORAGE", "local"),
            media_dir=Path(env.get("RELAY_MEDIA_DIR") or data_dir / "media"),
            spool_dir=Path(env.get("RELAY_SPOOL_DIR") or data_dir / "spool"),
            public_url=env.get("RELAY_PUBLIC_URL") or None,
            allowed_hosts=tuple(
                host.strip().lower()
                for host in env.get("RELAY_ALLOWED_HOSTS", "").split(",")
                if host.strip()
            ),
            host=env.get("RELAY_HOST", "127.0.0.1"),
            port=_int(env, "RELAY_PORT", 8000),
            workers=_int(env, "RELAY_WORKERS", 1),
            max_upload_bytes=_int(env, "RELAY_MAX_UPLOAD_BYTES", 4096 * MiB),
            upload_expiry_seconds=_int(env, "RELAY_UPLOAD_EXPIRY_SECONDS", 24 * 3600),
            session_days=_int(env, "RELAY_SESSION_DAYS", 30),
            secret_key=env.get("RELAY_SECRET_KEY", ""),
            cookie_secure=_optional_bool(env, "RELAY_COOKIE_SECURE"),
            auto_migrate=_bool(env, "RELAY_AUTO_MIGRATE", True),
            accel_redirect=env.get("RELAY_ACCEL_REDIRECT") or None,
            s3=S3Settings(
                bucket=env.get("RELAY_S3_BUCKET", "relay"),
                endpoint_url=env.get("RELAY_S3_ENDPOINT_URL") or None,
                public_endpoint_url=env.get("RELAY_S3_PUBLIC_ENDPOINT_URL") or None,
                region=env.get("RELAY_S3_REGION", "us-east-1"),
                access_key=env.get("RELAY_S3_ACCESS_KEY") or None,
                secret_key=env.get("RELAY_S3_SECRET_KEY") or None,
                addressing=env.get("RELAY_S3_ADDRESSING", "path"),
                part_size=_int(env, "RELAY_S3_PART_SIZE", 8 * MiB),
                presign_seconds=_int(env, "RELAY_S3_PRESIGN_SECONDS", 300),
                create_bucket=_bool(env, "RELAY_S3_CREATE_BUCKET", True),
            ),
            jobs=JobSettings(
                lease_seconds=_float(env, "RELAY_JOB_LEASE_SECONDS", 30.0),
                max_attempts=_int(env, "RELAY_JOB_MAX_ATTEMPTS", 5),
                transcribe_attempts=_int(env, "RELAY_JOB_TRANSCRIBE_ATTEMPTS", 3),
                retry_base_seconds=_float(env, "RELAY_JOB_RETRY_BASE_SECONDS", 5.0),
                poll_seconds=_float(env, "RELAY_JOB_POLL_SECONDS", 0.5),
                live=_int(env, "RELAY_LIVE_JOBS", 2),
            ),
            media=MediaSettings(
                ffmpeg_concurrency=_int(env, "RELAY_FFMPEG_CONCURRENCY", 1),
                ffmpeg_threads=_int(env, "RELAY_FFMPEG_THREADS", 0),
                ffmpeg_nice=_int(env, "RELAY_FFMPEG_NICE", 10),
                max_duration_seconds=_float(env, "RELAY_MAX_DURATION_SECONDS", 1800.0),
                keep_originals=_bool(env, "RELAY_KEEP_ORIGINALS", True),
                timeout_seconds=_float(env, "RELAY_TRANSCODE_TIMEOUT_SECONDS", 60.0),
                timeout_factor=_float(env, "RELAY_TRANSCODE_TIMEOUT_FACTOR", 3.0),
            ),
            whisper=WhisperSettings.from_env(env),
            limits=LimitSettings(
                login_failures=_int(env, "RELAY_LOGIN_MAX_FAILURES", 10),
                hash_concurrency=_int(env, "RELAY_HASH_CONCURRENCY", 2),
                guests_per_link_hour=_int(env, "RELAY_GUESTS_PER_LINK_HOUR", 20),
                listeners_per_link_hour=_int(env, "RELAY_LISTENERS_PER_LINK_HOUR", 100),
                guest_messages_hour=_int(env, "RELAY_GUEST_MESSAGES_HOUR", 30),
                guest_reactions_hour=_int(env, "RELAY_GUEST_REACTIONS_HOUR", 60),
                streams_per_client=_int(env, "RELAY_STREAMS_PER_CLIENT", 10),
                open_uploads=_int(env, "RELAY_OPEN_UPLOADS_PER_USER", 10),
                min_free_bytes=_int(env, "RELAY_MIN_FREE_BYTES", 1024 * MiB),
            ),
            log_format=env.get("RELAY_LOG_FORMAT", "text"),
            metrics_token=env.get("RELAY_METRICS_TOKEN", ""),
            metrics_networks=tuple(
                n.strip()
                for n in env.get("RELAY_METRICS_NETWORKS", "127.0.0.1/32,::1/128").split(",")
                if n.strip()
            ),
            mail=MailSettings(
                smtp_url=env.get("RELAY_SMTP_URL", ""),
                sender=env.get("RELAY_MAIL_FROM") or MailSettings.sender,
                delay_seconds=_float(env, "RELAY_NOTIFY_DELAY_SECONDS", 300.0),
                digest_hour=_int(env, "RELAY_DIGEST_HOUR", 8),
            ),
        )

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)


def _bounds(s: Settings) -> list[tuple[str, float, float, float]]:
    return [
        ("RELAY_PORT", s.port, 1, 65535),
        ("RELAY_WORKERS", s.workers, 0, 64),
        ("RELAY_NOTIFY_DELAY_SECONDS", s.mail.delay_seconds, 0, 7 * 86400),
        ("RELAY_DIGEST_HOUR", s.mail.digest_hour, 0, 23),
        ("RELAY_MAX_UPLOAD_BYTES", s.max_upload_bytes, 1, 5 * 1024**4),
        ("RELAY_UPLOAD_EXPIRY_SECONDS", s.upload_expiry_seconds, 60, 30 * 86400),
        ("RELAY_SESSION_DAYS", s.session_days, 1, 3650),
        ("RELAY_S3_PRESIGN_SECONDS", s.s3.presign_seconds, 1, 7 * 86400),  # S3's maximum
        ("RELAY_JOB_LEASE_SECONDS", s.jobs.lease_seconds, 1, 3600),
        ("RELAY_JOB_MAX_ATTEMPTS", s.jobs.max_attempts, 1, 100),
        ("RELAY_JOB_TRANSCRIBE_ATTEMPTS", s.jobs.transcribe_attempts, 1, 100),
        ("RELAY_JOB_RETRY_BASE_SECONDS", s.jobs.retry_base_seconds, 0, 3600),
        ("RELAY_JOB_POLL_SECONDS", s.jobs.poll_seconds, 0.01, 60),
        ("RELAY_LIVE_JOBS", s.jobs.live, 0, 64),
        ("RELAY_FFMPEG_CONCURRENCY", s.media.ffmpeg_concurrency, 1, 64),
        ("RELAY_FFMPEG_THREADS", s.media.ffmpeg_threads, 0, 64),
        ("RELAY_FFMPEG_NICE", s.media.ffmpeg_nice, 0, 19),
        ("RELAY_MAX_DURATION_SECONDS", s.media.max_duration_seconds, 1, 24 * 3600),
        ("RELAY_TRANSCODE_TIMEOUT_SECONDS", s.media.timeout_seconds, 0.1, 86400),
        ("RELAY_TRANSCODE_TIMEOUT_FACTOR", s.media.timeout_factor, 0, 100),
        ("RELAY_LOGIN_MAX_FAILURES", s.limits.login_failures, 1, 10_000),
        ("RELAY_HASH_CONCURRENCY", s.limits.hash_concurrency, 1, 64),
        ("RELAY_GUESTS_PER_LINK_HOUR", s.limits.guests_per_link_hour, 1, 100_000),
        ("RELAY_LISTENERS_PER_LINK_HOUR", s.limits.listeners_per_link_hour, 1, 100_000),
        ("RELAY_GUEST_MESSAGES_HOUR", s.limits.guest_messages_hour, 1, 100_000),
        ("RELAY_GUEST_REACTIONS_HOUR", s.limits.guest_reactions_hour, 1, 100_000),
        ("RELAY_STREAMS_PER_CLIENT", s.limits.streams_per_client, 1, 100_000),
        ("RELAY_OPEN_UPLOADS_PER_USER", s.limits.open_uploads, 1, 10_000),
        ("RELAY_MIN_FREE_BYTES", s.limits.min_free_bytes, 0, 1024**5),
    ]


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from None
    if not math.isfinite(value):
        raise SettingsError(f"{name} must be a finite number, not {raw!r}")
    return value


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _optional_bool(env: Mapping[str, str], name: str) -> bool | None:
    raw = env.get(name)
    if raw in (None, "", "auto"):
        return None
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise SettingsError(f"{name} must be true, false or auto, not {raw!r}")


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = _optional_bool(env, name)
    return default if value is None else value
