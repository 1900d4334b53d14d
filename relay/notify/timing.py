"""When a batch is due, in the person's own time: a few minutes after the first news, or at
the digest hour; never inside their focus hours (it then waits until they end)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from relay.models import User
from relay.settings import MailSettings


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def clock_time(value: str | None) -> time | None:
    """ "09:30" as a time; None for anything else."""
    try:
        return time.fromisoformat(value) if value and len(value) == 5 else None
    except ValueError:
        return None


def _focus_end(local: datetime, start: time, end: time) -> datetime | None:
    """The end of the focus period `local` falls in, or None when it falls in none."""
    now = local.time()
    inside = start <= now < end if start < end else (now >= start or now < end)
    if start == end or not inside:
        return None
    day = local.date() + timedelta(days=1 if start > end and now >= start else 0)
    return datetime.combine(day, end, tzinfo=local.tzinfo)


def due_time(settings: MailSettings, user: User, now: datetime) -> datetime:
    local = now.astimezone(zone(user.time_zone))
    if user.notify_digest == "daily":
        due = datetime.combine(local.date(), time(settings.digest_hour), tzinfo=local.tzinfo)
        if due <= local:
            due = datetime.combine(
                local.date() + timedelta(days=1), time(settings.digest_hour), tzinfo=local.tzinfo
            )
    else:
        due = local + timedelta(seconds=settings.delay_seconds)
    start, end = clock_time(user.focus_from), clock_time(user.focus_until)
    if start is not None and end is not None:
        due = _focus_end(due, start, end) or due
    return due.astimezone(UTC)
