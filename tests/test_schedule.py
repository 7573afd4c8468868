"""Scheduling decisions as pure functions of `now`: the next check, the digest across the clock changes."""

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from monitor import schedule

LONDON = ZoneInfo("Europe/London")
UTC = UTC
AT = time(7, 30)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_next_check_is_one_interval_plus_at_most_a_tenth_of_jitter():
    now = utc(2026, 11, 10, 12)
    rng = random.Random(1)
    times = [schedule.next_check(now, timedelta(hours=1), rng=rng) for _ in range(200)]
    assert all(now + timedelta(hours=1) <= t <= now + timedelta(minutes=66) for t in times)
    assert len(set(times)) > 100  # twenty sources do not fire in the same second


def test_backoff_doubles_per_failure_capped_at_a_day_and_retry_after_wins():
    now = utc(2026, 11, 10, 12)
    no_jitter = random.Random(0)
    no_jitter.uniform = lambda a, b: 0.0
    nxt = lambda **kw: schedule.next_check(now, timedelta(minutes=15), rng=no_jitter, **kw) - now  # noqa: E731
    assert [nxt(failures=f) for f in (0, 1, 2, 3)] == [timedelta(minutes=m) for m in (15, 15, 30, 60)]
    assert nxt(failures=40) == timedelta(days=1)
    assert nxt(retry_after=7200) == timedelta(hours=2)
    assert nxt(retry_after=10 * 86400) == timedelta(days=1)


def test_tick_follows_the_shortest_interval_within_bounds():
    assert schedule.tick_period([timedelta(seconds=1), timedelta(hours=1)]) == timedelta(seconds=0.25)
    assert schedule.tick_period([timedelta(seconds=20)]) == timedelta(seconds=2)
    assert schedule.tick_period([timedelta(hours=1)]) == timedelta(seconds=30)
    assert schedule.tick_period([]) == timedelta(seconds=30)


def test_digest_at_0730_london_around_the_spring_change():
    # Sunday 2026-03-29 01:00 GMT the clocks go forward: 07:30 is 07:30 UTC before, 06:30 UTC after.
    assert schedule.next_daily(utc(2026, 3, 27, 8), AT, LONDON) == utc(2026, 3, 28, 7, 30)
    assert schedule.next_daily(utc(2026, 3, 28, 7, 30), AT, LONDON) == utc(2026, 3, 29, 6, 30)
    assert schedule.next_daily(utc(2026, 3, 29, 6, 30), AT, LONDON) == utc(2026, 3, 30, 6, 30)
    times = [utc(2026, 3, 27, 7, 30)]
    for _ in range(3):
        times.append(schedule.next_daily(times[-1], AT, LONDON))
    assert [t.astimezone(LONDON).strftime("%d %H:%M %Z") for t in times] == [
        "27 07:30 GMT",
        "28 07:30 GMT",
        "29 07:30 BST",
        "30 07:30 BST",
    ]


def test_digest_at_0730_london_around_the_autumn_change():
    # Sunday 2026-10-25 02:00 BST the clocks go back: 07:30 is 06:30 UTC before, 07:30 UTC after.
    assert schedule.next_daily(utc(2026, 10, 24, 6, 30), AT, LONDON) == utc(2026, 10, 25, 7, 30)
    assert schedule.next_daily(utc(2026, 10, 25, 7, 0), AT, LONDON) == utc(2026, 10, 25, 7, 30)
    assert schedule.next_daily(utc(2026, 10, 25, 7, 30), AT, LONDON) == utc(2026, 10, 26, 7, 30)


def test_a_skipped_time_runs_an_hour_later_and_a_repeated_time_runs_once():
    at = time(1, 30)
    # 2026-03-29: 01:30 does not exist in London; the digest runs at 02:30 BST (01:30 UTC).
    assert schedule.next_daily(utc(2026, 3, 29, 0), at, LONDON) == utc(2026, 3, 29, 1, 30)
    # 2026-10-25: 01:30 happens twice; the digest runs at the first (00:30 UTC) and not again that day.
    first = schedule.next_daily(utc(2026, 10, 24, 23), at, LONDON)
    assert first == utc(2026, 10, 25, 0, 30)
    assert schedule.next_daily(first, at, LONDON) == utc(2026, 10, 26, 1, 30)


def test_previous_daily_is_the_last_occurrence_at_or_before_now():
    assert schedule.previous_daily(utc(2026, 3, 29, 6, 30), AT, LONDON) == utc(2026, 3, 29, 6, 30)
    assert schedule.previous_daily(utc(2026, 3, 29, 6, 29), AT, LONDON) == utc(2026, 3, 28, 7, 30)


def test_a_missed_digest_is_sent_once_on_start_but_a_first_start_waits():
    now = utc(2026, 11, 10, 12)  # 12:00 GMT, after today's 07:30
    assert schedule.next_digest(now, AT, LONDON, None) == utc(2026, 11, 11, 7, 30)
    assert schedule.next_digest(now, AT, LONDON, utc(2026, 11, 10, 7, 30)) == utc(2026, 11, 11, 7, 30)
    # the daemon was down at 07:30 today (the last digest was yesterday's, or days ago): now, once
    assert schedule.next_digest(now, AT, LONDON, utc(2026, 11, 9, 7, 30)) == now
    assert schedule.next_digest(now, AT, LONDON, utc(2026, 11, 1, 7, 30)) == now
