"""The outbox (every message queued before it is sent, email or channel), pending alerts, and digests."""

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
# Every message is queued here before it is sent, so a crash or a dead server loses nothing: one
# row per message and channel ("email", or a channel as channels.py names it, without its secret).
# A sender first claims a row (attempts + 1, next_attempt pushed past a lease), so two senders at
# once (the daemon and `outbox --send`) never both send it; a crash mid-send is retried after the lease.


@dataclass(frozen=True)
class Outgoing:
    """A message to queue: as it will be sent, where to, and what it is about."""

    kind: str
    dedupe_key: str  # one row per key, ever: a channel's keys name the channel
    recipients: tuple[str, ...]  # an email's; () for a channel
    subject: str  # an email's subject, a note's title
    message: bytes  # the whole RFC 5322 email, or a note as channels.encode made it
    item_ids: tuple[int, ...] = ()
    not_before: datetime | None = None  # quiet hours hold it until then
    channel: str = "email"


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
    channel: str = "email"


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
        channel=r.channel,
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
                        channel=email.channel,
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


def queue_digest(engine: Engine, messages: Sequence[Outgoing], item_ids: Sequence[int], now: datetime) -> int | None:
    """Queue the digest (its email and a note per channel), mark its items digested and record it,
    in one transaction: a crash leaves either all three or none, so no item is digested twice or
    never. The id of its first row queued; None when every one was queued before."""
    with writing(engine) as conn:
        queued = [i for i in (_queue(conn, m, now) for m in messages) if i is not None]
        if not queued:
            return None
        outbox_id = queued[0]
        for chunk in chunks(item_ids):
            conn.execute(
                update(items).where(items.c.id.in_(chunk), items.c.digested_at.is_(None)).values(digested_at=now)
            )
        conn.execute(insert(digests).values(at=now, items=len(item_ids), outbox_id=outbox_id))
    return outbox_id


def _unsent() -> ColumnElement[bool]:
    return outbox.c.sent_at.is_(None)


def _released(now: datetime) -> ColumnElement[bool]:
    """Not held by quiet hours."""
    return outbox.c.not_before.is_(None) | (outbox.c.not_before <= now)


def _due(now: datetime) -> ColumnElement[bool]:
    return _unsent() & (outbox.c.next_attempt.is_(None) | (outbox.c.next_attempt <= now)) & _released(now)


def due_emails(engine: Engine, now: datetime, *, flush: bool = False, held: bool = False) -> list[OutboxEntry]:
    """Unsent messages (every channel) whose hold and backoff have passed, oldest first.

    `flush`: whatever their backoff (the caller leaves out those another sender has claimed);
    `held` too: those quiet hours hold as well.
    """
    where = _due(now) if not flush else _unsent() if held else _unsent() & _released(now)
    with engine.connect() as conn:
        return [_outbox_entry(r) for r in conn.execute(select(outbox).where(where).order_by(outbox.c.id))]


def unsent_emails(engine: Engine) -> list[OutboxEntry]:
    """Every message not sent yet, of every channel, oldest first."""
    with engine.connect() as conn:
        return [_outbox_entry(r) for r in conn.execute(select(outbox).where(_unsent()).order_by(outbox.c.id))]


def claim_email(
    engine: Engine, outbox_id: int, now: datetime, lease_until: datetime, *, attempts: int | None = None
) -> bool:
    """Take one due message for sending (counts the attempt); False when another sender has it or it is sent.

    `attempts` (a flush that ignores backoff): take it only if nobody has claimed it since it was
    read with that many attempts, whatever its backoff or hold.
    """
    due = _due(now) if attempts is None else _unsent() & (outbox.c.attempts == attempts)
    with writing(engine) as conn:
        done = conn.execute(
            update(outbox)
            .where(outbox.c.id == outbox_id, due)
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
    """Mentions alerted at once on one route since a time (sent or not, by email or any channel,
    each counted once): the pile-on cap counts these."""
    with engine.connect() as conn:
        return conn.execute(
            select(func.count(func.distinct(outbox.c.item_ids)))
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


def stuck_messages(engine: Engine, due_before: datetime) -> list[OutboxEntry]:
    """Unsent messages that failed and have been due since before `due_before` (queued and, when
    quiet hours held them, released by then): sending fails, not quiet hours."""
    q = select(outbox).where(
        _unsent(),
        outbox.c.attempts > 0,
        outbox.c.last_error.is_not(None),
        outbox.c.created_at <= due_before,
        _released(due_before),
    )
    with engine.connect() as conn:
        return [_outbox_entry(r) for r in conn.execute(q.order_by(outbox.c.id))]


def count_unsent(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))).scalar_one()
