"""The orchestrator: the one place that joins the stages. Its functions are what the CLI and the daemon call.

    scan(cfg)      for each source: fetch -> parse -> mentions -> score -> store (+ source state);
                   then follow_up: re-check the posts asked to be taken down
    classify(...)  mentions + score for one text, without storing it (`school-monitor score`)
    list_items     stored mentions for `items`
    review         append to the review log
    add_mention    a mention staff saw themselves, stored and scored like any other
    write_report   the report (HTML, CSV, JSON); export_evidence, item_with_log for one item
    alert_new      instant alerts for new mentions: render (notify) -> queue (store.outbox) -> send
    send_digest    the daily digest (render_digest for the print path)
    flush_outbox   send what is due in the outbox; failures stay queued and are retried with backoff
    SourceRunner   one source on its own (the daemon's workers); due_sources, what the daemon's tick asks
    apply_retention, status, next_digest_at, record_heartbeat: the daemon's other jobs and its health

Only this module reads the clock; every stage below it takes `now`. Stages never import each
other: this module hands plain dataclasses from one to the next.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from monitor import schedule
from monitor.config import Config, Source, check_http_url
from monitor.errors import FetchError, NotifyError, ParseError, StoreError, UsageError
from monitor.models import (
    ACTIONS,
    LABEL_RANK,
    REVIEW_STATUSES,
    SEVERITY_RANK,
    Email,
    Evidence,
    FetchResult,
    Item,
    ReportData,
    Review,
    ScanSummary,
    Score,
    SourceHealth,
    SourceRun,
    SourceState,
    StoredItem,
)

log = logging.getLogger("monitor")


class _Lazy:
    """A stage's module, imported when first used: an unchanged re-scan, `status` or `items` never
    pays for the parsers, the scorer's lexicons, Jinja2 or matplotlib; `score`, `check` or `--help`
    never for SQLAlchemy or requests. import_module takes the import lock, so threads racing to the
    first use are safe (importlib's LazyLoader is not, in 3.11)."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self._name), attr)


fetch = _Lazy("monitor.fetch")  # requests: not needed by `score`, `check`, `items`...
mentions = _Lazy("monitor.mentions")
notify = _Lazy("monitor.notify")
parse = _Lazy("monitor.parse")
report = _Lazy("monitor.report")
score = _Lazy("monitor.score")
store = _Lazy("monitor.store")  # SQLAlchemy: a fifth of a second, not needed by `score` or `check`

SCAN_WORKERS = 8
SAVE_EVERY = 0.25  # seconds: how long a scan lets finished sources gather before saving them
ACCEPT = {
    "feed": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
    "page": "text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
}


def now_utc() -> datetime:
    return datetime.now(UTC)


class Classifier:
    """Mentions + score, built once per config (lexicons and regexes compiled once, on first use:
    a scan where every source answers 304 never pays for it)."""

    def __init__(self, cfg: Config):
        self._cfg = cfg
        self._lock = threading.Lock()
        self._finder: mentions.MentionFinder | None = None
        self._scorer: score.Scorer | None = None

    def _build(self) -> None:
        with self._lock:
            if self._scorer is None:
                self._finder = mentions.MentionFinder(self._cfg.school)
                self._scorer = score.Scorer(self._cfg.scoring)

    @property
    def finder(self) -> mentions.MentionFinder:
        if self._finder is None:
            self._build()
        return self._finder

    @property
    def scorer(self) -> score.Scorer:
        if self._scorer is None:
            self._build()
        return self._scorer

    def __getstate__(self):  # the lock stays behind; a copy builds its own lexicons when first used
        return {"_cfg": self._cfg}

    def __setstate__(self, state):
        self.__init__(state["_cfg"])

    def classify(self, text: str, title: str = "", all_mentions: bool = False) -> Score:
        match = self.finder.find(text, title, all_mentions=all_mentions)
        return self.scorer.score(text, title, match)

    def classify_confirmed(self, text: str, title: str = "") -> Score:
        """Score a text a person says is about the school, even if no alias matched or an exclusion did."""
        match = self.finder.find(text, title, all_mentions=True)
        if not match.is_mention:
            match = replace(match, is_mention=True, reasons=match.reasons + ("added by hand",))
        return self.scorer.score(text, title, match)


def check_templates(cfg: Config) -> list[str]:
    """Every email template compiles (the school's overrides in alerts/ included); where each came from."""
    return notify.check_templates(cfg)


def score_json(result: Score, id_=None) -> dict:
    """The object `school-monitor score` prints for one text."""
    return {
        "id": id_,
        "mention": result.mention,
        "label": result.label,
        "severity": result.severity,
        "sentiment": round(result.sentiment, 4),
        "flags": list(result.flags),
        "mentions_staff": result.mentions_staff,
    }


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
    page_text: str | None = None  # a watched page's text now, kept to diff the next fetch against


def open_store(cfg: Config):
    return store.connect(cfg.database_url)


def select_sources(cfg: Config, names: Sequence[str] = ()) -> list[Source]:
    if not names:
        return [s for s in cfg.sources if s.enabled]
    known = {s.name: s for s in cfg.sources}
    missing = [n for n in names if n not in known]
    if missing:
        raise UsageError(
            f"no source named {', '.join(map(repr, missing))} in {cfg.path}; `school-monitor check` lists them"
        )
    return [known[n] for n in names]


def scan(
    cfg: Config,
    *,
    names: Sequence[str] = (),
    since: datetime | None = None,
    engine=None,
    progress: Callable[[SourceRun], None] | None = None,
    now: datetime | None = None,
    alerts: bool = True,
) -> ScanSummary:
    """One pass over the sources now. A failing source is recorded and skipped, never fatal.

    `since`: an ad-hoc scan that re-reads every source in full (no conditional GET) and keeps
    items published since that date; without it, items older than [storage] keep_days are
    ignored (retention would delete them anyway). `alerts=False` stores without instant alerts
    (the digest still lists what was found).
    """
    started = now or now_utc()
    engine = engine or open_store(cfg)
    sources = select_sources(cfg, names)
    states = store.load_states(engine)
    classifier = Classifier(cfg)
    keep_from = since or started - timedelta(days=cfg.storage.keep_days)
    runs = []
    # The process pool starts before any thread of ours, so its workers fork a quiet process.
    with (
        _analysis_pool(classifier, len(sources)) as procs,
        fetch.Fetcher() as fetcher,
        ThreadPoolExecutor(max_workers=SCAN_WORKERS) as pool,
    ):
        waiting = {
            pool.submit(
                _collect, fetcher, classifier, src, states.get(src.name), keep_from, since is not None, started, procs
            )
            for src in sources
        }
        try:
            while waiting:
                # What finished in the last moment is saved in one transaction while the rest goes on:
                # fewer, larger transactions leave the GIL to the fetching threads.
                done, waiting = wait(waiting, timeout=SAVE_EVERY)
                if not done:
                    continue
                batch = [f.result() for f in done]
                for run in _save_all(engine, batch, states, now_utc()):
                    _log_run(run)
                    runs.append(run)
                    if progress:
                        progress(run)
        except BaseException:  # Ctrl-C, or the database failing: don't fetch the sources not started
            for f in waiting:
                f.cancel()
            raise
        removed = follow_up(cfg, engine=engine, fetcher=fetcher, now=started)
    order = {s.name: i for i, s in enumerate(sources)}
    runs.sort(key=lambda r: order[r.source])
    summary = ScanSummary(
        runs=tuple(runs), started=started, finished=now_utc(), removed=tuple(r.item_id for r in removed)
    )
    if not alerts:
        store.clear_pending(engine, [i for r in runs for i in r.new_ids])
        return summary
    sent = alert_new(cfg, engine, started)
    return replace(summary, alerts_queued=sent.queued, emails_waiting=sent.flushed.waiting)


# Parsing and scoring hold the GIL (feedparser, BeautifulSoup, VADER are pure Python), so a large
# scan hands them to one process per core while threads fetch; a small one stays in-process.
# (Fetching in those processes too was measured slower: the fetching threads there take turns at
# the GIL with the parsing, and a fixed share of the sources per process finishes unevenly.)
PROCESS_POOL_MIN_SOURCES = 16
_worker_classifier: Classifier | None = None  # set once in each analysis worker process


def _analysis_pool(classifier: Classifier, n_sources: int):
    cores = os.cpu_count() or 1
    if cores < 2 or n_sources < PROCESS_POOL_MIN_SOURCES or "fork" not in mp.get_all_start_methods():
        return contextlib.nullcontext()
    return _ParsingProcesses(classifier, cores)


class _ParsingProcesses:
    """One parsing process per core. A process that dies (a parser crashing on a hostile body, the
    OOM killer) breaks the pool: the sources in it at that moment fail, and a new pool takes the rest."""

    def __init__(self, classifier: Classifier, cores: int):
        self._classifier, self._cores = classifier, cores
        self._lock = threading.Lock()
        # fork: a worker starts as a copy of this process (its modules imported, its config
        # parsed) instead of importing and unpickling them afresh.
        self._pool = self._start("fork")

    def _start(self, method: str) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._cores,
            mp_context=mp.get_context(method),
            initializer=_init_worker,
            initargs=(self._classifier,),
        )

    def analyse(self, *args) -> Analysed:
        pool = self._pool
        try:
            return pool.submit(_analyse_in_worker, *args).result()
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:  # the first thread to see it replaces it
                    pool.shutdown(wait=False)
                    # spawn, not fork: threads run here now, and a fork would copy a lock one holds
                    self._pool = self._start("spawn")
            return Analysed(
                error=ParseError(
                    "a parsing process died (this source's body or another's "
                    "crashed it); the source is read again on the next run"
                )
            )

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._pool.shutdown(cancel_futures=exc[0] is not None)


