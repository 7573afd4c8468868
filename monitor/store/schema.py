"""The database schema (SQLAlchemy Core tables), opening a database, and the migrations between schema versions."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

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
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, CursorResult, Dialect, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement

from monitor.errors import StoreError

SCHEMA_VERSION = 3


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, naive UTC in the database (portable)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


T = TypeVar("T")
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
    # What the current text scores as, when an edit made it milder than the label kept (the
    # highest a mention ever had, so an edited abusive post keeps its evidence and its flag).
    Column("text_label", String(16)),
    Column("corrected_by", String(200)),  # a person's correction set the label (they decide)
    Column("alerted_at", UTCDateTime),  # an instant alert was queued: retention keeps it
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
    Column("label", String(16)),  # a correction: the label a person gave
    Column("previous_label", String(16)),  # and the one it replaced
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
    Column("channel", String(200), nullable=False, default="email", server_default="email"),
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

# The review desk's accounts, their sessions, and sign-in attempts (for throttling and the log).
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("email", String(320), nullable=False, default=""),
    Column("password_hash", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("password_changed_at", UTCDateTime),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 of the cookie's token: a stolen table opens nothing
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("csrf", String(64), nullable=False),
)
Index("ix_sessions_expires", sessions.c.expires_at)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("username", String(200), nullable=False),
    Column("address", String(64), nullable=False),
    Column("ok", Boolean, nullable=False),
)
Index("ix_login_attempts_at", login_attempts.c.at)

# The optional AI second opinion: answers cached by the text's hash, requests counted per day.
ai_answers = Table(
    "ai_answers",
    metadata,
    Column("text_hash", String(64), primary_key=True),
    Column("label", String(16), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("model", String(200), nullable=False, default=""),
    Column("at", UTCDateTime, nullable=False),
)

ai_usage = Table(
    "ai_usage",
    metadata,
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD, UTC
    Column("requests", Integer, nullable=False, default=0),
)


def content_hash(title: str, text: str) -> str:
    return hashlib.sha256(f"{title}\x00{text}".encode("utf-8", "surrogatepass")).hexdigest()


def _sqlite_pragmas(dbapi_conn: Any, _record: object) -> None:
    cur = dbapi_conn.cursor()
    # First: wait for another process's lock rather than fail at once, switching to WAL included
    # (two processes opening a new database at the same moment).
    cur.execute("PRAGMA busy_timeout=10000")
    # WAL: readers (report, status) never block the daemon's writes; a kill leaves the DB consistent.
    # The mode is kept in the file, so only a new database switches. The switch ignores busy_timeout
    # (SQLite answers "locked" at once while another process opens the same new file): wait here.
    for attempt in range(WAL_ATTEMPTS):
        if cur.execute("PRAGMA journal_mode").fetchone()[0] in ("wal", "memory"):
            break
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or attempt == WAL_ATTEMPTS - 1:
                raise
            time.sleep(0.02 * (attempt + 1))
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


WAL_ATTEMPTS = 20  # about four seconds in all


def connect(url: str) -> Engine:
    """Open (and on first use create) the database at a SQLAlchemy URL."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    try:
        # hide_parameters: an error or a log line never quotes the posts' texts it was storing
        engine = create_engine(url, future=True, hide_parameters=True)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        _migrate(engine)
    except ModuleNotFoundError as e:
        hint = "; for PostgreSQL: pip install 'school-monitor[postgres]', URL postgresql+psycopg://…"
        raise StoreError(f"cannot open database {safe_url(url)}: its driver {e.name} is not installed{hint}") from None
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
    """Create the schema on first use, or bring an older one up to SCHEMA_VERSION.

    Several processes may open a new database at once (two `scan`s, the daemon and a `scan`):
    each step is idempotent (a table or column already there is skipped), and a step that loses a
    race to another process (the table it creates, the version row it inserts) is retried after
    looking again. Later schema changes are numbered steps applied here in order from the stored
    version (the shape Alembic would give; kept in-process so a pip-installed monitor needs nothing more).
    """
    for attempt in range(MIGRATE_ATTEMPTS):
        version = _stored_version(engine)
        if version == SCHEMA_VERSION:
            return  # the usual case: no need to ask the database about each table (create_all does)
        if version is not None and version > SCHEMA_VERSION:
            raise StoreError(f"the database is from a newer monitor (schema {version}); upgrade school-monitor")
        try:
            _upgrade(engine, version)
            return
        except (IntegrityError, OperationalError, ProgrammingError):
            if attempt == MIGRATE_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))  # another process is creating it: look again


