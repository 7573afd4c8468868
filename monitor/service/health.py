"""The monitor's health and upkeep: status, the daemon's heartbeat, retention.

Unhealthy (`status` exits 1) when the database cannot be opened, when a daemon is expected (its
heartbeat is stored) but its heartbeat is older than HEARTBEAT_STALE, or when a message (an
alert, a pile-on or the digest, by email or any channel) has waited more than ALERT_STUCK after it
was due because sending fails (not because quiet hours hold it). Failing sources
are shown, not unhealthy: restarting the monitor would not mend them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from monitor import channels, store
from monitor.config import Config
from monitor.errors import StoreError
from monitor.models import SourceState

log = logging.getLogger("monitor")

HEARTBEAT_STALE = timedelta(minutes=5)  # ten of the longest ticks: the daemon has stopped or hung
ALERT_STUCK = timedelta(hours=1)  # a message unsent this long after it was due: sending fails


@dataclass(frozen=True)
class Status:
    """The monitor's health, for `school-monitor status`. Healthy when `problems` is empty."""

    checked_at: datetime
    database: str  # the URL, without a password
    problems: tuple[str, ...] = ()
    database_bytes: int | None = None
    heartbeat: datetime | None = None  # None: no daemon running (never started, or stopped cleanly)
    sources: tuple[SourceState, ...] = ()  # in config order; a source never run has an empty state
    unsent: int = 0
    last_digest: datetime | None = None

    @property
    def healthy(self) -> bool:
        return not self.problems


def status(cfg: Config, engine: Engine | None, now: datetime) -> Status:
    """`engine` None: there is no database yet (the monitor has never run)."""
    shown = store.safe_url(cfg.database_url)
    if engine is None:
        return Status(now, shown, ("no database yet: the monitor has never run (`school-monitor run`)",))
    heartbeat = store.get_heartbeat(engine)
    problems = []
    if heartbeat is not None and now - heartbeat > HEARTBEAT_STALE:
        age = int((now - heartbeat).total_seconds())
        problems.append(f"the daemon's last heartbeat is {age}s old: it has stopped or hung")
    if stuck := store.stuck_messages(engine, now - ALERT_STUCK):
        where = ", ".join(dict.fromkeys(channels.shown_of(e.channel) for e in stuck))
        problems.append(
            f"{len(stuck)} message(s) waited more than {int(ALERT_STUCK.total_seconds() // 60)} minutes "
            f"because sending fails ({where}): see `school-monitor outbox`"
        )
    states = store.load_states(engine)
    return Status(
        now,
        shown,
        tuple(problems),
        database_bytes=store.database_size(engine),
        heartbeat=heartbeat,
        sources=tuple(states.get(s.name) or SourceState(name=s.name) for s in cfg.sources),
        unsent=store.count_unsent(engine),
        last_digest=store.last_digest(engine),
    )


def unreachable(cfg: Config, error: StoreError, now: datetime) -> Status:
    return Status(now, store.safe_url(cfg.database_url), (str(error),))


def apply_retention(cfg: Config, engine: Engine, now: datetime) -> int:
    """Delete mentions older than [storage] keep_days that nobody flagged (data protection: keep no
    more than needed), and the emails sent before then, which quote mentions. Returns the mentions
    deleted."""
    before = now - timedelta(days=cfg.storage.keep_days)
    deleted = store.delete_old_items(engine, before)
    emails = store.delete_sent_emails(engine, before)
    store.delete_old_ai_records(engine, before, before.date().isoformat())  # a cached reason may quote a post
    if deleted or emails:
        log.info(
            "retention: deleted %d unflagged mention(s) first seen and %d email(s) sent before %s",
            deleted,
            emails,
            before.date().isoformat(),
        )
    return deleted
