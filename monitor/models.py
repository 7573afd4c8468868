"""The plain dataclasses every stage speaks. Stdlib only; no behaviour beyond small derived values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Labels in precedence order: when several apply, the first wins.
LABELS = ("extremism", "abuse", "criticism", "praise", "neutral")
OFFTOPIC = "offtopic"
SEVERITIES = ("high", "medium", "low")
SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}
NEGATIVE_LABELS = ("extremism", "abuse", "criticism")
LABEL_RANK = {label: i for i, label in enumerate(LABELS + (OFFTOPIC,))}

REVIEW_STATUSES = ("new", "reviewed", "actioned", "dismissed")
ACTIONS = (
    "deletion-requested",
    "reported-to-platform",
    "referred-to-posh",
    "referred-to-police",
    "responded",
    "removed",
)
FOLLOW_UP_ACTIONS = ("deletion-requested", "reported-to-platform")  # re-checked until the post has gone
BROKEN_AFTER = 3  # consecutive permanent failures (404, 410, robots.txt...) before a source is "broken"


@dataclass(frozen=True)
class FetchResult:
    """What fetching a URL gave. A 304 is a value (`not_modified`), not an exception."""

    url: str  # the final URL, after redirects
    status: int
    body: bytes = b""
    content_type: str = ""
    encoding: str | None = None  # the charset the server declared, if any
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: datetime | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class Item:
    """One post, article or entry collected from a source, before it is scored."""

    source: str
    key: str  # identity within the source: guid, canonical link, or content hash
    url: str
    title: str
    text: str
    author: str = ""
    published: datetime | None = None
    raw: str = ""  # the XML/HTML fragment it came from (evidence)
    notes: tuple[str, ...] = ()  # things the parser noticed, e.g. a future date clamped


@dataclass(frozen=True)
class MentionMatch:
    """Is a text about the school? Which aliases and staff did it name, and why was it kept or dropped."""

    is_mention: bool
    aliases: tuple[str, ...] = ()
    staff: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()  # e.g. "alias:EPPS", "excluded:Elm Park station", "context:pupils"

    @property
    def mentions_staff(self) -> bool:
        return bool(self.staff)


@dataclass(frozen=True)
class Score:
    """What a text is. `flags` say why (lexicon entries and rules that fired)."""

    mention: bool
    label: str  # one of LABELS, or OFFTOPIC
    severity: str  # one of SEVERITIES
    sentiment: float  # VADER compound, -1..1
    flags: tuple[str, ...] = ()
    mentions_staff: bool = False


@dataclass(frozen=True)
class Scored:
    """An item with its score, as a scan hands it to the store."""

    item: Item
    score: Score


@dataclass(frozen=True)
class StoredItem:
    """A mention as stored: the item, its score and its review status."""

    id: int
    source: str
    url: str
    title: str
    text: str
    author: str
    published: datetime | None
    first_seen: datetime
    label: str
    severity: str
    sentiment: float
    flags: tuple[str, ...]
    mentions_staff: bool
    status: str
    updated_at: datetime | None = None
    digested_at: datetime | None = None
    text_label: str | None = None  # what an edited post now reads as, when milder than the label kept
    corrected_by: str | None = None  # who corrected the label (a person's word decides)
    alerted_at: datetime | None = None

    def as_json(self) -> dict:
        """The fields `items --json` prints (a public interface), dates as ISO 8601 strings."""
        iso = lambda d: d.isoformat() if d else None  # noqa: E731
        return {
            "id": self.id,
            "source": self.source,
            "url": self.url,
            "title": self.title,
            "text": self.text,
            "author": self.author,
            "published": iso(self.published),
            "first_seen": iso(self.first_seen),
            "label": self.label,
            "severity": self.severity,
            "sentiment": self.sentiment,
            "flags": list(self.flags),
            "mentions_staff": self.mentions_staff,
            "status": self.status,
        }


def severity_of(label: str, mentions_staff: bool = False) -> str:
    """High for extremism and abuse, medium for criticism (high when it names staff), else low."""
    if label in ("extremism", "abuse"):
        return "high"
    if label == "criticism":
        return "high" if mentions_staff else "medium"
    return "low"


def severity_order(item: StoredItem) -> tuple[int, int, int]:
    """The sort key of "most severe first": severity, then label precedence, then oldest first."""
    return (SEVERITY_RANK.get(item.severity, 9), LABEL_RANK.get(item.label, 9), item.id)


@dataclass(frozen=True)
class SourceState:
    """Per-source state kept in the database, so the daemon, `scan` and a restart share one truth."""

    name: str
    etag: str | None = None
    last_modified: str | None = None
    last_checked: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    failures: int = 0  # consecutive failures since the last success
    next_check: datetime | None = None
    content_hash: str | None = None  # of a watched page's text, to notice a change
    permanent_failures: int = 0  # consecutive failures that retrying will not fix (404, 410...)
    page_text: str | None = None  # a watched page's text, to score only what a change added

    @property
    def broken(self) -> bool:
        return self.permanent_failures >= BROKEN_AFTER


@dataclass(frozen=True)
class SourceRun:
    """What one pass over one source did."""

    source: str
    seen: int = 0
    new: int = 0
    updated: int = 0
    mentions: int = 0
    not_modified: bool = False
    error: str | None = None
    seconds: float = 0.0
    new_ids: tuple[int, ...] = ()
    broken: bool = False  # the error is permanent and has repeated BROKEN_AFTER times


@dataclass(frozen=True)
class ScanSummary:
    runs: tuple[SourceRun, ...] = ()
    started: datetime | None = None
    finished: datetime | None = None
    removed: tuple[int, ...] = ()  # items found gone by the follow-up re-check
    alerts_queued: int = 0  # instant alert emails this scan queued (pile-ons included)
    emails_waiting: int = 0  # the outbox still unsent after the scan's send (retried later)

    @property
    def failed(self) -> tuple[SourceRun, ...]:
        return tuple(r for r in self.runs if r.error)


@dataclass(frozen=True)
class FlushResult:
    """What one pass over the outbox did."""

    sent: int = 0
    failed: int = 0
    waiting: int = 0  # still unsent afterwards: held by quiet hours, or retried later
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertResult:
    queued: int = 0  # messages queued (pile-ons included)
    piled: int = 0  # items gathered into pile-on messages rather than one message each
    flushed: FlushResult = FlushResult()


@dataclass(frozen=True)
class DigestResult:
    email: Email | None  # None: nothing new, so no digest
    items: int = 0
    queued: bool = False
    no_recipients: bool = False  # there was a digest, but nobody to send it to
    flushed: FlushResult | None = None
    channels: tuple[str, ...] = ()  # the channels it was queued for, as shown (scheme and host)


@dataclass(frozen=True)
class Review:
    """One entry of the append-only review log."""

    item_id: int
    at: datetime
    by: str
    status: str
    action: str | None = None
    note: str = ""
    id: int | None = None
    label: str | None = None  # a correction: the label a person gave
    previous_label: str | None = None  # and the one it replaced

    @property
    def summary(self) -> str:
        """The step in a few words: "actioned, reported-to-platform" or "relabelled neutral → abuse"."""
        if self.label:
            return f"relabelled {self.previous_label} → {self.label}"
        return self.status + (f", {self.action}" if self.action else "")


@dataclass(frozen=True)
class Email:
    """A rendered email, ready for the outbox."""

    to: tuple[str, ...]
    subject: str
    text: str
    html: str = ""
    kind: str = "alert"  # alert, digest, pileon
    dedupe_key: str | None = None  # one email per key, ever (e.g. "alert:42:safeguarding")
    item_ids: tuple[int, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Note:
    """A rendered message for a chat or push channel (Teams, Slack, ntfy, a webhook): a short
    title and a body, as plain text and as Markdown, ready for the outbox."""

    title: str
    body: str
    title_markdown: str = ""  # the same in Markdown, for channels that render it: the internet's text escaped
    body_markdown: str = ""
    kind: str = "alert"  # alert, digest, pileon, test
    level: str = "info"  # info, warning, failure: how the channel marks it
    dedupe_key: str | None = None  # one message per key and channel, ever
    item_ids: tuple[int, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Delivery:
    """What one destination of `notify-test` said: delivered, or the error (no secret in either)."""

    destination: str  # "email to a@x, b@y" or a channel as shown (scheme and host)
    error: str | None = None
    note: str = ""  # e.g. where an email without [smtp] was written

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Evidence:
    """One stored version of a mention as it was collected: its fragment, its text, the whole body served."""

    item_id: int
    version: int  # 1 for the first collection, then one more per edit
    fetched_at: datetime
    url: str
    text: str
    raw: bytes  # the item's own XML/HTML fragment
    sha256: str  # of raw
    body: bytes | None = None  # the whole response it came in, byte for byte as served
    body_sha256: str | None = None
    body_url: str = ""
    body_content_type: str = ""
    body_fetched_at: datetime | None = None


@dataclass(frozen=True)
class SourceHealth:
    """A configured source and its stored state, as the report shows it."""

    name: str
    type: str
    url: str
    enabled: bool
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    failures: int = 0

    @classmethod
    def of(cls, name: str, type: str, url: str, enabled: bool, state: SourceState | None) -> SourceHealth:
        if state is None:
            return cls(name, type, url, enabled)
        return cls(name, type, url, enabled, state.last_success, state.last_error, state.last_error_at, state.failures)


@dataclass(frozen=True)
class WeekCount:
    """Mentions first collected in one week (starting Monday), by label, and their mean sentiment."""

    week: datetime
    by_label: dict[str, int]
    sentiment: float | None


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, gathered by service from the store and the config."""

    school: str
    since: datetime
    until: datetime
    generated_at: datetime
    by_label: dict[str, int]
    by_source: dict[str, int]
    previous_by_label: dict[str, int]  # the period of the same length just before `since`
    weeks: tuple[WeekCount, ...]
    flagged: tuple[StoredItem, ...]  # the most severe and most recent first, at most a limit
    flagged_total: int
    reviews: dict[int, tuple[Review, ...]]
    sources: tuple[SourceHealth, ...]
    not_watched: tuple[str, ...]
    timezone: str = "Europe/London"

    @property
    def total(self) -> int:
        return sum(self.by_label.values())

    @property
    def previous_total(self) -> int:
        return sum(self.previous_by_label.values())

    @property
    def negative(self) -> int:
        return sum(self.by_label.get(label, 0) for label in NEGATIVE_LABELS)


# ---------------------------------------------------------------- the review desk

# Desk roles, each allowed what the ones before it are: governors read, managers and the DSL act,
# admins also manage accounts.
ROLES = ("viewer", "reviewer", "admin")


@dataclass(frozen=True)
class User:
    """A desk account (its password hash stays in the store)."""

    id: int
    name: str
    role: str
    email: str
    created_at: datetime
    password_changed_at: datetime | None = None

    def can(self, role: str) -> bool:
        """Whether this account has `role`'s rights (an admin can do what a reviewer can)."""
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class QueueQuery:
    """What the desk's queue shows: filters (None: any), a text search, one page."""

    label: str | None = None
    status: str | None = None
    source: str | None = None
    since: datetime | None = None  # first seen at or after
    text: str = ""  # in the title or the text, any case
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue: mentions awaiting review first, most severe, then newest."""

    items: tuple[StoredItem, ...]
    total: int  # mentions matching every filter
    by_label: dict[str, int]  # matching every filter but the label
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))
