"""Counts and lists for the report, computed in SQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    case,
    func,
    or_,
    select,
)
from sqlalchemy.engine import Engine

from monitor.models import (
    NEGATIVE_LABELS,
    Review,
    StoredItem,
)
from monitor.store.items import _stored
from monitor.store.reviews import _review
from monitor.store.schema import (
    dated,
    in_period,
    items,
    reviews,
)

# ---------------------------------------------------------------- report queries

_FLAGGED = or_(items.c.label.in_(NEGATIVE_LABELS), items.c.severity.in_(("high", "medium")))
_LABEL_ORDER = case({"extremism": 0, "abuse": 1, "criticism": 2}, value=items.c.label, else_=3)
_SEVERITY_ORDER = case({"high": 0, "medium": 1}, value=items.c.severity, else_=2)


def count_by(engine: Engine, column: str, since: datetime, until: datetime) -> dict[str, int]:
    """Mentions in the period counted by a column (label, source), in SQL."""
    col = items.c[column]
    q = select(col, func.count()).where(in_period(since, until)).group_by(col)
    with engine.connect() as conn:
        return {value: n for value, n in conn.execute(q)}


def daily_counts(engine: Engine, since: datetime, until: datetime) -> list[tuple[str, str, int, float]]:
    """(UTC day 'YYYY-MM-DD', label, mentions, sum of sentiment) per day and label, in SQL."""
    day = func.date(dated)
    q = (
        select(day, items.c.label, func.count(), func.sum(items.c.sentiment))
        .where(in_period(since, until))
        .group_by(day, items.c.label)
    )
    with engine.connect() as conn:
        return [(str(d), label, n, float(total or 0.0)) for d, label, n, total in conn.execute(q)]


def count_flagged(engine: Engine, since: datetime, until: datetime) -> int:
    q = select(func.count()).select_from(items).where(in_period(since, until), _FLAGGED)
    with engine.connect() as conn:
        return conn.execute(q).scalar_one()


def flagged_items(engine: Engine, since: datetime, until: datetime, limit: int) -> list[StoredItem]:
    """Flagged mentions (a negative label, or medium/high severity): most severe, then most recent first."""
    q = (
        select(items)
        .where(in_period(since, until), _FLAGGED)
        .order_by(_SEVERITY_ORDER, _LABEL_ORDER, dated.desc(), items.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [_stored(r) for r in conn.execute(q)]


def reviews_in_period(engine: Engine, since: datetime, until: datetime) -> dict[int, list[Review]]:
    """The review log of every mention in the period, by item, oldest entry first."""
    q = (
        select(reviews)
        .join(items, items.c.id == reviews.c.item_id)
        .where(in_period(since, until))
        .order_by(reviews.c.item_id, reviews.c.at, reviews.c.id)
    )
    out: dict[int, list[Review]] = {}
    with engine.connect() as conn:
        for r in conn.execute(q):
            out.setdefault(r.item_id, []).append(_review(r))
    return out
