"""When should a source be checked next? Pure decisions over stored state; `now` is passed in."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

MAX_BACKOFF = timedelta(days=1)
MAX_RETRY_AFTER = timedelta(days=1)


def jitter(interval: timedelta, rng: random.Random | None = None) -> timedelta:
    """Up to a tenth of the interval, so twenty sources do not all fire in the same second."""
    rng = rng or random
    return timedelta(seconds=rng.uniform(0, interval.total_seconds() / 10))


def next_check(now: datetime, interval: timedelta, *, failures: int = 0,
               retry_after: float | None = None, rng: random.Random | None = None) -> datetime:
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


def is_due(next_at: datetime | None, now: datetime) -> bool:
    """A source never checked is due; so is one whose time has come (missed runs coalesce into one)."""
    return next_at is None or next_at <= now
