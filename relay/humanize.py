"""How pages write durations, moments and people before their scripts run: the same rules as
web/static/format.js (which then writes the moments in the reader's time zone)."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

from relay.names import PARTICLES

AVATAR_COLOURS = 8
_MONTHS = {
    "en": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(),
    "nl": "jan feb mrt apr mei jun jul aug sep okt nov dec".split(),
}
# Intl.RelativeTimeFormat(lang, {numeric: "auto"}) in English and Dutch.
_WORDS = {
    "en": {
        "now": "now",
        "minute": ("{n} minute ago", "{n} minutes ago"),
        "hour": ("{n} hour ago", "{n} hours ago"),
        "yesterday": "yesterday",
        "day": ("{n} day ago", "{n} days ago"),
    },
    "nl": {
        "now": "nu",
        "minute": ("{n} minuut geleden", "{n} minuten geleden"),
        "hour": ("{n} uur geleden", "{n} uur geleden"),
        "yesterday": "gisteren",
        "day": ("{n} dag geleden", "{n} dagen geleden"),
    },
}


def clock(seconds: float | None) -> str:
    """Seconds as m:ss or h:mm:ss, whole seconds down; empty when unknown."""
    if seconds is None or seconds < 0:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def _aware(value: datetime | str) -> datetime:
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def relative(value: datetime | str | None, lang: str, now: datetime | None = None) -> str:
    """ "now", "5 minutes ago", "yesterday", "3 days ago", then "7 Dec" or "7 Dec 2025" (UTC)."""
    if value is None:
        return ""
    when, now = _aware(value), now or datetime.now(UTC)
    words = _WORDS.get(lang, _WORDS["en"])
    seconds = max(0.0, (now - when).total_seconds())

    def count(unit: str, n: int) -> str:
        return words[unit][n != 1].format(n=n)

    if seconds < 45:
        return words["now"]
    if seconds < 3600:
        return count("minute", max(1, round(seconds / 60)))
    days = (now.date() - when.astimezone(UTC).date()).days
    if days == 0:
        return count("hour", int(seconds // 3600))
    if days == 1:
        return words["yesterday"]
    if days < 7:
        return count("day", days)
    return _day_month(when, now, lang)


_WEEKDAYS = {
    "en": "Mon Tue Wed Thu Fri Sat Sun".split(),
    "nl": "ma di wo do vr za zo".split(),
}


def short(value: datetime | str | None, lang: str, now: datetime | None = None) -> str:
    """For lists: "09:31" today, "yesterday", a weekday within the week, then "7 Dec" (UTC)."""
    if value is None:
        return ""
    when, now = _aware(value).astimezone(UTC), now or datetime.now(UTC)
    days = (now.date() - when.date()).days
    if days <= 0:
        return f"{when.hour:02}:{when.minute:02}"
    if days == 1:
        return _WORDS.get(lang, _WORDS["en"])["yesterday"]
    if days < 7:
        return _WEEKDAYS.get(lang, _WEEKDAYS["en"])[when.weekday()]
    return _day_month(when, now, lang)


def _day_month(when: datetime, now: datetime, lang: str) -> str:
    """ "7 Dec", with the year when it is not this one: "7 Dec 2025"."""
    month = _MONTHS.get(lang, _MONTHS["en"])[when.month - 1]
    year = "" if when.year == now.year else f" {when.year}"
    return f"{when.day} {month}{year}"


def iso(value: datetime | str | None) -> str:
    return "" if value is None else _aware(value).isoformat()


def _letters(word: str) -> str:
    return "".join(c for c in word if unicodedata.category(c)[0] in "LN")


def initials(name: str | None) -> str:
    """ "Anna de Vries" → "AV", "sanne" → "S", "Joost (agency)" → "JA"."""
    words = [w for w in (_letters(w) for w in (name or "").split()) if w]
    main = [w for i, w in enumerate(words) if i == 0 or w.lower() not in PARTICLES]
    if not main:
        return "?"
    return (main[0][0] + (main[-1][0] if len(main) > 1 else "")).upper()


def avatar_colour(name: str | None) -> int:
    """The same index as format.js's avatarColour: a 31-hash of the code points."""
    value = 0
    for c in name or "":
        value = (value * 31 + ord(c)) & 0xFFFFFFFF
    return value % AVATAR_COLOURS