def _init_worker(classifier: Classifier) -> None:
    global _worker_classifier
    _worker_classifier = classifier
    # Ctrl-C reaches the whole process group: the scan stops its workers itself, without a
    # traceback from each.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # What the worker inherited lives as long as it does: out of the collector's sight, the
    # collections parsing triggers walk only what parsing made (3-5% less CPU on the bench's bodies).
    gc.freeze()


def _analyse_in_worker(
    src: Source, fetched: FetchResult, previous_page: str | None, keep_from: datetime, now: datetime
) -> Analysed:
    return _analyse(_worker_classifier, src, fetched, previous_page, keep_from, now)


@dataclass(frozen=True)
class Analysed:
    """Parsing and scoring one fetched body gave: the mentions, or the source's error."""

    scored: tuple[store.Scored, ...] = ()
    seen: int = 0
    page_text: str | None = None
    error: ParseError | None = None


def _collect(
    fetcher: fetch.Fetcher,
    classifier: Classifier,
    src: Source,
    state: SourceState | None,
    keep_from: datetime,
    full: bool,
    now: datetime,
    procs=None,
) -> Collected:
    """Fetch one source, then parse it, find mentions and score them (in `procs` when given).
    Runs in a worker thread; touches no database."""
    t0 = time.monotonic()
    try:
        fetched = fetcher.get(
            src.url,
            fetch.Limits(
                timeout=src.timeout.total_seconds(), max_bytes=src.max_bytes, per_host=src.per_host, robots=src.robots
            ),
            etag=None if full or not state else state.etag,
            last_modified=None if full or not state else state.last_modified,
            accept=ACCEPT[src.type],
        )
    except FetchError as e:
        return Collected(src, None, (), 0, e, time.monotonic() - t0)
    if fetched.not_modified:
        return Collected(src, fetched, (), 0, None, time.monotonic() - t0)
    previous_page = state.page_text if state else None
    if procs is None:
        done = _analyse(classifier, src, fetched, previous_page, keep_from, now)
    else:
        done = procs.analyse(src, fetched, previous_page, keep_from, now)
    if not done.scored:  # the body is kept only as the evidence of a mention: don't hold it till saved
        fetched = replace(fetched, body=b"")
    return Collected(src, fetched, done.scored, done.seen, done.error, time.monotonic() - t0, done.page_text)


