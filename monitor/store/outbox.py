"""The outbox (every message queued before it is sent), pending alerts, and digests."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from monitor.models import (
    StoredItem,
)
from monitor.store.items import _stored
from monitor.store.schema import (
    chunks,
    dated,
    digests,
    inserted_id,
    items,
    outbox,
    writing,
)

# ---------------------------------------------------------------- outbox and digests
#
# Every email is queued here before it is sent, so a crash or a dead mail server loses nothing.
# A sender first claims a row (attempts + 1, next_attempt pushed past a lease), so two senders at
# once (the daemon and `outbox --send`) never both send it; a crash mid-send is retried after the lease.


@dataclass(frozen=True)
class Outgoing:
    """An email to queue: the message as it will be sent, and what it is about."""

    kind: str
    dedupe_key: str
    recipients: tuple[str, ...]
    subject: str
    message: bytes
    item_ids: tuple[int, ...] = ()
    not_before: datetime | None = None  # quiet hours hold it until then


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    created_at: datetime
    kind: str
    dedupe_key: str | None
    recipients: tuple[str, ...]
    subject: str
    message: bytes
    item_ids: tuple[int, ...]
    not_before: datetime | None
    attempts: int
    last_error: str | None
    last_attempt: datetime | None
    next_attempt: datetime | None
    sent_at: datetime | None


def _outbox_entry(r: Row) -> OutboxEntry:
    return OutboxEntry(
        id=r.id,
        created_at=r.created_at,
        kind=r.kind,
        dedupe_key=r.dedupe_key,
        recipients=tuple(json.loads(r.recipients)),
        subject=r.subject,
        message=r.message,
        item_ids=tuple(json.loads(r.item_ids)),
        not_before=r.not_before,
        attempts=r.attempts,
        last_error=r.last_error,
        last_attempt=r.last_attempt,
        next_attempt=r.next_attempt,
        sent_at=r.sent_at,
    )


def _queue(conn: Connection, email: Outgoing, now: datetime) -> int | None:
    """Insert one email unless its dedupe_key is already queued or sent; its id, or None.

    The unique constraint decides: two processes queueing the same alert at once (the daemon and a
    `scan`) get one row, the other's insert is rolled back to a savepoint and skipped.
    """
    if conn.execute(select(outbox.c.id).where(outbox.c.dedupe_key == email.dedupe_key)).first():
        return None
    try:
        with conn.begin_nested():
            return inserted_id(
                conn.execute(
                    insert(outbox).values(
                        created_at=now,
                        kind=email.kind,
                        dedupe_key=email.dedupe_key,
                        recipients=json.dumps(list(email.recipients)),
                        subject=email.subject,
                        message=email.message,
                        item_ids=json.dumps(list(email.item_ids)),
                        not_before=email.not_before,
                        attempts=0,
                    )
                )
            )
    except IntegrityError:
        return None


def queue_emails(engine: Engine, emails: Sequence[Outgoing], now: datetime, alerted: Sequence[int] = ()) -> list[int]:
    """Queue emails in one transaction; those whose dedupe_key is known are skipped (one email per key, ever).

    `alerted`: the items these alerts were decided for; their alert_pending flag is cleared in the
    same transaction, so each pending item is decided exactly once.
    """
    with writing(engine) as conn:
        queued = [i for i in (_queue(conn, e, now) for e in emails) if i is not None]
        _clear_pending(conn, alerted)
        # Alerted mentions are evidence that was acted on: retention keeps them.
        for chunk in chunks(sorted({i for e in emails for i in e.item_ids})):
            conn.execute(
                update(items).where(items.c.id.in_(chunk), items.c.alerted_at.is_(None)).values(alerted_at=now)
            )
        return queued


def pending_alerts(engine: Engine) -> list[int]:
    """Items stored (or re-labelled) whose instant alerts have not been decided yet."""
    with engine.connect() as conn:
        return list(
            conn.execute(select(items.c.id).where(items.c.alert_pending.is_(True)).order_by(items.c.id)).scalars()
        )


def pending_candidates(engine: Engine, labels: Iterable[str], fresh_since: datetime) -> list[StoredItem]:
    """The pending items that may need an alert: one of these labels, published (or first seen)
    since `fresh_since`. Selected in SQL, so a large backlog of pending items costs no memory."""
    q = (
        select(items)
        .where(items.c.alert_pending.is_(True), items.c.label.in_(list(labels)), dated >= fresh_since)
        .order_by(items.c.id)
    )
    with engine.connect() as conn:
        return [_stored(r) for r in conn.execute(q)]


def clear_pending(engine: Engine, item_ids: Sequence[int]) -> None:
    with writing(engine) as conn:
        _clear_pending(conn, item_ids)


def _clear_pending(conn: Connection, item_ids: Sequence[int]) -> None:
    ids = list(item_ids)
    for chunk in chunks(ids):
        conn.execute(update(items).where(items.c.id.in_(chunk)).values(alert_pending=False))


def queue_digest(engine: Engine, email: Outgoing, item_ids: Sequence[int], now: datetime) -> int | None:
    """Queue the digest, mark its items digested and record it, in one transaction: a crash leaves
    either all three or none, so no item is digested twice or never."""
    with writing(engine) as conn:
        outbox_id = _queue(conn, email, now)
        if outbox_id is None:
            return None
        for chunk in chunks(item_ids):
            conn.execute(
                update(items).where(items.c.id.in_(chunk), items.c.digested_at.is_(None)).values(digested_at=now)
            )
        conn.execute(insert(digests).values(at=now, items=len(item_ids), outbox_id=outbox_id))
    return outbox_id


def _unsent() -> ColumnElement[bool]:
    return outbox.c.sent_at.is_(None)


def _due(now: datetime) -> ColumnElement[bool]:
    return (
        _unsent()
        & (outbox.c.next_attempt.is_(None) | (outbox.c.next_attempt <= now))
        & (outbox.c.not_before.is_(None) | (outbox.c.not_before <= now))
    )


def due_emails(engine: Engine, now: datetime) -> list[OutboxEntry]:
    """Unsent emails whose hold and backoff have passed, oldest first."""
    with engine.connect() as conn:
        return [_outbox_entry(r) for r in conn.execute(select(outbox).where(_due(now)).order_by(outbox.c.id))]


def unsent_emails(engine: Engine) -> list[OutboxEntry]:
    with engine.connect() as conn:
        return [_outbox_entry(r) for r in conn.execute(select(outbox).where(_unsent()).order_by(outbox.c.id))]


def claim_email(engine: Engine, outbox_id: int, now: datetime, lease_until: datetime) -> bool:
    """Take one due email for sending (counts the attempt); False when another sender has it or it is sent."""
    with writing(engine) as conn:
        done = conn.execute(
            update(outbox)
            .where(outbox.c.id == outbox_id, _due(now))
            .values(attempts=outbox.c.attempts + 1, last_attempt=now, next_attempt=lease_until)
        )
    return done.rowcount == 1


def mark_sent(engine: Engine, outbox_id: int, now: datetime, note: str | None = None) -> None:
    with writing(engine) as conn:
        conn.execute(
            update(outbox).where(outbox.c.id == outbox_id).values(sent_at=now, last_error=note, next_attempt=None)
        )


def mark_failed(engine: Engine, outbox_id: int, error: str, next_attempt: datetime) -> None:
    with writing(engine) as conn:
        conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(last_error=error, next_attempt=next_attempt))


def count_alerts_since(engine: Engine, since: datetime, route: str) -> int:
    """Instant alerts queued for one route since a time (sent or not): the pile-on cap counts these."""
    with engine.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(outbox)
            .where(
                outbox.c.kind == "alert",
                outbox.c.created_at >= since,
                outbox.c.dedupe_key.endswith(f":{route}", autoescape=True),
            )
        ).scalar_one()


def undigested_items(engine: Engine, since: datetime | None = None) -> list[StoredItem]:
    """Mentions no digest has listed yet (first seen since `since`), oldest first."""
    q = select(items).where(items.c.digested_at.is_(None)).order_by(items.c.first_seen, items.c.id)
    if since is not None:
        q = q.where(items.c.first_seen >= since)
    with engine.connect() as conn:
        return [_stored(r) for r in conn.execute(q)]


def count_unsent(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))).scalar_one()


def count_stuck_alerts(engine: Engine, waiting_since: datetime) -> int:
    """Unsent alerts that sending has failed for (tried at least once) and that have been due since
    before `waiting_since`; an alert held by quiet hours is due only from the end of its hold."""
    due_since = func.coalesce(outbox.c.not_before, outbox.c.created_at)
    q = (
        select(func.count())
        .select_from(outbox)
        .where(
            _unsent(),
            outbox.c.kind.in_(("alert", "pileon")),
            outbox.c.attempts > 0,
            outbox.c.created_at < waiting_since,
            due_since < waiting_since,
        )
    )
    with engine.connect() as conn:
        return int(conn.execute(q).scalar_one())
