"""The review desk's queue: mentions awaiting review first, then the most severe, then the newest;
filters, a text search, counts per label, one page at a time.

Fast on 100,000 mentions without an index of its own: the order is sorted over the id and three
short columns only, and the page's rows are read by id afterwards (a deep page does not sort
whole rows); the counts per label read the label index.
"""

from __future__ import annotations

from sqlalchemy import case, func, or_, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from monitor.models import SEVERITY_RANK, QueuePage, QueueQuery
from monitor.store.items import _stored
from monitor.store.schema import items

# Awaiting review (status "new") first, then high, medium, low, then the newest.
ORDER = (
    case((items.c.status == "new", 0), else_=1),
    case((items.c.severity == "high", 0), (items.c.severity == "medium", 1), else_=2),
    items.c.first_seen.desc(),
    items.c.id.desc(),
)


def _like(text: str) -> str:
    """A LIKE pattern matching the text anywhere, its own % and _ taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _filters(q: QueueQuery, *, with_label: bool) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if with_label and q.label:
        where.append(items.c.label == q.label)
    if q.status:
        where.append(items.c.status == q.status)
    if q.source:
        where.append(items.c.source == q.source)
    if q.since is not None:
        where.append(items.c.first_seen >= q.since)
    if q.text.strip():
        pattern = _like(q.text.strip())
        where.append(or_(items.c.title.like(pattern, escape="\\"), items.c.text.like(pattern, escape="\\")))
    return where


def queue(engine: Engine, q: QueueQuery) -> QueuePage:
    with engine.connect() as conn:
        by_label, ids = (_searched if q.text.strip() else _listed)(conn, q)
        rows = {r.id: _stored(r) for r in conn.execute(select(items).where(items.c.id.in_(ids)))} if ids else {}
    total = by_label.get(q.label, 0) if q.label else sum(by_label.values())
    return QueuePage(tuple(rows[i] for i in ids if i in rows), total, by_label, q.page, q.per_page)


def _listed(conn: Connection, q: QueueQuery) -> tuple[dict[str, int], list[int]]:
    """The counts from the label index, the page's ids from a sort of short columns."""
    counts_q = select(items.c.label, func.count()).where(*_filters(q, with_label=False)).group_by(items.c.label)
    ids_q = (
        select(items.c.id)
        .where(*_filters(q, with_label=True))
        .order_by(*ORDER)
        .limit(q.per_page)
        .offset((q.page - 1) * q.per_page)
    )
    return {label: n for label, n in conn.execute(counts_q)}, list(conn.execute(ids_q).scalars())


def _searched(conn: Connection, q: QueueQuery) -> tuple[dict[str, int], list[int]]:
    """A text search reads every text once (no index helps `%word%`): the counts and the page
    come from that one pass, sorted here, rather than from two scans."""
    found = conn.execute(
        select(items.c.id, items.c.label, items.c.status, items.c.severity, items.c.first_seen).where(
            *_filters(q, with_label=False)
        )
    ).all()
    by_label: dict[str, int] = {}
    for r in found:
        by_label[r.label] = by_label.get(r.label, 0) + 1
    wanted = [r for r in found if r.label == q.label] if q.label else list(found)
    wanted.sort(key=lambda r: (r.status != "new", SEVERITY_RANK.get(r.severity, 2), -r.first_seen.timestamp(), -r.id))
    start = (q.page - 1) * q.per_page
    return by_label, [r.id for r in wanted[start : start + q.per_page]]


def sources_seen(engine: Engine) -> list[str]:
    """Every source a stored mention came from (configured ones and "added by hand: …"), by name."""
    with engine.connect() as conn:
        return list(conn.execute(select(items.c.source).distinct().order_by(items.c.source)).scalars())
