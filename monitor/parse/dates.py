"""Dates as servers and people write them: ISO 8601, RFC 2822, "12 March 2026, 10:33", "3 hours
ago"; day first, as in the UK; a date without a zone is UTC; a date in the future is clamped to
now (first seen) and noted. None, never an exception, for what is not a date.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import dateutil.parser

FUTURE_SLACK = timedelta(minutes=10)  # clocks differ a little; past this a date is "in the future"
_RELATIVE = re.compile(
    r"^\s*(?:(\d+|an?|one)\s+(second|minute|min|hour|hr|day|week)s?\s+ago|(just now|now|today|"
    r"yesterday))\b",
    re.I,
)
_RELATIVE_UNITS = {"second": 1, "minute": 60, "min": 60, "hour": 3600, "hr": 3600, "day": 86400, "week": 7 * 86400}
_UK_ZONES = {"GMT": 0, "UTC": 0, "Z": 0, "BST": 3600}


def clamp_date(when: datetime | None, now: datetime) -> tuple[datetime | None, tuple[str, ...]]:
    """A date in the future is clamped to now (first seen) and noted."""
    if when is not None and when > now + FUTURE_SLACK:
        return now, (f"future date {when.isoformat()} clamped to first seen",)
    return when, ()


def _relative_date(value: str, now: datetime) -> datetime | None:
    m = _RELATIVE.match(value)
    if not m:
        return None
    if m.group(3):
        word = m.group(3).lower()
        return now - timedelta(days=1) if word == "yesterday" else now
    n = 1 if m.group(1).lower() in ("a", "an", "one") else int(m.group(1)[:12])
    try:
        return now - timedelta(seconds=n * _RELATIVE_UNITS[m.group(2).lower()])
    except OverflowError:  # "99999999999 weeks ago": before the calendar begins
        return None


def parse_date_text(value: str, now: datetime) -> datetime | None:
    """ISO 8601, RFC 2822 or a date as people write it ("12 March 2026, 10:33", "Fri 12-Mar-21");
    day first, as in the UK; a date without a zone is UTC. None when it is not a date."""
    value = value.strip()
    if not any(c.isdigit() for c in value):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        try:
            when = dateutil.parser.parse(
                value, dayfirst=True, fuzzy=True, tzinfos=_UK_ZONES, default=datetime(now.year, now.month, now.day)
            )
        except (ValueError, OverflowError, TypeError):
            return None
    try:
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except (ValueError, OverflowError):  # 9999-12-31T23:59:59-05:00 is in the year 10000 in UTC
        return None
