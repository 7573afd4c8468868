"""The only module that touches the database (SQLAlchemy Core). Plain dataclasses in and out.

Identity: an item is unique per (source, key), where key is the guid, else the canonical link,
else a content hash (see parse.item_key). The unique constraint enforces it, so a crash between
two writes, or two scans at once, can never store an item twice.
All times are stored as naive UTC and returned timezone-aware.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import (
    Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, MetaData, String,
    Table, Text, TypeDecorator, UniqueConstraint, create_engine, delete, event, func, insert, select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StoreError
from monitor.models import FetchResult, Item, Review, Score, SourceState, StoredItem

SCHEMA_VERSION = 1


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, naive UTC in the database (portable)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware one")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=timezone.utc) if value is not None else None


metadata = MetaData()

meta = Table(
    "meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

sources = Table(
    "sources", metadata,
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
)

items = Table(
    "items", metadata,
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

# Each fetched body that yielded a new or edited mention, byte for byte as served (content-addressed).
bodies = Table(
    "bodies", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("url", Text, nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("content_type", Text, nullable=False, default=""),
    Column("content", LargeBinary, nullable=False),
)

evidence = Table(
    "evidence", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("url", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("raw", LargeBinary, nullable=False),       # the item's own XML/HTML fragment
    Column("sha256", String(64), nullable=False),     # of raw
    Column("body_sha256", String(64)),                # the whole response it came in (bodies)
)
Index("ix_evidence_item", evidence.c.item_id)

reviews = Table(
    "reviews", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("by", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("action", String(32)),
    Column("note", Text, nullable=False, default=""),
)
Index("ix_reviews_item", reviews.c.item_id)

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("dedupe_key", String(200), unique=True),
    Column("recipients", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("message", LargeBinary, nullable=False),   # the whole RFC 5322 message, as sent
    Column("item_ids", Text, nullable=False, default="[]"),
    Column("not_before", UTCDateTime),                # quiet hours hold an email until then
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("last_attempt", UTCDateTime),
    Column("next_attempt", UTCDateTime),
    Column("sent_at", UTCDateTime),
)
Index("ix_outbox_unsent", outbox.c.sent_at, outbox.c.next_attempt)

digests = Table(
    "digests", metadata,
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
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(url, future=True)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        _migrate(engine)
    except SQLAlchemyError as e:
        raise StoreError(f"cannot open database {safe_url(url)}: {e.__class__.__name__}: {e.args[0] if e.args else e}")
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
    metadata.create_all(engine)
    with engine.begin() as conn:
        row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).first()
        if row is None:
            conn.execute(insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
        elif int(row.value) > SCHEMA_VERSION:
            raise StoreError(f"the database is from a newer monitor (schema {row.value}); upgrade school-monitor")


# ---------------------------------------------------------------- sources


def load_states(engine: Engine) -> dict[str, SourceState]:
    with engine.connect() as conn:
        rows = conn.execute(select(sources)).mappings().all()
    return {r["name"]: SourceState(**{k: r[k] for k in r.keys()}) for r in rows}


def save_state(engine: Engine, state: SourceState) -> None:
    values = {k: getattr(state, k) for k in sources.c.keys()}
    with engine.begin() as conn:
        _upsert_state(conn, values)


def _upsert_state(conn, values: dict) -> None:
    done = conn.execute(update(sources).where(sources.c.name == values["name"]).values(**values))
    if done.rowcount == 0:
        conn.execute(insert(sources).values(**values))


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


def save_items(engine: Engine, scored: Sequence[Scored], now: datetime,
               fetched: FetchResult | None = None, state: SourceState | None = None) -> SaveResult:
    """Insert new mentions, update edited ones, keep evidence; one transaction (with the source state).

    An item already stored with the same content is left alone. An edited one (same key, other
    content) is updated in place and re-scored; its new version is added to the evidence.
    """
    new_ids, updated_ids = [], []
    fetched_url = fetched.url if fetched else ""
    body_sha = None
    with engine.begin() as conn:
        by_source: dict[str, list[Scored]] = {}
        for s in scored:
            by_source.setdefault(s.item.source, []).append(s)
        for source, group in by_source.items():
            existing = _existing(conn, source, [s.item.key for s in group])
            for s in group:
                chash = content_hash(s.item.title, s.item.text)
                old = existing.get(s.item.key)
                if old is None:
                    item_id = conn.execute(insert(items).values(
                        source=source, key=s.item.key, first_seen=now, content_hash=chash,
                        **_item_values(s))).inserted_primary_key[0]
                    new_ids.append(item_id)
                    existing[s.item.key] = (item_id, chash)
                elif old[1] != chash:
                    item_id = old[0]
                    conn.execute(update(items).where(items.c.id == item_id).values(
                        content_hash=chash, updated_at=now, **_item_values(s)))
                    updated_ids.append(item_id)
                    existing[s.item.key] = (item_id, chash)
                else:
                    continue
                if fetched is not None and body_sha is None:
                    body_sha = _save_body(conn, fetched, now)
                conn.execute(insert(evidence).values(
                    body_sha256=body_sha, **_evidence_values(item_id, s.item, now, fetched_url)))
        if state is not None:
            _upsert_state(conn, {k: getattr(state, k) for k in sources.c.keys()})
    return SaveResult(tuple(new_ids), tuple(updated_ids))


def _save_body(conn, fetched: FetchResult, now: datetime) -> str:
    sha = hashlib.sha256(fetched.body).hexdigest()
    if conn.execute(select(bodies.c.sha256).where(bodies.c.sha256 == sha)).first() is None:
        conn.execute(insert(bodies).values(sha256=sha, url=fetched.url, fetched_at=fetched.fetched_at or now,
                                           content_type=fetched.content_type, content=fetched.body))
    return sha


def _existing(conn, source: str, keys: list[str]) -> dict[str, tuple[int, str]]:
    out = {}
    for i in range(0, len(keys), 500):  # stay under SQLite's bound-parameter limit
        rows = conn.execute(select(items.c.key, items.c.id, items.c.content_hash).where(
            items.c.source == source, items.c.key.in_(keys[i:i + 500])))
        out.update({r.key: (r.id, r.content_hash) for r in rows})
    return out


def _item_values(s: Scored) -> dict:
    i, sc = s.item, s.score
    return dict(url=i.url, title=i.title, text=i.text, author=i.author, published=i.published,
                label=sc.label, severity=sc.severity, sentiment=sc.sentiment,
                flags=json.dumps(list(sc.flags)), mentions_staff=sc.mentions_staff)


def _evidence_values(item_id: int, item: Item, now: datetime, fetched_url: str) -> dict:
    raw = (item.raw or item.text).encode("utf-8", "surrogateescape")
    return dict(item_id=item_id, fetched_at=now, url=item.url or fetched_url, text=item.text,
                raw=raw, sha256=hashlib.sha256(raw).hexdigest())


def _stored(r) -> StoredItem:
    return StoredItem(
        id=r.id, source=r.source, url=r.url, title=r.title, text=r.text, author=r.author,
        published=r.published, first_seen=r.first_seen, label=r.label, severity=r.severity,
        sentiment=r.sentiment, flags=tuple(json.loads(r.flags)), mentions_staff=bool(r.mentions_staff),
        status=r.status, updated_at=r.updated_at, digested_at=r.digested_at,
    )


def list_items(engine: Engine, *, since: datetime | None = None, until: datetime | None = None,
               labels: Iterable[str] = (), statuses: Iterable[str] = (), ids: Iterable[int] = (),
               limit: int | None = None) -> list[StoredItem]:
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
    """Append to the review log (never overwritten) and set the item's current status."""
    with engine.begin() as conn:
        rid = conn.execute(insert(reviews).values(
            item_id=review.item_id, at=review.at, by=review.by, status=review.status,
            action=review.action, note=review.note)).inserted_primary_key[0]
        conn.execute(update(items).where(items.c.id == review.item_id).values(status=review.status))
    return Review(**{**review.__dict__, "id": rid})


