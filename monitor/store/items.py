"""Mentions: saving what a scan scored (new, edited), reading them back, and their evidence."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from monitor.models import (
    LABEL_RANK,
    Evidence,
    FetchResult,
    Item,
    Scored,
    SourceState,
    StoredItem,
)
from monitor.store.schema import (
    bodies,
    chunks,
    content_hash,
    dated,
    evidence,
    in_period,
    insert_or_ignore,
    items,
    writing,
)
from monitor.store.sources import _state_row, _upsert_states

# ---------------------------------------------------------------- items


@dataclass(frozen=True)
class SaveResult:
    new_ids: tuple[int, ...] = ()
    updated_ids: tuple[int, ...] = ()
    error: str | None = None  # the database refused this source's items: none of them is stored


def save_items(
    engine: Engine,
    scored: Sequence[Scored],
    now: datetime,
    fetched: FetchResult | None = None,
    state: SourceState | None = None,
) -> SaveResult:
    """Insert new mentions, update edited ones, keep evidence; one transaction (with the source state).

    An item already stored with the same content is left alone. An edited one (same key, other
    content) is updated in place and re-scored; its new version is added to the evidence. It keeps
    the gravest label it ever had (its evidence), unless a person corrected it: the label of the
    new text is kept beside it (text_label).
    """
    return save_batch(engine, [(scored, fetched, state)], now)[0]


def save_batch(
    engine: Engine, batch: Sequence[tuple[Sequence[Scored], FetchResult | None, SourceState | None]], now: datetime
) -> list[SaveResult]:
    """save_items for several sources in one transaction (a scan's results as they arrive): one
    commit instead of one per source. Each source's items and state land together; if the database
    refuses one source's text, the batch is stored again with each source in a savepoint of its
    own, so that source spoils only itself (its result carries the error, and its state is not
    saved: the caller records the failure)."""
    # One order for every writer (by source; within one, the body's own order), so that two processes storing the same
    # sources at once take their locks in the same order; a deadlock still detected is retried.
    order = sorted(range(len(batch)), key=lambda i: _source_of(batch[i]))
    isolate = False  # each source in a savepoint only once the database has refused one
    for attempt in range(DEADLOCK_RETRIES + 2):
        try:
            results = _save_in_order(engine, batch, order, now, isolate)
        except (DataError, IntegrityError, OperationalError) as e:
            failed = isinstance(e, OperationalError) and not _refused(e)  # locked, gone: not the text
            if not failed and not isolate:
                isolate = True  # the whole batch rolled back: again, one savepoint per source
                continue
            if isinstance(e, OperationalError) and _deadlock(e) and attempt < DEADLOCK_RETRIES:
                continue
            raise
        return [results[i] for i in range(len(batch))]
    raise AssertionError("unreachable")


DEADLOCK_RETRIES = 3


def _save_in_order(
    engine: Engine,
    batch: Sequence[tuple[Sequence[Scored], FetchResult | None, SourceState | None]],
    order: list[int],
    now: datetime,
    isolate: bool,
) -> dict[int, SaveResult]:
    """Save in one transaction. Without `isolate` a refused text fails the whole transaction (the
    caller tries again isolated); with it, each source's items go in a savepoint of their own."""
    results = {}
    with writing(engine) as conn:
        # A source that brought no items has only its state to store: all of those in one
        # statement (an unchanged re-scan is 400 of them), the others each in a savepoint.
        unchanged = [i for i in order if not batch[i][0]]
        _upsert_states(conn, [_state_row(st) for i in unchanged if (st := batch[i][2]) is not None])
        results.update({i: SaveResult() for i in unchanged})
        saved = []
        for i in order:
            scored, fetched, state = batch[i]
            if not scored:
                continue
            try:
                with conn.begin_nested() if isolate else nullcontext():
                    results[i] = _save_source(conn, scored, now, fetched)
            except (DataError, IntegrityError, OperationalError) as e:
                if not isolate:
                    raise
                if isinstance(e, OperationalError) and not _refused(e):
                    raise  # the database itself failed (locked, gone): the whole batch is retried later
                results[i] = SaveResult(error=f"the database refused this source's items: {_first_line(e)}")
                continue
            if state is not None:
                saved.append(_state_row(state))
        # The states of the sources whose items went in, in the same transaction: a refused
        # source's state is the caller's to record (as a failure).
        _upsert_states(conn, saved)
    return results


def _source_of(entry: tuple[Sequence[Scored], FetchResult | None, SourceState | None]) -> str:
    scored, _, state = entry
    return state.name if state is not None else (scored[0].item.source if scored else "")


def _deadlock(e: OperationalError) -> bool:
    return getattr(e.orig, "sqlstate", None) in ("40P01", "40001") or "deadlock" in str(e.orig).lower()


def _refused(e: OperationalError) -> bool:
    """An error about the data (too long, bad bytes), not about the database being unusable."""
    text = str(e.orig).lower()
    return "too long" in text or "string or blob" in text or "encoding" in text


def _first_line(e: Exception) -> str:
    """The database's own words, without the statement and its parameters (the posts' texts)."""
    orig = getattr(e, "orig", None)
    return str(orig or e).strip().splitlines()[0][:300] if str(orig or e).strip() else e.__class__.__name__


def _save_source(conn: Connection, scored: Sequence[Scored], now: datetime, fetched: FetchResult | None) -> SaveResult:
    new_ids: list[int] = []
    updated_ids: list[int] = []
    by_source: dict[str, dict[str, Scored]] = {}
    for s in scored:  # a key listed twice in one body: its last version counts
        by_source.setdefault(s.item.source, {})[s.item.key] = s
    kept: list[tuple[int, Item]] = []
    for source, group in by_source.items():
        existing = _existing(conn, source, list(group))
        fresh = [s for key, s in group.items() if key not in existing]
        if fresh:
            inserted = _insert_new(conn, source, fresh, now)
            new_ids += [inserted[s.item.key] for s in fresh if s.item.key in inserted]
            kept += [(inserted[s.item.key], s.item) for s in fresh if s.item.key in inserted]
            if len(inserted) < len(fresh):  # another process stored some meanwhile: they are edits, or the same
                existing.update(_existing(conn, source, [s.item.key for s in fresh if s.item.key not in inserted]))
        for key, s in group.items():
            old = existing.get(key)
            if old is None or old.content_hash == content_hash(s.item.title, s.item.text):
                continue
            conn.execute(update(items).where(items.c.id == old.id).values(**_edited_values(old, s, now)))
            updated_ids.append(old.id)
            kept.append((old.id, s.item))
    if kept:
        body_sha = _save_body(conn, fetched, now) if fetched is not None else None
        fetched_url = fetched.url if fetched else ""
        conn.execute(
            insert(evidence),
            [dict(body_sha256=body_sha, **_evidence_values(i, item, now, fetched_url)) for i, item in kept],
        )
    return SaveResult(tuple(new_ids), tuple(updated_ids))


def _insert_new(conn: Connection, source: str, fresh: list[Scored], now: datetime) -> dict[str, int]:
    """Insert new mentions, skipping a key another process stored meanwhile (the unique constraint
    decides, not a prior SELECT); the ids of those inserted, by key."""
    rows = [
        dict(
            source=source,
            key=s.item.key,
            first_seen=now,
            updated_at=None,
            digested_at=None,
            status="new",
            alert_pending=True,
            content_hash=content_hash(s.item.title, s.item.text),
            **_item_values(s),
        )
        for s in fresh
    ]
    statement = insert_or_ignore(conn, items, ("source", "key")).returning(items.c.id, items.c.key)
    return {r.key: r.id for r in conn.execute(statement, rows)}


def _edited_values(old: Row, s: Scored, now: datetime) -> dict:
    """An edited post's new text, scored again. It keeps the gravest reading it ever had, so an abusive
    post edited to something harmless keeps its flag, its alert and its evidence; a person's
    correction decides instead. The new text's own label is kept beside it when it differs."""
    values = {"content_hash": content_hash(s.item.title, s.item.text), "updated_at": now, **_item_values(s)}
    new_label = s.score.label
    kept_label = old.label if (old.corrected_by or _graver(old.label, new_label)) else new_label
    if kept_label != new_label:
        values.update(label=old.label, severity=old.severity, flags=old.flags, text_label=new_label)
    else:
        values["text_label"] = None
        if new_label != old.label:  # graver now: its alerts are decided again
            values["alert_pending"] = True
    return values


def _graver(a: str, b: str) -> bool:
    """Whether label a is graver than label b (extremism > abuse > criticism > praise > neutral)."""
    return LABEL_RANK.get(a, len(LABEL_RANK)) < LABEL_RANK.get(b, len(LABEL_RANK))


def add_evidence(engine: Engine, item_id: int, item: Item, body: FetchResult, now: datetime) -> None:
    """One more evidence version of a mention: e.g. a screenshot staff took of a post no collector
    can reach (the body is the image, byte for byte, with its type)."""
    with writing(engine) as conn:
        sha = _save_body(conn, body, now)
        conn.execute(insert(evidence).values(body_sha256=sha, **_evidence_values(item_id, item, now, body.url)))


def _save_body(conn: Connection, fetched: FetchResult, now: datetime) -> str:
    sha = hashlib.sha256(fetched.body).hexdigest()
    if conn.execute(select(bodies.c.sha256).where(bodies.c.sha256 == sha)).first() is None:
        conn.execute(  # content-addressed: another process storing the same body at once is the same row
            insert_or_ignore(conn, bodies, ("sha256",)).values(
                sha256=sha,
                url=fetched.url,
                fetched_at=fetched.fetched_at or now,
                content_type=fetched.content_type,
                content=fetched.body,
            )
        )
    return sha


def _existing(conn: Connection, source: str, keys: list[str]) -> dict[str, Row]:
    out = {}
    columns = (
        items.c.key,
        items.c.id,
        items.c.content_hash,
        items.c.label,
        items.c.severity,
        items.c.flags,
        items.c.corrected_by,
    )
    for chunk in chunks(keys):
        rows = conn.execute(select(*columns).where(items.c.source == source, items.c.key.in_(chunk)))
        out.update({r.key: r for r in rows})
    return out


def _item_values(s: Scored) -> dict:
    i, sc = s.item, s.score
    return dict(
        url=i.url,
        title=i.title,
        text=i.text,
        author=i.author,
        published=i.published,
        label=sc.label,
        severity=sc.severity,
        sentiment=sc.sentiment,
        flags=json.dumps(list(sc.flags)),
        mentions_staff=sc.mentions_staff,
    )


def _evidence_values(item_id: int, item: Item, now: datetime, fetched_url: str) -> dict:
    raw = (item.raw or item.text).encode("utf-8", "surrogateescape")
    return dict(
        item_id=item_id,
        fetched_at=now,
        url=item.url or fetched_url,
        text=item.text,
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def _stored(r: Row) -> StoredItem:
    return StoredItem(
        id=r.id,
        source=r.source,
        url=r.url,
        title=r.title,
        text=r.text,
        author=r.author,
        published=r.published,
        first_seen=r.first_seen,
        label=r.label,
        severity=r.severity,
        sentiment=r.sentiment,
        flags=tuple(json.loads(r.flags)),
        mentions_staff=bool(r.mentions_staff),
        status=r.status,
        updated_at=r.updated_at,
        digested_at=r.digested_at,
        text_label=r.text_label,
        corrected_by=r.corrected_by,
        alerted_at=r.alerted_at,
    )


def list_items(
    engine: Engine,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    labels: Iterable[str] = (),
    statuses: Iterable[str] = (),
    ids: Iterable[int] = (),
    limit: int | None = None,
) -> list[StoredItem]:
    """Stored mentions, newest first (by first_seen)."""
    q = select(items).order_by(items.c.first_seen.desc(), items.c.id.desc())
    if since is not None:
        q = q.where(items.c.first_seen >= since)
    if until is not None:
        q = q.where(items.c.first_seen < until)
    if labels := list(labels):
        q = q.where(items.c.label.in_(labels))
    if statuses := list(statuses):
        q = q.where(items.c.status.in_(statuses))
    if ids := list(ids):
        q = q.where(items.c.id.in_(ids))
    if limit:
        q = q.limit(limit)
    with engine.connect() as conn:
        return [_stored(r) for r in conn.execute(q)]


def get_item(engine: Engine, item_id: int) -> StoredItem | None:
    found = list_items(engine, ids=[item_id])
    return found[0] if found else None


def find_item_id(engine: Engine, source: str, key: str) -> int | None:
    with engine.connect() as conn:
        return conn.execute(select(items.c.id).where(items.c.source == source, items.c.key == key)).scalar()


# ---------------------------------------------------------------- evidence


def list_evidence(engine: Engine, item_id: int) -> list[Evidence]:
    """Every stored version of an item, oldest first, each with the whole body it came in."""
    q = (
        select(
            evidence,
            bodies.c.content,
            bodies.c.url.label("body_url"),
            bodies.c.content_type,
            bodies.c.fetched_at.label("body_fetched_at"),
        )
        .outerjoin(bodies, bodies.c.sha256 == evidence.c.body_sha256)
        .where(evidence.c.item_id == item_id)
        .order_by(evidence.c.id)
    )
    with engine.connect() as conn:
        return [
            Evidence(
                item_id=r.item_id,
                version=n,
                fetched_at=r.fetched_at,
                url=r.url,
                text=r.text,
                raw=r.raw,
                sha256=r.sha256,
                body=r.content,
                body_sha256=r.body_sha256,
                body_url=r.body_url or "",
                body_content_type=r.content_type or "",
                body_fetched_at=r.body_fetched_at,
            )
            for n, r in enumerate(conn.execute(q), 1)
        ]


def iter_items(engine: Engine, since: datetime, until: datetime, batch: int = 2000) -> Iterator[StoredItem]:
    """Every mention in the period, newest first, streamed in batches rather than loaded at once."""
    q = (
        select(items)
        .where(in_period(since, until))
        .order_by(dated.desc(), items.c.id.desc())
        .execution_options(yield_per=batch)
    )
    with engine.connect() as conn:
        for r in conn.execute(q):
            yield _stored(r)


def corrected(engine: Engine) -> list[tuple[int, str, str]]:
    """The mentions a person corrected, as (id, title and text, label): the school's examples."""
    q = select(items.c.id, items.c.title, items.c.text, items.c.label).where(items.c.corrected_by.is_not(None))
    with engine.connect() as conn:
        return [(r.id, f"{r.title}\n{r.text}" if r.title else r.text, r.label) for r in conn.execute(q)]