MIGRATE_ATTEMPTS = 5


def _upgrade(engine: Engine, version: int | None) -> None:
    metadata.create_all(engine)  # the tables a version added (checks each first)
    with writing(engine) as conn:
        for step in range((version or SCHEMA_VERSION) + 1, SCHEMA_VERSION + 1):
            for table, column, ddl in MIGRATIONS[step]:
                if column not in {c["name"] for c in inspect(conn).get_columns(table)}:
                    conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}"))
        if version is not None:  # an index on a column a step added
            for t in metadata.sorted_tables:
                for index in t.indexes:
                    index.create(conn, checkfirst=True)
        if version is None:
            conn.execute(insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
        else:
            conn.execute(update(meta).where(meta.c.key == "schema_version").values(value=str(SCHEMA_VERSION)))


def _stored_version(engine: Engine) -> int | None:
    """The schema version the database records; None for a new database (no meta table yet)."""
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, "meta"):
            return None
        value = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    return int(value) if value is not None else None


# The columns each schema version added to existing tables, (table, column, type and default);
# the tables it added are created by create_all.
MIGRATIONS: dict[int, tuple[tuple[str, str, str], ...]] = {
    2: (  # page sources: broken-source tracking and a watched page's previous text
        ("sources", "permanent_failures", "INTEGER NOT NULL DEFAULT 0"),
        ("sources", "page_text", "TEXT"),
        # instant alerts decided from a flag, so a crash between storing and alerting loses none
        ("items", "alert_pending", "BOOLEAN NOT NULL DEFAULT FALSE"),
    ),
    3: (  # evidence kept through edits, corrections, desk accounts, channels
        ("items", "text_label", "VARCHAR(16)"),
        ("items", "corrected_by", "VARCHAR(200)"),
        ("items", "alerted_at", "TIMESTAMP"),
        ("reviews", "label", "VARCHAR(16)"),
        ("reviews", "previous_label", "VARCHAR(16)"),
        ("outbox", "channel", "VARCHAR(200) NOT NULL DEFAULT 'email'"),
    ),
}


# A mention is dated by when it was published, else when it was first seen.
dated = func.coalesce(items.c.published, items.c.first_seen)


def in_period(since: datetime, until: datetime) -> ColumnElement[bool]:
    return and_(dated >= since, dated < until)


def chunks(values: Sequence[T], size: int = 500) -> Iterator[list[T]]:
    """Values in pieces that stay under SQLite's bound-parameter limit (for `IN (...)`)."""
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i : i + size]


def inserted_id(result: CursorResult) -> int:
    """The id an INSERT gave its row."""
    key = result.inserted_primary_key
    assert key is not None, "an INSERT has a primary key"
    return int(key[0])


def insert_or_ignore(conn: Connection, table: Table, unique: tuple[str, ...]) -> Insert:
    """An INSERT that skips a row whose `unique` columns another writer stored first (ON CONFLICT DO
    NOTHING on SQLite and PostgreSQL), so two processes storing the same thing never fail."""
    return _on_conflict(conn.dialect.name, table, unique, update=False)


def upsert(conn: Connection, table: Table, unique: tuple[str, ...]) -> Insert:
    """An INSERT that updates the row instead when one with the same `unique` columns exists
    (ON CONFLICT DO UPDATE on SQLite and PostgreSQL)."""
    return _on_conflict(conn.dialect.name, table, unique, update=True)


@lru_cache(maxsize=64)
def _on_conflict(dialect: str, table: Table, unique: tuple[str, ...], update: bool) -> Insert:
    """Built once per table: a statement is immutable, and building one cost more than running it."""
    statement: Any  # the two dialects' Insert classes share the methods used here, not a type
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        statement = postgresql.insert(table)
    elif dialect == "sqlite":  # only the one in use: PostgreSQL's dialect alone takes 18 ms to import
        from sqlalchemy.dialects import sqlite

        statement = sqlite.insert(table)
    else:
        return insert(table)
    if not update:
        return statement.on_conflict_do_nothing(index_elements=list(unique))
    changed = {c.name: statement.excluded[c.name] for c in table.c if c.name not in unique}
    return statement.on_conflict_do_update(index_elements=list(unique), set_=changed)


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction. On SQLite it takes the write lock at once (BEGIN IMMEDIATE, waiting up
    to the busy timeout): a transaction that reads first and writes later would otherwise be
    refused at once ("database is locked") when another process wrote in between."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn
