"""When should a source be checked next? Pure decisions over stored state; `now` is passed in."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo

MAX_BACKOFF = timedelta(days=1)
MAX_RETRY_AFTER = timedelta(days=1)


def jitter(interval: timedelta, rng: random.Random | None = None) -> timedelta:
    """Up to a tenth of the interval, so twenty sources do not all fire in the same second."""
    uniform = rng.uniform if rng else random.uniform
    return timedelta(seconds=uniform(0, interval.total_seconds() / 10))


def next_check(
    now: datetime,
    interval: timedelta,
    *,
    failures: int = 0,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> datetime:
    """The next time to fetch a source.

    After a success: one interval (plus jitter). After failures: the interval doubled per
    consecutive failure, capped at a day (a broken server is not hammered). A server's
    Retry-After is honoured, capped at a day.
    """
    wait = interval
    if failures > 0:
        wait = min(interval * (2 ** min(failures - 1, 16)), max(MAX_BACKOFF, interval))
    if retry_after:
        wait = max(wait, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    return now + wait + jitter(interval, rng)


# ---------------------------------------------------------------- the daemon's clockwork

MIN_TICK = timedelta(seconds=0.25)
MAX_TICK = timedelta(seconds=30)


def tick_period(intervals: Iterable[timedelta]) -> timedelta:
    """How often the daemon asks what is due: a tenth of the shortest interval (the jitter's scale),
    at least a quarter second (no busy loop) and at most 30s (a long-interval source is never late
    by more than that, and the heartbeat stays fresh)."""
    shortest = min(intervals, default=MAX_TICK * 10)
    return max(MIN_TICK, min(MAX_TICK, shortest / 10))


def next_daily(now: datetime, at: time, tz: tzinfo) -> datetime:
    """The first wall-clock `at` in zone `tz` strictly after `now`.

    Across the clock changes: a time the spring change skips runs an hour later (01:30 becomes
    02:30 BST); a time the autumn change repeats runs once, at its first occurrence.
    """
    day = now.astimezone(tz).date()
    when = _wall(day, at, tz)
    return when if when > now else _wall(day + timedelta(days=1), at, tz)


def previous_daily(now: datetime, at: time, tz: tzinfo) -> datetime:
    """The last wall-clock `at` in zone `tz` at or before `now`."""
    day = now.astimezone(tz).date()
    when = _wall(day, at, tz)
    return when if when <= now else _wall(day - timedelta(days=1), at, tz)


def next_digest(now: datetime, at: time, tz: tzinfo, last_digest: datetime | None) -> datetime:
    """When the daemon should send the digest next.

    Normally the next `at`. If a digest was sent before and the latest scheduled one was missed
    (the daemon was down at that time), now: once, not once per missed day. A first start sends
    nothing until the scheduled time.
    """
    if last_digest is not None and last_digest < previous_daily(now, at, tz):
        return now
    return next_daily(now, at, tz)


def _wall(day: date, at: time, tz: tzinfo) -> datetime:
    """`at` on `day` in `tz`, normalised through UTC (a skipped time moves forward by the gap;
    fold=0 picks the first of a repeated time)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def quiet_until(quiet_hours: tuple[time, time] | None, now: datetime, tz: tzinfo) -> datetime | None:
    """The end of the quiet hours `now` falls in (hours in zone `tz`), or None outside them."""
    if quiet_hours is None:
        return None
    start, end = quiet_hours
    local = now.astimezone(tz)
    t = local.time().replace(tzinfo=None)
    overnight = start > end
    inside = (t >= start or t < end) if overnight else (start <= t < end)
    if not inside or start == end:
        return None
    day = local.date() + timedelta(days=1) if overnight and t >= start else local.date()
    return datetime.combine(day, end, tzinfo=tz).astimezone(UTC)
