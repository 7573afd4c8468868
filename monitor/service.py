"""The orchestrator: the one place that joins the stages. Its functions are what the CLI and the daemon call.

    scan(cfg)      for each source: fetch -> parse -> mentions -> score -> store (+ source state)
    classify(...)  mentions + score for one text, without storing it (`school-monitor score`)
    list_items     stored mentions for `items`
    review         append to the review log
    SourceRunner   one source on its own (the daemon's workers); due_sources, what the daemon's tick asks
    apply_retention, status, next_digest_at, record_heartbeat: the daemon's other jobs and its health

Only this module reads the clock; every stage below it takes `now`. Stages never import each
other: this module hands plain dataclasses from one to the next.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from monitor import fetch, parse, schedule, store
from monitor.config import Config, Source
from monitor.errors import FetchError, ParseError, StoreError, UsageError
from monitor.mentions import MentionFinder
from monitor.models import (
    ACTIONS, REVIEW_STATUSES, FetchResult, Review, ScanSummary, Score, SourceRun, SourceState,
    StoredItem,
)
from monitor.score import Scorer

log = logging.getLogger("monitor")

SCAN_WORKERS = 8


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


class Classifier:
    """Mentions + score, built once per config (lexicons and regexes compiled once)."""

    def __init__(self, cfg: Config):
        self.finder = MentionFinder(cfg.school)
        self.scorer = Scorer(cfg.scoring)

    def classify(self, text: str, title: str = "", all_mentions: bool = False) -> Score:
        match = self.finder.find(text, title, all_mentions=all_mentions)
        return self.scorer.score(text, title, match)


def score_json(score: Score, id_=None) -> dict:
    """The object `school-monitor score` prints for one text."""
    return {"id": id_, "mention": score.mention, "label": score.label, "severity": score.severity,
            "sentiment": round(score.sentiment, 4), "flags": list(score.flags),
            "mentions_staff": score.mentions_staff}


# ---------------------------------------------------------------- scan


@dataclass(frozen=True)
class Collected:
    """What a worker hands back for one source: plain data, stored by the caller's thread."""

    source: Source
    fetched: FetchResult | None
    scored: tuple[store.Scored, ...]
    seen: int
    error: FetchError | ParseError | None
    seconds: float


def open_store(cfg: Config):
    return store.connect(cfg.database_url)


def select_sources(cfg: Config, names: Sequence[str] = ()) -> list[Source]:
    if not names:
        return [s for s in cfg.sources if s.enabled]
    known = {s.name: s for s in cfg.sources}
    missing = [n for n in names if n not in known]
    if missing:
        raise UsageError(f"no source named {', '.join(map(repr, missing))} in {cfg.path}; "
                         f"`school-monitor check` lists them")
    return [known[n] for n in names]


def scan(cfg: Config, *, names: Sequence[str] = (), since: datetime | None = None,
         engine=None, progress: Callable[[SourceRun], None] | None = None,
         now: datetime | None = None) -> ScanSummary:
    """One pass over the sources now. A failing source is recorded and skipped, never fatal.

    `since`: an ad-hoc scan that re-reads every source in full (no conditional GET) and keeps
    items published since that date; without it, items older than [storage] keep_days are
    ignored (retention would delete them anyway).
    """
    started = now or now_utc()
    engine = engine or open_store(cfg)
    sources = select_sources(cfg, names)
    states = store.load_states(engine)
    classifier = Classifier(cfg)
    keep_from = since or started - timedelta(days=cfg.storage.keep_days)
    runs = []
    with fetch.Fetcher() as fetcher, ThreadPoolExecutor(max_workers=SCAN_WORKERS) as pool:
        futures = [pool.submit(_collect, fetcher, classifier, src, states.get(src.name),
                               keep_from, since is not None, started) for src in sources]
        for fut in as_completed(futures):
            collected = fut.result()
            run = _save(engine, collected, states.get(collected.source.name), now_utc())
            _log_run(run)
            runs.append(run)
            if progress:
                progress(run)
    order = {s.name: i for i, s in enumerate(sources)}
    runs.sort(key=lambda r: order[r.source])
    return ScanSummary(runs=tuple(runs), started=started, finished=now_utc())


