"""The orchestrator: the one place that joins the stages. Its functions are what the CLI and the daemon call.

    scan(cfg)      for each source: fetch -> parse -> mentions -> score -> store (+ source state)
    classify(...)  mentions + score for one text, without storing it (`school-monitor score`)
    list_items     stored mentions for `items`
    review         append to the review log

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
from monitor.errors import FetchError, ParseError, UsageError
from monitor.mentions import MentionFinder
from monitor.models import (
    ACTIONS, REVIEW_STATUSES, FetchResult, Review, ScanSummary, Score, SourceRun, SourceState,
    StoredItem,
)
from monitor.score import Scorer

log = logging.getLogger("monitor")

SCAN_WORKERS = 8
ACCEPT = {
    "feed": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
    "page": "text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
}


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
    page_text: str | None = None   # a watched page's text now, kept to diff the next fetch against


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
    page_text = None
    try:
        fetched = fetcher.get(
            src.url, fetch.Limits(timeout=src.timeout.total_seconds(), max_bytes=src.max_bytes,
                                  per_host=src.per_host, robots=src.robots),
            etag=None if full or not state else state.etag,
            last_modified=None if full or not state else state.last_modified,
            accept=ACCEPT[src.type])
        if fetched.not_modified:
            return Collected(src, fetched, (), 0, None, time.monotonic() - t0)
        items = _parse(src, fetched, now)
        if src.type == "page" and not src.item:
            items, page_text = _watched_change(items[0], state)
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
    return Collected(src, fetched, tuple(scored), len(items), None, time.monotonic() - t0, page_text)


def _parse(src: Source, fetched: FetchResult, now: datetime) -> list:
    if src.type == "page":
        return parse.parse_page(fetched.body, source=src, url=fetched.url, now=now, encoding=fetched.encoding)
    return parse.parse_feed(fetched.body, source=src.name, url=fetched.url, now=now,
                            content_type=fetched.content_type)


def _watched_change(page, state: SourceState | None) -> tuple[list, str]:
    """A watched page (no item selector) is one item; once seen, it is scored on the text a change
    added, not on the whole page again. Unchanged, or only text removed: nothing to score."""
    previous = state.page_text if state else None
    if previous is None:
        return [page], page.text
    added = parse.added_text(previous, page.text)
    return ([replace(page, text=added)] if added else []), page.text


def _save(engine, c: Collected, old: SourceState | None, now: datetime) -> SourceRun:
    old = old or SourceState(name=c.source.name)
    interval = c.source.interval
    if c.error is not None:
        failures = old.failures + 1
        permanent = old.permanent_failures + 1 if getattr(c.error, "permanent", False) else 0
        state = replace(old, last_checked=now, last_error=str(c.error), last_error_at=now,
                        failures=failures, permanent_failures=permanent,
                        next_check=schedule.next_check(now, interval, failures=failures,
                                                       retry_after=getattr(c.error, "retry_after", None)))
        store.save_state(engine, state)
        return SourceRun(c.source.name, error=str(c.error), seconds=c.seconds, broken=state.broken)
    state = replace(old, last_checked=now, last_success=now, failures=0, permanent_failures=0,
                    last_error=old.last_error, next_check=schedule.next_check(now, interval))
    if c.fetched is not None and not c.fetched.not_modified:
        state = replace(state, etag=c.fetched.etag, last_modified=c.fetched.last_modified)
    if c.page_text is not None:
        state = replace(state, page_text=c.page_text, content_hash=store.content_hash("", c.page_text))
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
    url = cfg.database_url
    if engine is None and url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///"):]):
        return {}
    return store.load_states(engine or open_store(cfg))


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