def list_reviews(engine: Engine, item_ids: Iterable[int] | None = None) -> list[Review]:
    q = select(reviews).order_by(reviews.c.item_id, reviews.c.at, reviews.c.id)
    if item_ids is not None:
        q = q.where(reviews.c.item_id.in_(list(item_ids)))
    with engine.connect() as conn:
        return [Review(item_id=r.item_id, at=r.at, by=r.by, status=r.status, action=r.action,
                       note=r.note, id=r.id) for r in conn.execute(q)]


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
        items.c.first_seen < before, items.c.severity != "high",
        ~select(reviews.c.id).where(reviews.c.item_id == items.c.id).exists())
    with engine.begin() as conn:
        ids = [r.id for r in conn.execute(unflagged)]
        for i in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
            chunk = ids[i:i + 500]
            conn.execute(delete(evidence).where(evidence.c.item_id.in_(chunk)))
            conn.execute(delete(items).where(items.c.id.in_(chunk)))
        if ids:
            used = select(evidence.c.body_sha256).where(evidence.c.body_sha256.is_not(None))
            conn.execute(delete(bodies).where(bodies.c.sha256.not_in(used)))
    return len(ids)


def set_heartbeat(engine: Engine, at: datetime | None) -> None:
    """Record that the daemon is alive at `at`; None removes it (the daemon stopped cleanly)."""
    with engine.begin() as conn:
        conn.execute(delete(meta).where(meta.c.key == HEARTBEAT_KEY))
        if at is not None:
            conn.execute(insert(meta).values(key=HEARTBEAT_KEY, value=at.astimezone(timezone.utc).isoformat()))


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