def _analyse(
    classifier: Classifier,
    src: Source,
    fetched: FetchResult,
    previous_page: str | None,
    keep_from: datetime,
    now: datetime,
) -> Analysed:
    """Parse a body, keep the mentions and score them. Never raises: a parser's failure on hostile
    input is this source's error, not the scan's."""
    page_text = None
    try:
        items = _parse(src, fetched, now)
        if src.type == "page" and not src.item:
            items, page_text = _watched_change(items[0], previous_page)
    except ParseError as e:
        return Analysed(error=e)
    except Exception as e:
        log.exception("unexpected error on source %s", src.name)
        return Analysed(error=ParseError(f"{e.__class__.__name__}: {e}"))
    scored = []
    for item in items:
        if item.published is None:
            item = replace(item, published=now)
        if item.published < keep_from:
            continue
        match = classifier.finder.find(item.text, item.title, all_mentions=src.all_mentions)
        if match.is_mention:  # only mentions are scored: most items of a busy feed are not
            scored.append(store.Scored(item, classifier.scorer.score(item.text, item.title, match)))
    return Analysed(tuple(scored), len(items), page_text)


def _parse(src: Source, fetched: FetchResult, now: datetime) -> list:
    if src.type == "page":
        return parse.parse_page(fetched.body, source=src, url=fetched.url, now=now, encoding=fetched.encoding)
    return parse.parse_feed(fetched.body, source=src.name, url=fetched.url, now=now, content_type=fetched.content_type)


def _watched_change(page, previous: str | None) -> tuple[list, str]:
    """A watched page (no item selector) is one item; once seen, it is scored on the text a change
    added, not on the whole page again. Unchanged, or only text removed: nothing to score."""
    if previous is None:
        return [page], page.text
    added = parse.added_text(previous, page.text)
    return ([replace(page, text=added)] if added else []), page.text


def _save(engine, c: Collected, old: SourceState | None, now: datetime) -> SourceRun:
    return _save_all(engine, [c], {c.source.name: old} if old else {}, now)[0]


def _save_all(engine, batch: Sequence[Collected], states: dict[str, SourceState], now: datetime) -> list[SourceRun]:
    """Store what several sources gave, with their new states, in one transaction."""
    new_states = [_next_state(c, states.get(c.source.name), now) for c in batch]
    saved = store.save_batch(
        engine, [(c.scored, None if c.error else c.fetched, st) for c, st in zip(batch, new_states, strict=False)], now
    )
    runs = []
    for c, st, result in zip(batch, new_states, saved, strict=False):
        if c.error is not None:
            runs.append(SourceRun(c.source.name, error=str(c.error), seconds=c.seconds, broken=st.broken))
            continue
        runs.append(
            SourceRun(
                c.source.name,
                seen=c.seen,
                new=len(result.new_ids),
                updated=len(result.updated_ids),
                mentions=len(c.scored),
                not_modified=bool(c.fetched and c.fetched.not_modified),
                seconds=c.seconds,
                new_ids=result.new_ids,
            )
        )
    return runs


