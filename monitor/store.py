"""The only module that touches the database (SQLAlchemy Core). Plain dataclasses in and out.

Identity: an item is unique per (source, key), where key is the guid, else the canonical link,
else a content hash (see parse.item_key). The unique constraint enforces it, so a crash between
two writes, or two scans at once, can never store an item twice.
All times are stored as naive UTC and returned timezone-aware.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from monitor.errors import StoreError
from monitor.models import (
    FOLLOW_UP_ACTIONS,
    NEGATIVE_LABELS,
    Evidence,
    FetchResult,
    Item,
    Review,
    Score,
    SourceState,
    StoredItem,
)

SCHEMA_VERSION = 2


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, naive UTC in the database (portable)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=UTC) if value is not None else None


metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

sources = Table(
    "sources",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_checked", UTCDateTime),
    Column("last_success", UTCDateTime),
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
    Column("failures", Integer, nullable=False, default=0),
    Column("next_check", UTCDateTime),
    Column("content_hash", String(64)),
    Column("permanent_failures", Integer, nullable=False, default=0, server_default="0"),
    Column("page_text", Text),
)

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(200), nullable=False),
    Column("key", Text, nullable=False),
    Column("url", Text, nullable=False, default=""),
    Column("title", Text, nullable=False, default=""),
    Column("text", Text, nullable=False, default=""),
    Column("author", Text, nullable=False, default=""),
    Column("published", UTCDateTime),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime),
    Column("content_hash", String(64), nullable=False),
    Column("label", String(16), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("sentiment", Float, nullable=False, default=0.0),
    Column("flags", Text, nullable=False, default="[]"),
    Column("mentions_staff", Boolean, nullable=False, default=False),
    # Set when the item is stored (or re-labelled by an edit) and cleared in the transaction that
    # queues its alerts: a crash in between leaves it pending, so no instant alert is ever lost.
    Column("alert_pending", Boolean, nullable=False, default=False),
    # Derived from the review log, kept here so lists can filter without a join;
    # written in the same transaction as each review entry.
    Column("status", String(16), nullable=False, default="new"),
    Column("digested_at", UTCDateTime),
    UniqueConstraint("source", "key", name="uq_items_source_key"),
)
Index("ix_items_first_seen", items.c.first_seen)
Index("ix_items_published", items.c.published)
Index("ix_items_label", items.c.label)
Index("ix_items_status", items.c.status)
Index("ix_items_digested", items.c.digested_at)
Index("ix_items_alert_pending", items.c.alert_pending)

# Each fetched body that yielded a new or edited mention, byte for byte as served (content-addressed).
bodies = Table(
    "bodies",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("url", Text, nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("content_type", Text, nullable=False, default=""),
    Column("content", LargeBinary, nullable=False),
)

evidence = Table(
    "evidence",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("url", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("raw", LargeBinary, nullable=False),  # the item's own XML/HTML fragment
    Column("sha256", String(64), nullable=False),  # of raw
    Column("body_sha256", String(64)),  # the whole response it came in (bodies)
)
Index("ix_evidence_item", evidence.c.item_id)

reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("by", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("action", String(32)),
    Column("note", Text, nullable=False, default=""),
)
Index("ix_reviews_item", reviews.c.item_id)

# Posts the school asked to be taken down, re-checked by the scan until they have gone.
follow_ups = Table(
    "follow_ups",
    metadata,
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("next_check", UTCDateTime, nullable=False),
    Column("last_checked", UTCDateTime),
    Column("last_result", Text),
)
Index("ix_follow_ups_next_check", follow_ups.c.next_check)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("dedupe_key", String(200), unique=True),
    Column("recipients", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("message", LargeBinary, nullable=False),  # the whole RFC 5322 message, as sent
    Column("item_ids", Text, nullable=False, default="[]"),
    Column("not_before", UTCDateTime),  # quiet hours hold an email until then
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("last_attempt", UTCDateTime),
    Column("next_attempt", UTCDateTime),
    Column("sent_at", UTCDateTime),
)
Index("ix_outbox_unsent", outbox.c.sent_at, outbox.c.next_attempt)

digests = Table(
    "digests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("items", Integer, nullable=False),
    Column("outbox_id", Integer),
)


def content_hash(title: str, text: str) -> str:
    return hashlib.sha256(f"{title}\x00{text}".encode("utf-8", "surrogatepass")).hexdigest()


def _sqlite_pragmas(dbapi_conn, _record):
    # WAL: readers (report, status) never block the daemon's writes; a kill leaves the DB consistent.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def connect(url: str) -> Engine:
    """Open (and on first use create) the database at a SQLAlchemy URL."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(url, future=True)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        _migrate(engine)
    except SQLAlchemyError as e:
        raise StoreError(
            f"cannot open database {safe_url(url)}: {e.__class__.__name__}: {e.args[0] if e.args else e}"
        ) from None
    return engine


