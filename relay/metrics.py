"""Prometheus metrics of this process (prometheus-client's default registry). Counters and
histograms are updated where things happen; the gauges of shared state (the job queue, open
uploads, live listeners) are read when /metrics is scraped (relay.web.metrics_page)."""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relay.enums import JobState
from relay.models import Job, Upload

SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
JOB_SECONDS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)

HTTP_REQUESTS = Counter(
    "relay_http_requests", "HTTP requests answered", ["route", "method", "status"]
)
HTTP_SECONDS = Histogram(
    "relay_http_request_seconds",
    "Time to answer (to the end of the body)",
    ["route", "method"],
    buckets=SECONDS,
)
UPLOAD_BYTES = Counter("relay_upload_bytes", "Upload bytes stored (tus PATCH bodies)")
JOBS = Counter("relay_jobs", "Jobs run, by kind and how they ended", ["kind", "outcome"])
JOB_RUN_SECONDS = Histogram("relay_job_seconds", "Time a job ran", ["kind"], buckets=JOB_SECONDS)
REALTIME = Histogram(
    "relay_job_realtime_factor",
    "Seconds of work per second of media (transcode, transcribe)",
    ["kind"],
    buckets=(0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 4),
)
QUEUE_DEPTH = Gauge("relay_job_queue_depth", "Jobs waiting, by kind", ["kind"])
QUEUE_AGE = Gauge(
    "relay_job_queue_oldest_seconds", "Age of the oldest job waiting, by kind", ["kind"]
)
OPEN_UPLOADS = Gauge("relay_open_uploads", "Uploads begun and not finished (all processes)")
LISTENERS = Gauge("relay_live_listeners", "Live event streams open in this process")


async def read_shared(session: AsyncSession, now: datetime, listeners: int) -> None:
    """The gauges of state that lives in the database, for a scrape."""
    rows = await session.execute(
        select(Job.kind, func.count(), func.min(Job.run_at))
        .where(Job.state == JobState.queued, Job.run_at <= now)
        .group_by(Job.kind)
    )
    QUEUE_DEPTH.clear()
    QUEUE_AGE.clear()
    for kind, count, oldest in rows:
        QUEUE_DEPTH.labels(kind).set(count)
        QUEUE_AGE.labels(kind).set(max(0.0, (now - oldest).total_seconds()))
    open_uploads = await session.scalar(
        select(func.count()).where(Upload.completed_at.is_(None), Upload.expires_at > now)
    )
    OPEN_UPLOADS.set(open_uploads or 0)
    LISTENERS.set(listeners)
