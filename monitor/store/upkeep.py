"""The daemon's heartbeat, retention, and the database's size."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Engine

from monitor.store.schema import (
    bodies,
    chunks,
    digests,
    evidence,
    items,
    meta,
    outbox,
    reviews,
    writing,
)

# ---------------------------------------------------------------- the daemon: schedule, retention, health

HEARTBEAT_KEY = "daemon_heartbeat"


def delete_old_items(engine: Engine, before: datetime) -> int:
    """Delete mentions first seen before `before` that nobody flagged, with their evidence; return how many.

    Kept whatever their age: high severity (an edited post keeps the gravest label it had), an
    alert sent about it, and anything with a review entry (its log is kept too). Stored response
    bodies no remaining evidence points to go as well.
    """
    unflagged = select(items.c.id).where(
        items.c.first_seen < before,
        items.c.severity != "high",
        items.c.alerted_at.is_(None),
        ~select(reviews.c.id).where(reviews.c.item_id == items.c.id).exists(),
    )
    with writing(engine) as conn:
        ids = [r.id for r in conn.execute(unflagged)]
        for chunk in chunks(ids):
            conn.execute(delete(evidence).where(evidence.c.item_id.in_(chunk)))
            conn.execute(delete(items).where(items.c.id.in_(chunk)))
        if ids:
            used = select(evidence.c.body_sha256).where(evidence.c.body_sha256.is_not(None))
            conn.execute(delete(bodies).where(bodies.c.sha256.not_in(used)))
    return len(ids)


def delete_sent_emails(engine: Engine, before: datetime) -> int:
    """Delete emails sent before `before` (they quote the mentions); unsent ones stay, whatever
    their age. An alert's dedupe key goes with it: the item's alert was sent long ago."""
    with writing(engine) as conn:
        return conn.execute(delete(outbox).where(outbox.c.sent_at.is_not(None), outbox.c.sent_at < before)).rowcount


def set_heartbeat(engine: Engine, at: datetime | None) -> None:
    """Record that the daemon is alive at `at`; None removes it (the daemon stopped cleanly)."""
    with writing(engine) as conn:
        conn.execute(delete(meta).where(meta.c.key == HEARTBEAT_KEY))
        if at is not None:
            conn.execute(insert(meta).values(key=HEARTBEAT_KEY, value=at.astimezone(UTC).isoformat()))


def get_heartbeat(engine: Engine) -> datetime | None:
    with engine.connect() as conn:
        value = conn.execute(select(meta.c.value).where(meta.c.key == HEARTBEAT_KEY)).scalar()
    return datetime.fromisoformat(value) if value else None


def last_digest(engine: Engine) -> datetime | None:
    with engine.connect() as conn:
        return conn.execute(select(func.max(digests.c.at))).scalar()


def database_size(engine: Engine) -> int | None:
    """Bytes used by a SQLite database (pages in use, WAL not counted); None for other databases."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        size = conn.exec_driver_sql("PRAGMA page_size").scalar()
    return int(pages or 0) * int(size or 0)
