"""The append-only review log and the take-down follow-ups it starts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import (
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine, Row

from monitor.models import (
    FOLLOW_UP_ACTIONS,
    Review,
    StoredItem,
)
from monitor.store.items import _stored
from monitor.store.schema import (
    follow_ups,
    inserted_id,
    items,
    reviews,
    upsert,
    writing,
)

# ---------------------------------------------------------------- reviews


def add_review(engine: Engine, review: Review) -> Review:
    """Append to the review log (never overwritten) and set the item's current status.

    A deletion request or a report to the platform puts the post on the follow-up list (due at
    once); any other action, or a dismissal, takes it off: the latest action is what counts.
    """
    with writing(engine) as conn:
        rid = inserted_id(conn.execute(insert(reviews).values(_review_values(review))))
        conn.execute(update(items).where(items.c.id == review.item_id).values(status=review.status))
        if review.action in FOLLOW_UP_ACTIONS:
            follow_up = {"item_id": review.item_id, "next_check": review.at, "last_checked": None, "last_result": None}
            conn.execute(upsert(conn, follow_ups, ("item_id",)), [follow_up])
        elif review.action is not None or review.status == "dismissed":
            conn.execute(delete(follow_ups).where(follow_ups.c.item_id == review.item_id))
    return replace(review, id=rid)


def relabel(
    engine: Engine, item_id: int, *, label: str, severity: str, by: str, note: str, at: datetime, alert: bool
) -> Review | None:
    """A person's correction of a mention's label: logged (the old label kept in the entry), and
    the mention's label and severity changed in the same transaction. `alert`: decide its instant
    alerts again (a correction to a graver label). None when there is no such mention."""
    with writing(engine) as conn:
        row = conn.execute(select(items.c.label, items.c.status).where(items.c.id == item_id)).first()
        if row is None:
            return None
        entry = Review(
            item_id=item_id, at=at, by=by, status=row.status, note=note, label=label, previous_label=row.label
        )
        rid = inserted_id(conn.execute(insert(reviews).values(_review_values(entry))))
        values = {"label": label, "severity": severity, "corrected_by": by, "text_label": None}
        conn.execute(
            update(items).where(items.c.id == item_id).values(**values, **({"alert_pending": True} if alert else {}))
        )
    return replace(entry, id=rid)


def _review_values(review: Review) -> dict:
    return {
        "item_id": review.item_id,
        "at": review.at,
        "by": review.by,
        "status": review.status,
        "action": review.action,
        "note": review.note,
        "label": review.label,
        "previous_label": review.previous_label,
    }


def list_reviews(engine: Engine, item_ids: Iterable[int] | None = None) -> list[Review]:
    q = select(reviews).order_by(reviews.c.item_id, reviews.c.at, reviews.c.id)
    if item_ids is not None:
        q = q.where(reviews.c.item_id.in_(list(item_ids)))
    with engine.connect() as conn:
        return [_review(r) for r in conn.execute(q)]


def _review(r: Row) -> Review:
    return Review(
        item_id=r.item_id,
        at=r.at,
        by=r.by,
        status=r.status,
        action=r.action,
        note=r.note,
        id=r.id,
        label=r.label,
        previous_label=r.previous_label,
    )


# ---------------------------------------------------------------- follow-ups


def due_follow_ups(engine: Engine, now: datetime) -> list[tuple[StoredItem, str | None]]:
    """The posts whose take-down re-check is due, each with its last result; one indexed query
    (none due: an empty index range)."""
    q = (
        select(items, follow_ups.c.last_result)
        .join(follow_ups, follow_ups.c.item_id == items.c.id)
        .where(follow_ups.c.next_check <= now)
        .order_by(follow_ups.c.next_check)
    )
    with engine.connect() as conn:
        return [(_stored(r), r.last_result) for r in conn.execute(q)]


def set_follow_up(engine: Engine, item_id: int, *, checked: datetime, next_check: datetime, result: str) -> None:
    with writing(engine) as conn:
        conn.execute(
            update(follow_ups)
            .where(follow_ups.c.item_id == item_id)
            .values(last_checked=checked, next_check=next_check, last_result=result)
        )


def reviews_with_action(engine: Engine, action: str, since: datetime) -> list[tuple[Review, StoredItem]]:
    """Review-log entries with this action since a time, each with its mention (e.g. "removed")."""
    q = (
        select(
            reviews.c.id.label("review_id"),
            reviews.c.at.label("review_at"),
            reviews.c.by,
            reviews.c.status.label("review_status"),
            reviews.c.action,
            reviews.c.note,
            items,
        )
        .join(items, items.c.id == reviews.c.item_id)
        .where(reviews.c.action == action, reviews.c.at >= since)
        .order_by(reviews.c.at)
    )
    with engine.connect() as conn:
        return [
            (
                Review(
                    item_id=r.id,
                    at=r.review_at,
                    by=r.by,
                    status=r.review_status,
                    action=r.action,
                    note=r.note,
                    id=r.review_id,
                ),
                _stored(r),
            )
            for r in conn.execute(q)
        ]