def _next_state(c: Collected, old: SourceState | None, now: datetime) -> SourceState:
    """A source's state after a run: validators and success, or the failure and its back-off."""
    old = old or SourceState(name=c.source.name)
    interval = c.source.interval
    if c.error is not None:
        failures = old.failures + 1
        permanent = old.permanent_failures + 1 if getattr(c.error, "permanent", False) else 0
        return replace(
            old,
            last_checked=now,
            last_error=str(c.error),
            last_error_at=now,
            failures=failures,
            permanent_failures=permanent,
            next_check=schedule.next_check(
                now, interval, failures=failures, retry_after=getattr(c.error, "retry_after", None)
            ),
        )
    state = replace(
        old,
        last_checked=now,
        last_success=now,
        failures=0,
        permanent_failures=0,
        next_check=schedule.next_check(now, interval),
    )
    if c.fetched is not None and not c.fetched.not_modified:
        state = replace(state, etag=c.fetched.etag, last_modified=c.fetched.last_modified)
    if c.page_text is not None:
        state = replace(state, page_text=c.page_text, content_hash=store.content_hash("", c.page_text))
    return state


def _log_run(run: SourceRun) -> None:
    if run.error:
        log.warning("source %r: error: %s (%.1fs)", run.source, run.error, run.seconds)
    else:
        log.info(
            "source %r: %d items, %d new, %d updated, %d mentions%s (%.1fs)",
            run.source,
            run.seen,
            run.new,
            run.updated,
            run.mentions,
            ", not modified" if run.not_modified else "",
            run.seconds,
        )


# ---------------------------------------------------------------- items, sources and reviews


def source_states(cfg: Config, engine=None) -> dict[str, SourceState]:
    """Each source's stored health; empty before the first scan (no database is created for it)."""
    if engine is None and _no_database(cfg):
        return {}
    return store.load_states(engine or open_store(cfg))


def _no_database(cfg: Config) -> bool:
    """A SQLite file not created yet (reading commands must not create one)."""
    url = cfg.database_url
    return url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///") :])


def list_items(
    cfg: Config, *, since: datetime | None = None, labels: Iterable[str] = (), statuses: Iterable[str] = (), engine=None
) -> list[StoredItem]:
    return store.list_items(engine or open_store(cfg), since=since, labels=labels, statuses=statuses)


def review(
    cfg: Config,
    item_id: int,
    *,
    status: str,
    action: str | None = None,
    note: str = "",
    by: str,
    engine=None,
    now: datetime | None = None,
) -> Review:
    """Append one step to an item's review log."""
    if status not in REVIEW_STATUSES[1:]:
        raise UsageError(f"status {status!r}: use one of {', '.join(REVIEW_STATUSES[1:])}")
    if action is not None and action not in ACTIONS:
        raise UsageError(f"action {action!r}: use one of {', '.join(ACTIONS)}")
    engine = engine or open_store(cfg)
    if store.get_item(engine, item_id) is None:
        raise UsageError(f"no item with id {item_id}; `school-monitor items` lists them")
    return store.add_review(
        engine, Review(item_id=item_id, at=now or now_utc(), by=by, status=status, action=action, note=note)
    )


def item_with_log(cfg: Config, item_id: int, *, engine=None) -> tuple[StoredItem, list[Review], list[Evidence]]:
    """One item, its review log and its evidence versions (`school-monitor show`)."""
    engine = engine or open_store(cfg)
    item = store.get_item(engine, item_id)
    if item is None:
        raise UsageError(f"no item with id {item_id}; `school-monitor items` lists them")
    return item, store.list_reviews(engine, [item_id]), store.list_evidence(engine, item_id)


def export_evidence(cfg: Config, item_id: int, out_dir: Path, *, engine=None) -> list[Path]:
    """Write every evidence version of an item under out_dir; returns the manifests written."""
    engine = engine or open_store(cfg)
    if store.get_item(engine, item_id) is None:
        raise UsageError(f"no item with id {item_id}; `school-monitor items` lists them")
    versions = store.list_evidence(engine, item_id)
    if not versions:
        raise UsageError(f"item {item_id} has no stored evidence")
    try:
        return report.write_evidence(out_dir, versions)
    except OSError as e:
        raise UsageError(f"cannot write evidence to {out_dir}: {e.strerror}") from None


# ---------------------------------------------------------------- report

REPORT_FORMATS = ("html", "csv", "json")