def _collect(fetcher: fetch.Fetcher, classifier: Classifier, src: Source, state: SourceState | None,
             keep_from: datetime, full: bool, now: datetime) -> Collected:
    """Fetch, parse, find mentions and score one source. Runs in a worker thread; touches no database."""
    t0 = time.monotonic()
    fetched = None
    try:
        fetched = fetcher.get(
            src.url, fetch.Limits(timeout=src.timeout.total_seconds(), max_bytes=src.max_bytes),
            etag=None if full or not state else state.etag,
            last_modified=None if full or not state else state.last_modified)
        if fetched.not_modified:
            return Collected(src, fetched, (), 0, None, time.monotonic() - t0)
        items = parse.parse_feed(fetched.body, source=src.name, url=fetched.url, now=now,
                                 content_type=fetched.content_type)
    except (FetchError, ParseError) as e:
        return Collected(src, fetched, (), 0, e, time.monotonic() - t0)
    except Exception as e:  # a parser bug on hostile input is this source's error, not the scan's
        log.exception("unexpected error on source %s", src.name)
        return Collected(src, fetched, (), 0, ParseError(f"{e.__class__.__name__}: {e}"), time.monotonic() - t0)
    scored = []
    for item in items:
        if item.published is None:
            item = replace(item, published=now)
        if item.published < keep_from:
            continue
        s = classifier.classify(item.text, item.title, all_mentions=src.all_mentions)
        if s.mention:
            scored.append(store.Scored(item, s))
    return Collected(src, fetched, tuple(scored), len(items), None, time.monotonic() - t0)


def _save(engine, c: Collected, old: SourceState | None, now: datetime) -> SourceRun:
    old = old or SourceState(name=c.source.name)
    interval = c.source.interval
    if c.error is not None:
        failures = old.failures + 1
        state = replace(old, last_checked=now, last_error=str(c.error), last_error_at=now,
                        failures=failures,
                        next_check=schedule.next_check(now, interval, failures=failures,
                                                       retry_after=getattr(c.error, "retry_after", None)))
        store.save_state(engine, state)
        return SourceRun(c.source.name, error=str(c.error), seconds=c.seconds)
    state = replace(old, last_checked=now, last_success=now, failures=0, last_error=old.last_error,
                    next_check=schedule.next_check(now, interval))
    if c.fetched is not None and not c.fetched.not_modified:
        state = replace(state, etag=c.fetched.etag, last_modified=c.fetched.last_modified)
    saved = store.save_items(engine, c.scored, now, c.fetched, state)
    return SourceRun(c.source.name, seen=c.seen, new=len(saved.new_ids), updated=len(saved.updated_ids),
                     mentions=len(c.scored), not_modified=bool(c.fetched and c.fetched.not_modified),
                     seconds=c.seconds, new_ids=saved.new_ids)


def _log_run(run: SourceRun) -> None:
    if run.error:
        log.warning("source %r: error: %s (%.1fs)", run.source, run.error, run.seconds)
    else:
        log.info("source %r: %d items, %d new, %d updated, %d mentions%s (%.1fs)", run.source, run.seen,
                 run.new, run.updated, run.mentions, ", not modified" if run.not_modified else "", run.seconds)


# ---------------------------------------------------------------- items, sources and reviews


def source_states(cfg: Config, engine=None) -> dict[str, SourceState]:
    """Each source's stored health; empty before the first scan (no database is created for it)."""
    if engine is None and _no_database(cfg):
        return {}
    return store.load_states(engine or open_store(cfg))


def _no_database(cfg: Config) -> bool:
    """A SQLite file not created yet (reading commands must not create one)."""
    url = cfg.database_url
    return url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///"):])


def list_items(cfg: Config, *, since: datetime | None = None, labels: Iterable[str] = (),
               statuses: Iterable[str] = (), engine=None) -> list[StoredItem]:
    return store.list_items(engine or open_store(cfg), since=since, labels=labels, statuses=statuses)


def review(cfg: Config, item_id: int, *, status: str, action: str | None = None, note: str = "",
           by: str, engine=None, now: datetime | None = None) -> Review:
    """Append one step to an item's review log."""
    if status not in REVIEW_STATUSES[1:]:
        raise UsageError(f"status {status!r}: use one of {', '.join(REVIEW_STATUSES[1:])}")
    if action is not None and action not in ACTIONS:
        raise UsageError(f"action {action!r}: use one of {', '.join(ACTIONS)}")
    engine = engine or open_store(cfg)
    if store.get_item(engine, item_id) is None:
        raise UsageError(f"no item with id {item_id}; `school-monitor items` lists them")
    return store.add_review(engine, Review(item_id=item_id, at=now or now_utc(), by=by, status=status,
                                           action=action, note=note))


# ---------------------------------------------------------------- the daemon: single sources, retention, health

HEARTBEAT_STALE = timedelta(minutes=5)  # ten of the longest ticks: the daemon has stopped or hung


class SourceRunner:
    """Runs one source on its own, as the daemon's workers do: the scan pipeline (`_collect`, then
    `_save`) for that source. One HTTP session and one classifier serve every run; thread-safe."""

    def __init__(self, cfg: Config, engine, fetcher: fetch.Fetcher | None = None):
        self.cfg = cfg
        self.engine = engine
        self.fetcher = fetcher or fetch.Fetcher()
        self.classifier = Classifier(cfg)

    def with_config(self, cfg: Config) -> SourceRunner:
        """After a reload: the new config (aliases, sources), the same database and HTTP session."""
        return SourceRunner(cfg, self.engine, self.fetcher)

    def run(self, src: Source, *, now: datetime | None = None) -> SourceRun:
        started = now or now_utc()
        state = store.load_states(self.engine).get(src.name)
        keep_from = started - timedelta(days=self.cfg.storage.keep_days)
        collected = _collect(self.fetcher, self.classifier, src, state, keep_from, False, started)
        run = _save(self.engine, collected, state, now or now_utc())
        _log_run(run)
        return run

    def close(self) -> None:
        self.fetcher.close()