def safe_url(url: str) -> str:
    """A database URL without its password, for messages and logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a URL too broken to parse is shown as its scheme only
        return url.split("://", 1)[0] + "://…"


def _migrate(engine: Engine) -> None:
    """Create the schema on first use and record its version.

    Later schema changes are numbered steps applied here in order from the stored version
    (the shape Alembic would give; kept in-process so a pip-installed monitor needs nothing more).
    """
    if _stored_version(engine) == SCHEMA_VERSION:
        return  # the usual case: no need to ask the database about each table (create_all does)
    metadata.create_all(engine)
    with engine.begin() as conn:
        row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).first()
        if row is None:
            conn.execute(insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
        elif int(row.value) > SCHEMA_VERSION:
            raise StoreError(f"the database is from a newer monitor (schema {row.value}); upgrade school-monitor")
        elif int(row.value) < SCHEMA_VERSION:
            for version in range(int(row.value) + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    conn.execute(text(statement))
            conn.execute(update(meta).where(meta.c.key == "schema_version").values(value=str(SCHEMA_VERSION)))


def _stored_version(engine: Engine) -> int | None:
    """The schema version the database records; None for a new database (no meta table yet)."""
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, "meta"):
            return None
        value = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    return int(value) if value is not None else None


# The steps from each schema version to the next (a new database is created at the latest).
MIGRATIONS = {
    2: (  # page sources: broken-source tracking and a watched page's previous text
        "ALTER TABLE sources ADD COLUMN permanent_failures INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE sources ADD COLUMN page_text TEXT",
        # instant alerts decided from a flag, so a crash between storing and alerting loses none
        "ALTER TABLE items ADD COLUMN alert_pending BOOLEAN NOT NULL DEFAULT 0",
        "CREATE INDEX IF NOT EXISTS ix_items_alert_pending ON items (alert_pending)",
    ),
}


# ---------------------------------------------------------------- sources


def load_states(engine: Engine) -> dict[str, SourceState]:
    with engine.connect() as conn:
        rows = conn.execute(select(sources)).mappings().all()
    return {r["name"]: SourceState(**{k: r[k] for k in r}) for r in rows}


def save_state(engine: Engine, state: SourceState) -> None:
    values = _state_row(state)
    with engine.begin() as conn:
        _upsert_state(conn, values)


def _state_row(state: SourceState) -> dict:
    return {c.name: getattr(state, c.name) for c in sources.c}


def _upsert_state(conn, values: dict) -> None:
    _upsert_states(conn, [values])


# One statement for many rows (executemany): a scan's 400 states cost one round of SQL, not 400.
_UPDATE_STATE = (
    update(sources)
    .where(sources.c.name == bindparam("old_name"))
    .values({c.name: bindparam(c.name) for c in sources.c if c.name != "name"})
)


def _upsert_states(conn, rows: Sequence[dict]) -> None:
    if not rows:
        return
    names = [r["name"] for r in rows]
    known = set()
    for i in range(0, len(names), 500):  # stay under SQLite's bound-parameter limit
        known.update(conn.execute(select(sources.c.name).where(sources.c.name.in_(names[i : i + 500]))).scalars())
    updates = [{**r, "old_name": r["name"]} for r in rows if r["name"] in known]
    if updates:
        conn.execute(_UPDATE_STATE, updates)
    if inserts := [r for r in rows if r["name"] not in known]:
        conn.execute(insert(sources), inserts)


# ---------------------------------------------------------------- items


@dataclass(frozen=True)
class Scored:
    """An item with its score, as handed to save_items."""

    item: Item
    score: Score


@dataclass(frozen=True)
class SaveResult:
    new_ids: tuple[int, ...]
    updated_ids: tuple[int, ...]


def save_items(
    engine: Engine,
    scored: Sequence[Scored],
    now: datetime,
    fetched: FetchResult | None = None,
    state: SourceState | None = None,
) -> SaveResult:
    """Insert new mentions, update edited ones, keep evidence; one transaction (with the source state).

    An item already stored with the same content is left alone. An edited one (same key, other
    content) is updated in place and re-scored; its new version is added to the evidence.
    """
    return save_batch(engine, [(scored, fetched, state)], now)[0]


def save_batch(
    engine: Engine, batch: Sequence[tuple[Sequence[Scored], FetchResult | None, SourceState | None]], now: datetime
) -> list[SaveResult]:
    """save_items for several sources in one transaction (a scan's results as they arrive):
    one commit instead of one per source, and each source's items and state still land together."""
    with engine.begin() as conn:
        results = [_save_source(conn, scored, now, fetched) for scored, fetched, _ in batch]
        _upsert_states(conn, [_state_row(st) for _, _, st in batch if st is not None])
        return results


def _save_source(conn, scored: Sequence[Scored], now: datetime, fetched: FetchResult | None) -> SaveResult:
    new_ids, updated_ids = [], []
    by_source: dict[str, dict[str, Scored]] = {}
    for s in scored:  # a key listed twice in one body: its last version counts
        by_source.setdefault(s.item.source, {})[s.item.key] = s
    kept: list[tuple[int, Item]] = []
    for source, group in by_source.items():
        existing = _existing(conn, source, list(group))
        fresh = [s for key, s in group.items() if key not in existing]
        if fresh:  # one multi-row INSERT ... RETURNING, ids in the order given
            rows = conn.execute(
                insert(items).returning(items.c.id, sort_by_parameter_order=True),
                [
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
                ],
            ).all()
            new_ids += [r.id for r in rows]
            kept += [(r.id, s.item) for r, s in zip(rows, fresh, strict=False)]
        for key, s in group.items():
            old = existing.get(key)
            chash = content_hash(s.item.title, s.item.text)
            if old is None or old[1] == chash:
                continue
            relabelled = {"alert_pending": True} if old[2] != s.score.label else {}
            conn.execute(
                update(items)
                .where(items.c.id == old[0])
                .values(content_hash=chash, updated_at=now, **relabelled, **_item_values(s))
            )
            updated_ids.append(old[0])
            kept.append((old[0], s.item))
    if kept:
        body_sha = _save_body(conn, fetched, now) if fetched is not None else None
        fetched_url = fetched.url if fetched else ""
        conn.execute(
            insert(evidence),
            [dict(body_sha256=body_sha, **_evidence_values(i, item, now, fetched_url)) for i, item in kept],
        )
    return SaveResult(tuple(new_ids), tuple(updated_ids))


def _save_body(conn, fetched: FetchResult, now: datetime) -> str:
    sha = hashlib.sha256(fetched.body).hexdigest()
    if conn.execute(select(bodies.c.sha256).where(bodies.c.sha256 == sha)).first() is None:
        conn.execute(
            insert(bodies).values(
                sha256=sha,
                url=fetched.url,
                fetched_at=fetched.fetched_at or now,
                content_type=fetched.content_type,
                content=fetched.body,
            )
        )
    return sha


def _existing(conn, source: str, keys: list[str]) -> dict[str, tuple[int, str, str]]:
    out = {}
    for i in range(0, len(keys), 500):  # stay under SQLite's bound-parameter limit
        rows = conn.execute(
            select(items.c.key, items.c.id, items.c.content_hash, items.c.label).where(
                items.c.source == source, items.c.key.in_(keys[i : i + 500])
            )
        )
        out.update({r.key: (r.id, r.content_hash, r.label) for r in rows})
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


def _stored(r) -> StoredItem:
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


def count_items(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(items)).scalar_one()


# ---------------------------------------------------------------- reviews


def add_review(engine: Engine, review: Review) -> Review:
    """Append to the review log (never overwritten) and set the item's current status.

    A deletion request or a report to the platform puts the post on the follow-up list (due at
    once); any other action, or a dismissal, takes it off: the latest action is what counts.
    """
    with engine.begin() as conn:
        rid = conn.execute(
            insert(reviews).values(
                item_id=review.item_id,
                at=review.at,
                by=review.by,
                status=review.status,
                action=review.action,
                note=review.note,
            )
        ).inserted_primary_key[0]
        conn.execute(update(items).where(items.c.id == review.item_id).values(status=review.status))
        if review.action in FOLLOW_UP_ACTIONS:
            done = conn.execute(
                update(follow_ups).where(follow_ups.c.item_id == review.item_id).values(next_check=review.at)
            )
            if done.rowcount == 0:
                conn.execute(insert(follow_ups).values(item_id=review.item_id, next_check=review.at))
        elif review.action is not None or review.status == "dismissed":
            conn.execute(delete(follow_ups).where(follow_ups.c.item_id == review.item_id))
    return Review(**{**review.__dict__, "id": rid})


def list_reviews(engine: Engine, item_ids: Iterable[int] | None = None) -> list[Review]:
    q = select(reviews).order_by(reviews.c.item_id, reviews.c.at, reviews.c.id)
    if item_ids is not None:
        q = q.where(reviews.c.item_id.in_(list(item_ids)))
    with engine.connect() as conn:
        return [_review(r) for r in conn.execute(q)]


def _review(r) -> Review:
    return Review(item_id=r.item_id, at=r.at, by=r.by, status=r.status, action=r.action, note=r.note, id=r.id)


def find_item_id(engine: Engine, source: str, key: str) -> int | None:
    with engine.connect() as conn:
        return conn.execute(select(items.c.id).where(items.c.source == source, items.c.key == key)).scalar()


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
    with engine.begin() as conn:
        conn.execute(
            update(follow_ups)
            .where(follow_ups.c.item_id == item_id)
            .values(last_checked=checked, next_check=next_check, last_result=result)
        )


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


# ---------------------------------------------------------------- report queries

# A mention is dated by when it was published, else when it was first seen.
_when = func.coalesce(items.c.published, items.c.first_seen)
_FLAGGED = or_(items.c.label.in_(NEGATIVE_LABELS), items.c.severity.in_(("high", "medium")))
_LABEL_ORDER = case({"extremism": 0, "abuse": 1, "criticism": 2}, value=items.c.label, else_=3)
_SEVERITY_ORDER = case({"high": 0, "medium": 1}, value=items.c.severity, else_=2)


def _in_period(since: datetime, until: datetime):
    return and_(_when >= since, _when < until)


def count_by(engine: Engine, column: str, since: datetime, until: datetime) -> dict[str, int]:
    """Mentions in the period counted by a column (label, source), in SQL."""
    col = items.c[column]
    q = select(col, func.count()).where(_in_period(since, until)).group_by(col)
    with engine.connect() as conn:
        return {value: n for value, n in conn.execute(q)}


def daily_counts(engine: Engine, since: datetime, until: datetime) -> list[tuple[str, str, int, float]]:
    """(UTC day 'YYYY-MM-DD', label, mentions, sum of sentiment) per day and label, in SQL."""
    day = func.date(_when)
    q = (
        select(day, items.c.label, func.count(), func.sum(items.c.sentiment))
        .where(_in_period(since, until))
        .group_by(day, items.c.label)
    )
    with engine.connect() as conn:
        return [(str(d), label, n, float(total or 0.0)) for d, label, n, total in conn.execute(q)]


def count_flagged(engine: Engine, since: datetime, until: datetime) -> int:
    q = select(func.count()).select_from(items).where(_in_period(since, until), _FLAGGED)
    with engine.connect() as conn:
        return conn.execute(q).scalar_one()


def flagged_items(engine: Engine, since: datetime, until: datetime, limit: int) -> list[StoredItem]:
    """Flagged mentions (a negative label, or medium/high severity): most severe, then most recent first."""
    q = (
        select(items)
        .where(_in_period(since, until), _FLAGGED)
        .order_by(_SEVERITY_ORDER, _LABEL_ORDER, _when.desc(), items.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [_stored(r) for r in conn.execute(q)]


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


def _outbox_entry(r) -> OutboxEntry:
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


def _queue(conn, email: Outgoing, now: datetime) -> int | None:
    """Insert one email unless its dedupe_key is already queued or sent; its id, or None.

    The unique constraint decides: two processes queueing the same alert at once (the daemon and a
    `scan`) get one row, the other's insert is rolled back to a savepoint and skipped.
    """
    if conn.execute(select(outbox.c.id).where(outbox.c.dedupe_key == email.dedupe_key)).first():
        return None
    try:
        with conn.begin_nested():
            return conn.execute(
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
            ).inserted_primary_key[0]
    except IntegrityError:
        return None


def queue_emails(engine: Engine, emails: Sequence[Outgoing], now: datetime, alerted: Sequence[int] = ()) -> list[int]:
    """Queue emails in one transaction; those whose dedupe_key is known are skipped (one email per key, ever).

    `alerted`: the items these alerts were decided for; their alert_pending flag is cleared in the
    same transaction, so each pending item is decided exactly once.
    """
    with engine.begin() as conn:
        queued = [i for i in (_queue(conn, e, now) for e in emails) if i is not None]
        _clear_pending(conn, alerted)
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
        .where(items.c.alert_pending.is_(True), items.c.label.in_(list(labels)), _when >= fresh_since)
        .order_by(items.c.id)
    )
    with engine.connect() as conn:
        return [_stored(r) for r in conn.execute(q)]


def clear_pending(engine: Engine, item_ids: Sequence[int]) -> None:
    with engine.begin() as conn:
        _clear_pending(conn, item_ids)


def _clear_pending(conn, item_ids: Sequence[int]) -> None:
    ids = list(item_ids)
    for i in range(0, len(ids), 500):
        conn.execute(update(items).where(items.c.id.in_(ids[i : i + 500])).values(alert_pending=False))


def queue_digest(engine: Engine, email: Outgoing, item_ids: Sequence[int], now: datetime) -> int | None:
    """Queue the digest, mark its items digested and record it, in one transaction: a crash leaves
    either all three or none, so no item is digested twice or never."""
    with engine.begin() as conn:
        outbox_id = _queue(conn, email, now)
        if outbox_id is None:
            return None
        for i in range(0, len(item_ids), 500):
            conn.execute(
                update(items)
                .where(items.c.id.in_(list(item_ids[i : i + 500])), items.c.digested_at.is_(None))
                .values(digested_at=now)
            )
        conn.execute(insert(digests).values(at=now, items=len(item_ids), outbox_id=outbox_id))
    return outbox_id


def _unsent():
    return outbox.c.sent_at.is_(None)


def _due(now: datetime):
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
    with engine.begin() as conn:
        done = conn.execute(
            update(outbox)
            .where(outbox.c.id == outbox_id, _due(now))
            .values(attempts=outbox.c.attempts + 1, last_attempt=now, next_attempt=lease_until)
        )
    return done.rowcount == 1


def mark_sent(engine: Engine, outbox_id: int, now: datetime, note: str | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(outbox).where(outbox.c.id == outbox_id).values(sent_at=now, last_error=note, next_attempt=None)
        )


def mark_failed(engine: Engine, outbox_id: int, error: str, next_attempt: datetime) -> None:
    with engine.begin() as conn:
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


def last_digest_at(engine: Engine) -> datetime | None:
    with engine.connect() as conn:
        return conn.execute(select(func.max(digests.c.at))).scalar_one()


def undigested_items(engine: Engine, since: datetime | None = None) -> list[StoredItem]:
    """Mentions no digest has listed yet (first seen since `since`), oldest first."""
    q = select(items).where(items.c.digested_at.is_(None)).order_by(items.c.first_seen, items.c.id)
    if since is not None:
        q = q.where(items.c.first_seen >= since)
    with engine.connect() as conn:
        return [_stored(r) for r in conn.execute(q)]


def iter_items(engine: Engine, since: datetime, until: datetime, batch: int = 2000) -> Iterator[StoredItem]:
    """Every mention in the period, newest first, streamed in batches rather than loaded at once."""
    q = (
        select(items)
        .where(_in_period(since, until))
        .order_by(_when.desc(), items.c.id.desc())
        .execution_options(yield_per=batch)
    )
    with engine.connect() as conn:
        for r in conn.execute(q):
            yield _stored(r)


def reviews_in_period(engine: Engine, since: datetime, until: datetime) -> dict[int, list[Review]]:
    """The review log of every mention in the period, by item, oldest entry first."""
    q = (
        select(reviews)
        .join(items, items.c.id == reviews.c.item_id)
        .where(_in_period(since, until))
        .order_by(reviews.c.item_id, reviews.c.at, reviews.c.id)
    )
    out: dict[int, list[Review]] = {}
    with engine.connect() as conn:
        for r in conn.execute(q):
            out.setdefault(r.item_id, []).append(_review(r))
    return out


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


# ---------------------------------------------------------------- the daemon: schedule, retention, health

HEARTBEAT_KEY = "daemon_heartbeat"


def due_sources(engine: Engine, names: Iterable[str], now: datetime) -> list[str]:
    """Those of `names` whose next check has come, or that were never checked, in the given order."""
    names = list(names)
    with engine.connect() as conn:
        rows = conn.execute(select(sources.c.name, sources.c.next_check).where(sources.c.name.in_(names)))
        next_at = {r.name: r.next_check for r in rows}
    return [n for n in names if next_at.get(n) is None or next_at[n] <= now]


def delete_old_items(engine: Engine, before: datetime) -> int:
    """Delete mentions first seen before `before` that nobody flagged, with their evidence; return how many.

    Kept whatever their age: high severity, and anything with a review entry (its log is kept too).
    Stored response bodies no remaining evidence points to go as well.
    """
    unflagged = select(items.c.id).where(
        items.c.first_seen < before,
        items.c.severity != "high",
        ~select(reviews.c.id).where(reviews.c.item_id == items.c.id).exists(),
    )
    with engine.begin() as conn:
        ids = [r.id for r in conn.execute(unflagged)]
        for i in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
            chunk = ids[i : i + 500]
            conn.execute(delete(evidence).where(evidence.c.item_id.in_(chunk)))
            conn.execute(delete(items).where(items.c.id.in_(chunk)))
        if ids:
            used = select(evidence.c.body_sha256).where(evidence.c.body_sha256.is_not(None))
            conn.execute(delete(bodies).where(bodies.c.sha256.not_in(used)))
    return len(ids)


def delete_sent_emails(engine: Engine, before: datetime) -> int:
    """Delete emails sent before `before` (they quote the mentions); unsent ones stay, whatever
    their age. An alert's dedupe key goes with it: the item's alert was sent long ago."""
    with engine.begin() as conn:
        return conn.execute(delete(outbox).where(outbox.c.sent_at.is_not(None), outbox.c.sent_at < before)).rowcount


def set_heartbeat(engine: Engine, at: datetime | None) -> None:
    """Record that the daemon is alive at `at`; None removes it (the daemon stopped cleanly)."""
    with engine.begin() as conn:
        conn.execute(delete(meta).where(meta.c.key == HEARTBEAT_KEY))
        if at is not None:
            conn.execute(insert(meta).values(key=HEARTBEAT_KEY, value=at.astimezone(UTC).isoformat()))


def get_heartbeat(engine: Engine) -> datetime | None:
    with engine.connect() as conn:
        value = conn.execute(select(meta.c.value).where(meta.c.key == HEARTBEAT_KEY)).scalar()
    return datetime.fromisoformat(value) if value else None


def count_unsent(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))).scalar_one()


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
    return pages * size