def report_period(
    since: datetime | None, until: datetime | None, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """The report's [since, until): by default the last 12 months up to now."""
    until = until or now or now_utc()
    since = since or until - timedelta(days=365)
    if since >= until:
        raise UsageError(f"--since ({since.isoformat()}) must be before --until ({until.isoformat()})")
    return since, until


def report_data(
    cfg: Config,
    since: datetime,
    until: datetime,
    *,
    engine=None,
    now: datetime | None = None,
    flagged_limit: int | None = None,
) -> ReportData:
    """Counts in SQL, the most severe flagged items with their review logs, the sources' health."""
    engine = engine or open_store(cfg)
    previous = since - (until - since)
    flagged = store.flagged_items(
        engine, since, until, report.FLAGGED_LIMIT if flagged_limit is None else flagged_limit
    )
    logs = store.list_reviews(engine, [i.id for i in flagged]) if flagged else []
    reviews: dict[int, tuple[Review, ...]] = {}
    for r in logs:
        reviews[r.item_id] = reviews.get(r.item_id, ()) + (r,)
    states = store.load_states(engine)
    sources = tuple(SourceHealth(s.name, s.type, s.url, s.enabled, **_health(states.get(s.name))) for s in cfg.sources)
    return ReportData(
        school=cfg.school.name,
        since=since,
        until=until,
        generated_at=now or now_utc(),
        by_label=store.count_by(engine, "label", since, until),
        by_source=store.count_by(engine, "source", since, until),
        previous_by_label=store.count_by(engine, "label", previous, since),
        weeks=report.weeks_from_days(store.daily_counts(engine, since, until), since, until),
        flagged=tuple(flagged),
        flagged_total=store.count_flagged(engine, since, until),
        reviews=reviews,
        sources=sources,
        not_watched=cfg.alerts.not_watched,
        timezone=cfg.alerts.timezone,
    )


def _health(state: SourceState | None) -> dict:
    if state is None:
        return {}
    return {
        "last_success": state.last_success,
        "last_error": state.last_error,
        "last_error_at": state.last_error_at,
        "failures": state.failures,
    }


def default_report_path(cfg: Config, since: datetime, until: datetime, fmt: str) -> Path:
    tz = cfg.alerts.tz
    last = (until - timedelta(microseconds=1)).astimezone(tz)
    return cfg.data_dir / "reports" / f"report-{since.astimezone(tz):%Y-%m-%d}-to-{last:%Y-%m-%d}.{fmt}"


def write_report(
    cfg: Config,
    out: TextIO,
    *,
    fmt: str = "html",
    since: datetime | None = None,
    until: datetime | None = None,
    engine=None,
    now: datetime | None = None,
) -> int:
    """Write the report in one format to a text stream; returns the number of mentions in the period."""
    if fmt not in REPORT_FORMATS:
        raise UsageError(f"format {fmt!r}: use one of {', '.join(REPORT_FORMATS)}")
    engine = engine or open_store(cfg)
    since, until = report_period(since, until, now)
    if fmt == "html":
        data = report_data(cfg, since, until, engine=engine, now=now)
        out.write(report.render_html(data, cfg.templates_dir))
        return data.total
    rows = report.paired(store.iter_items(engine, since, until), store.reviews_in_period(engine, since, until))
    if fmt == "csv":
        return report.write_csv(out, rows)
    data = report_data(cfg, since, until, engine=engine, now=now, flagged_limit=1)  # the header's counts only
    return report.write_json(out, report.json_header(data), rows)


# ---------------------------------------------------------------- follow-up of take-down requests

FOLLOW_UP_EVERY = timedelta(hours=6)
FOLLOW_UP_WORDS = 12  # the post counts as present while the page still has its first words


def follow_up(cfg: Config, *, engine, fetcher: fetch.Fetcher, now: datetime) -> list[Review]:
    """Re-check the posts whose deletion was requested or which were reported to the platform.

    Gone (HTTP 404/410, or the page no longer contains the post's text where it was once seen):
    a `removed` entry is appended to the review log by "school-monitor". Otherwise checked again
    FOLLOW_UP_EVERY later.
    """
    added = []
    for item, last_result in store.due_follow_ups(engine, now):
        seen = bool(last_result and last_result.endswith(STILL_THERE)) or _in_own_evidence(engine, item)
        gone, result = _recheck(fetcher, item, seen)
        if gone:
            added.append(
                store.add_review(
                    engine,
                    Review(
                        item_id=item.id,
                        at=now,
                        by="school-monitor",
                        status="actioned",
                        action="removed",
                        note=f"re-checked {item.url} on {now:%Y-%m-%d %H:%M} UTC: {result}",
                    ),
                )
            )
            log.info("item #%d: removed (%s)", item.id, result)
        else:
            store.set_follow_up(engine, item.id, checked=now, next_check=now + FOLLOW_UP_EVERY, result=result)
    return added


STILL_THERE = "the post is still there"


def _recheck(fetcher: fetch.Fetcher, item: StoredItem, seen: bool) -> tuple[bool, str]:
    """(gone?, what was found). The text's absence counts only when it was once seen on that page:
    a feed's summary of an article need not appear in the article's page at all."""
    if not report.http_url(item.url):
        return False, "no web address to re-check"
    try:
        page = fetcher.get(item.url, fetch.Limits(timeout=20, max_bytes=5 * 1024**2))
    except FetchError as e:
        if e.status in (404, 410):
            return True, f"HTTP {e.status}: the page is gone"
        return False, f"could not re-check: {e}"
    if _contains_post(page.body, page.encoding, item):
        return False, f"HTTP {page.status}: {STILL_THERE}"
    if seen:
        return True, f"HTTP {page.status}, but the page no longer contains the post's text"
    return False, (
        f"HTTP {page.status}: the post's text was never seen on this page, so only a 404 or 410 will show it has gone"
    )


def _contains_post(body: bytes, encoding: str | None, item: StoredItem) -> bool:
    post = " ".join(_words(item.text or item.title)[:FOLLOW_UP_WORDS])
    text = parse.html_to_text(body.decode(encoding or "utf-8", errors="replace"))
    # A plain substring: the page's text may run one block's last word into the next one's first.
    return not post or post in " ".join(_words(text))


def _in_own_evidence(engine, item: StoredItem) -> bool:
    """The post was collected from its own page (a page source, or added by hand from its URL)."""
    return any(
        ev.body is not None
        and "html" in ev.body_content_type
        and ev.body_url == item.url.split("#")[0]
        and _contains_post(ev.body, None, item)
        for ev in store.list_evidence(engine, item.id)
    )


def _words(text: str) -> list[str]:
    return "".join(c if c.isalnum() else " " for c in text.casefold()).split()


# ---------------------------------------------------------------- mentions added by hand


def add_mention(
    cfg: Config,
    url: str,
    *,
    text: str = "",
    title: str = "",
    seen_on: str = "",
    note: str = "",
    by: str,
    engine=None,
    fetcher: fetch.Fetcher | None = None,
    now: datetime | None = None,
) -> tuple[StoredItem, bool, str | None]:
    """Store a mention staff saw themselves (a private group, TikTok...), scored like any other.

    The URL is fetched for evidence when it is public; a failed fetch is only an error when no
    text was given. The first entry of its review log (status new) says who added it and why.
    Returns (item, whether it was new, the fetch error if any).
    """
    try:
        url = check_http_url(url)
    except ValueError as e:
        raise UsageError(f"--url: {e}") from None
    now = now or now_utc()
    engine = engine or open_store(cfg)
    fetched, error = None, None
    with contextlib.nullcontext(fetcher) if fetcher else fetch.Fetcher() as f:
        try:
            fetched = f.get(url, fetch.Limits())
        except FetchError as e:
            error = str(e)
    if not text.strip():
        if fetched is None:
            raise UsageError(f"could not fetch {url} ({error}); paste what it says with --text")
        text = parse.html_to_text(fetched.body.decode(fetched.encoding or "utf-8", errors="replace"))
    platform = seen_on.strip() or urlsplit(url).hostname or "web"
    item = Item(
        source=f"added by hand: {platform}",
        key=parse.item_key(None, url, title, text),
        url=url,
        title=title.strip(),
        text=text.strip(),
        published=now,
        raw=text.strip(),
    )
    saved = store.save_items(
        engine, [store.Scored(item, Classifier(cfg).classify_confirmed(item.text, item.title))], now, fetched
    )
    item_id = (saved.new_ids or saved.updated_ids or (store.find_item_id(engine, item.source, item.key),))[0]
    if saved.new_ids:
        store.add_review(
            engine,
            Review(
                item_id=item_id,
                at=now,
                by=by,
                status="new",
                note=f"added by hand (seen on {platform})" + (f": {note}" if note else ""),
            ),
        )
    return store.get_item(engine, item_id), bool(saved.new_ids), error


# ---------------------------------------------------------------- alerts, digest and outbox
#
# Every email is rendered (notify), queued (store.outbox) and only then sent, so a dead mail
# server or a crash loses nothing. Lanes: "main" is [alerts] recipients; each [[alerts.route]]
# is its own lane ("route:NAME"); one email per (item, lane), ever, by the outbox dedupe_key.

URGENT = ("extremism", "abuse")  # never held by quiet hours
MAIN_LANE = "main"
SEND_LEASE = timedelta(minutes=10)  # a sender that dies mid-send leaves its email to be retried after this
MAX_SEND_BACKOFF = timedelta(hours=1)
FAILING_RUNS = 3  # a source failing this many runs in a row is named in the digest


@dataclass(frozen=True)
class FlushResult:
    sent: int = 0
    failed: int = 0
    waiting: int = 0  # still unsent afterwards: held by quiet hours, or retried later
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertResult:
    queued: int = 0  # emails queued (pile-ons included)
    piled: int = 0  # items gathered into pile-on emails rather than one email each
    flushed: FlushResult = FlushResult()


@dataclass(frozen=True)
class DigestResult:
    email: Email | None  # None: nothing new, so no digest
    items: int = 0
    queued: bool = False
    flushed: FlushResult | None = None


def quiet_until(cfg: Config, now: datetime) -> datetime | None:
    """The end of the quiet hours `now` falls in (in the school's time zone), or None."""
    if cfg.alerts.quiet_hours is None:
        return None
    start, end = cfg.alerts.quiet_hours
    local = now.astimezone(cfg.alerts.tz)
    t = local.time().replace(tzinfo=None)
    overnight = start > end
    inside = (t >= start or t < end) if overnight else (start <= t < end)
    if not inside or start == end:
        return None
    day = local.date() + timedelta(days=1) if overnight and t >= start else local.date()
    return datetime.combine(day, end, tzinfo=cfg.alerts.tz).astimezone(UTC)


def _hold(cfg: Config, items: Sequence[StoredItem], now: datetime) -> datetime | None:
    return None if any(i.label in URGENT for i in items) else quiet_until(cfg, now)


def _lanes(cfg: Config, item: StoredItem) -> list[tuple[str, tuple[str, ...]]]:
    """Who hears at once about this mention: [alerts] recipients for the immediate labels (and
    criticism naming staff), and every route whose labels include it."""
    a = cfg.alerts
    lanes = []
    if a.recipients and (
        item.label in a.immediate or (a.immediate_staff and item.label == "criticism" and item.mentions_staff)
    ):
        lanes.append((MAIN_LANE, a.recipients))
    lanes += [(f"route:{r.name}", r.recipients) for r in a.routes if item.label in r.labels]
    return lanes


def _severity_order(item: StoredItem):
    return (SEVERITY_RANK.get(item.severity, 9), LABEL_RANK.get(item.label, 9), item.id)


def alert_new(cfg: Config, engine, now: datetime | None = None) -> AlertResult:
    """Queue the instant alerts for mentions stored since the last call (pending in the store, so a
    crash between storing and alerting loses nothing), then send what is due.

    Posts published longer ago than [alerts] immediate_max_age go to the digest only. Past
    [alerts] max_per_hour alerts in the last hour (per lane), the rest become one pile-on email.
    """
    now = now or now_utc()
    new_ids = store.pending_alerts(engine)
    if not new_ids:
        return AlertResult(flushed=flush_outbox(cfg, engine=engine, now=now))
    a = cfg.alerts
    alertable = {
        *a.immediate,
        *(("criticism",) if a.immediate_staff else ()),
        *(label for route in a.routes for label in route.labels),
    }
    fresh = sorted(store.pending_candidates(engine, alertable, now - a.immediate_max_age), key=_severity_order)
    by_lane: dict[tuple[str, tuple[str, ...]], list[StoredItem]] = {}
    for item in fresh:
        for lane in _lanes(cfg, item):
            by_lane.setdefault(lane, []).append(item)
    emails, piled = [], 0
    for (lane, recipients), items in by_lane.items():
        room = max(0, cfg.alerts.max_per_hour - store.count_alerts_since(engine, now - timedelta(hours=1), lane))
        for item in items[:room]:
            emails.append(_outgoing(cfg, notify.render_alert(cfg, item, recipients, lane), [item], now))
        if rest := items[room:]:
            emails.append(_outgoing(cfg, notify.render_pileon(cfg, rest, recipients, lane), rest, now))
            piled += len(rest)
    queued = store.queue_emails(engine, emails, now, alerted=new_ids)
    if queued:
        log.info("queued %d alert email(s)%s", len(queued), f", {piled} item(s) in a pile-on" if piled else "")
    return AlertResult(queued=len(queued), piled=piled, flushed=flush_outbox(cfg, engine=engine, now=now))


def _outgoing(cfg: Config, email: Email, items: Sequence[StoredItem], now: datetime) -> store.Outgoing:
    return store.Outgoing(
        kind=email.kind,
        dedupe_key=email.dedupe_key,
        recipients=email.to,
        subject=email.subject,
        message=notify.message_bytes(cfg, email, now),
        item_ids=email.item_ids,
        not_before=_hold(cfg, items, now),
    )


def flush_outbox(cfg: Config, *, engine=None, now: datetime | None = None) -> FlushResult:
    """Send every due email in the outbox. A failure stays queued with its error and is retried
    with backoff; the rest wait for the next run (the server is likely down for them too)."""
    now = now or now_utc()
    engine = engine or open_store(cfg)
    sent, errors = 0, []
    for entry in store.due_emails(engine, now):
        if not store.claim_email(engine, entry.id, now, now + SEND_LEASE):
            continue  # another sender has it
        try:
            notify.deliver(cfg, entry.message, entry.recipients)
        except notify.PartlyRefused as e:  # taken for the others: sending again would repeat it
            log.warning("email %d (%s): %s", entry.id, entry.kind, e)
            store.mark_sent(engine, entry.id, now, note=str(e))
            sent += 1
        except NotifyError as e:
            attempts = entry.attempts + 1
            retry = now + min(timedelta(minutes=1) * 2 ** min(attempts - 1, 10), MAX_SEND_BACKOFF)
            store.mark_failed(engine, entry.id, str(e), retry)
            log.warning(
                "email %d (%s) not sent (attempt %d), queued for %s: %s",
                entry.id,
                entry.kind,
                attempts,
                retry.isoformat(timespec="minutes"),
                e,
            )
            errors.append(str(e))
            break
        else:
            store.mark_sent(engine, entry.id, now)
            sent += 1
    return FlushResult(sent=sent, failed=len(errors), waiting=len(store.unsent_emails(engine)), errors=tuple(errors))


def outbox(cfg: Config, *, engine=None) -> list[store.OutboxEntry]:
    """The emails waiting to be sent (`school-monitor outbox`)."""
    return store.unsent_emails(engine or open_store(cfg))


def _failing(cfg: Config, engine, now: datetime) -> tuple[SourceState, ...]:
    """Configured sources failing for [alerts] failing_after, or FAILING_RUNS runs in a row."""
    states = store.load_states(engine)
    out = []
    for src in cfg.sources:
        st = states.get(src.name)
        if not src.enabled or st is None or not st.failures:
            continue
        since_ok = now - st.last_success if st.last_success else None
        if st.failures >= FAILING_RUNS or since_ok is None or since_ok >= cfg.alerts.failing_after:
            out.append(st)
    return tuple(out)


def _digest_data(cfg: Config, engine, since: datetime | None, now: datetime) -> notify.DigestData:
    window = since or store.last_digest(engine)
    new = store.undigested_items(engine, since=since)
    listed = {i.id for i in new}
    awaiting = sorted(
        (
            i
            for i in store.list_items(engine, statuses=["new"])
            if i.severity in ("high", "medium") and i.id not in listed
        ),
        key=_severity_order,
    )
    removed = store.reviews_with_action(engine, "removed", window or now - timedelta(days=1))
    return notify.DigestData(
        since=window,
        until=now,
        items=tuple(new),
        awaiting=tuple(awaiting),
        failing=_failing(cfg, engine, now),
        removed=tuple(notify.Removed(item=it, at=r.at, by=r.by, note=r.note) for r, it in removed),
    )


def render_digest(
    cfg: Config, *, engine=None, since: datetime | None = None, now: datetime | None = None
) -> Email | None:
    """The digest as it would be sent now, or None when there is nothing new (and
    [alerts] digest_when_empty is false). Marks nothing."""
    now = now or now_utc()
    data = _digest_data(cfg, engine or open_store(cfg), since, now)
    if data.empty and not cfg.alerts.digest_when_empty:
        return None
    return notify.render_digest(cfg, data)


def send_digest(
    cfg: Config, *, engine=None, since: datetime | None = None, send: bool = True, now: datetime | None = None
) -> DigestResult:
    """The daily digest: every mention not yet digested, what awaits review, failing sources and
    posts confirmed gone. Queued and its items marked digested in one transaction, then sent."""
    now = now or now_utc()
    engine = engine or open_store(cfg)
    email = render_digest(cfg, engine=engine, since=since, now=now)
    if email is None or not send:
        return DigestResult(email=email, items=len(email.item_ids) if email else 0)
    if not email.to:
        log.warning("digest not sent: [alerts] recipients is empty")
        return DigestResult(email=email, items=len(email.item_ids))
    outgoing = store.Outgoing(
        kind=email.kind,
        dedupe_key=email.dedupe_key,
        recipients=email.to,
        subject=email.subject,
        message=notify.message_bytes(cfg, email, now),
        item_ids=email.item_ids,
        not_before=quiet_until(cfg, now),
    )
    queued = store.queue_digest(engine, outgoing, email.item_ids, now) is not None
    return DigestResult(
        email=email, items=len(email.item_ids), queued=queued, flushed=flush_outbox(cfg, engine=engine, now=now)
    )


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
    more than needed), and the emails sent before then, which quote mentions. High-severity
    mentions and any with a review entry are kept, with their log. Returns the mentions deleted."""
    before = (now or now_utc()) - timedelta(days=cfg.storage.keep_days)
    engine = engine or open_store(cfg)
    deleted = store.delete_old_items(engine, before)
    emails = store.delete_sent_emails(engine, before)
    if deleted or emails:
        log.info(
            "retention: deleted %d unflagged mention(s) first seen and %d email(s) sent before %s",
            deleted,
            emails,
            before.date().isoformat(),
        )
    return deleted


@dataclass(frozen=True)
class Status:
    """The monitor's health, for `school-monitor status`. Healthy when `problems` is empty."""

    checked_at: datetime
    database: str  # the URL, without a password
    problems: tuple[str, ...] = ()
    database_bytes: int | None = None
    heartbeat: datetime | None = None  # None: no daemon running (never started, or stopped cleanly)
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
        problems = (
            f"the daemon's last heartbeat is {int((now - heartbeat).total_seconds())}s old: it has stopped or hung",
        )
    states = store.load_states(engine)
    return Status(
        now,
        shown,
        problems,
        database_bytes=store.database_size(engine),
        heartbeat=heartbeat,
        sources=tuple(states.get(s.name) or SourceState(name=s.name) for s in cfg.sources),
        unsent=store.count_unsent(engine),
        last_digest=store.last_digest(engine),
    )