def due_sources(cfg: Config, *, engine, running: Iterable[str] = (), now: datetime | None = None) -> list[Source]:
    """The enabled sources whose stored next check has come, less those in flight (a source never
    overlaps itself). A source due many times over while nothing ran is due once."""
    running = set(running)
    candidates = [s for s in cfg.sources if s.enabled and s.name not in running]
    due = set(store.due_sources(engine, [s.name for s in candidates], now or now_utc()))
    return [s for s in candidates if s.name in due]


def tick_seconds(cfg: Config) -> float:
    """How often the daemon's tick asks what is due, from the shortest enabled interval."""
    return schedule.tick_period(s.interval for s in cfg.sources if s.enabled).total_seconds()


def record_heartbeat(*, engine, now: datetime | None = None) -> None:
    """The daemon's tick says it is alive (`status` reads it)."""
    store.set_heartbeat(engine, now or now_utc())


def clear_heartbeat(*, engine) -> None:
    """The daemon stopped cleanly: no daemon is expected until one starts again."""
    store.set_heartbeat(engine, None)


def next_digest_at(cfg: Config, *, engine, after: datetime | None = None, now: datetime | None = None) -> datetime:
    """When the daemon sends the digest next: the next [alerts] digest_at after the one it sent at
    `after`; on start (no `after`), at once if a scheduled digest was missed while it was down."""
    at, tz = cfg.alerts.digest_at, cfg.alerts.tz
    if after is not None:
        return schedule.next_daily(after, at, tz)
    return schedule.next_digest(now or now_utc(), at, tz, store.last_digest(engine))


def apply_retention(cfg: Config, *, engine=None, now: datetime | None = None) -> int:
    """Delete mentions older than [storage] keep_days that nobody flagged (data protection: keep no
    more than needed). High-severity mentions and any with a review entry are kept, with their log."""
    before = (now or now_utc()) - timedelta(days=cfg.storage.keep_days)
    deleted = store.delete_old_items(engine or open_store(cfg), before)
    if deleted:
        log.info("retention: deleted %d unflagged mention(s) first seen before %s", deleted,
                 before.date().isoformat())
    return deleted


@dataclass(frozen=True)
class Status:
    """The monitor's health, for `school-monitor status`. Healthy when `problems` is empty."""

    checked_at: datetime
    database: str                          # the URL, without a password
    problems: tuple[str, ...] = ()
    database_bytes: int | None = None
    heartbeat: datetime | None = None      # None: no daemon running (never started, or stopped cleanly)
    sources: tuple[SourceState, ...] = ()  # in config order; a source never run has an empty state
    unsent: int = 0
    last_digest: datetime | None = None

    @property
    def healthy(self) -> bool:
        return not self.problems


def status(cfg: Config, *, engine=None, now: datetime | None = None) -> Status:
    """Unhealthy when the database cannot be opened, or when a daemon is expected (its heartbeat is
    stored) but the heartbeat is older than HEARTBEAT_STALE. Failing sources are shown, not unhealthy:
    restarting the monitor would not mend them."""
    now = now or now_utc()
    shown = store.safe_url(cfg.database_url)
    if engine is None and _no_database(cfg):
        return Status(now, shown, ("no database yet: the monitor has never run (`school-monitor run`)",))
    try:
        engine = engine or open_store(cfg)
    except StoreError as e:
        return Status(now, shown, (str(e),))
    heartbeat = store.get_heartbeat(engine)
    problems = ()
    if heartbeat is not None and now - heartbeat > HEARTBEAT_STALE:
        problems = (f"the daemon's last heartbeat is {int((now - heartbeat).total_seconds())}s old: "
                    "it has stopped or hung",)
    states = store.load_states(engine)
    return Status(
        now, shown, problems, database_bytes=store.database_size(engine), heartbeat=heartbeat,
        sources=tuple(states.get(s.name) or SourceState(name=s.name) for s in cfg.sources),
        unsent=store.count_unsent(engine), last_digest=store.last_digest(engine))


# ---- alerts: minimal versions until the alerts branch lands (the lead replaces them at merge)


def send_digest(cfg: Config, *, engine=None, since: datetime | None = None, send: bool = True,
                now: datetime | None = None):
    log.debug("digest: not built in this branch yet")
    return None


def flush_outbox(cfg: Config, *, engine=None, now: datetime | None = None):
    log.debug("outbox: not built in this branch yet")
    return None
