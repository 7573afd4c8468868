"""Scanning: for each source, fetch -> parse -> mentions -> score -> store, with its new state.

A scan runs its sources in threads (fetching waits on the network) and saves what finished every
SAVE_EVERY seconds in one transaction; the daemon runs one source at a time through `run_one`.
A failing source is recorded (its error, its back-off) and skipped, never fatal. Each source's
items and its state land in one transaction, so a kill at any moment loses nothing and stores
nothing twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from monitor import fetch, headers, schedule, store
from monitor.config import Source
from monitor.errors import FetchError, ParseError, StoreError
from monitor.examples import ExampleIndex
from monitor.models import FetchResult, Scored, SourceRun, SourceState
from monitor.service.classify import Classifier, learn

if TYPE_CHECKING:
    from monitor.service.analysis import Analysed
    from monitor.service.parsing_pool import ParsingProcesses

log = logging.getLogger("monitor")

SCAN_WORKERS = 8
SAVE_EVERY = 0.25  # seconds: how long a scan lets finished sources gather before saving them
ACCEPT = {
    "feed": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
    "page": "text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
    "json": "application/json, */*;q=0.5",
}


@dataclass(frozen=True)
class Collected:
    """What a worker hands back for one source: plain data, stored by the caller's thread."""

    source: Source
    fetched: FetchResult | None
    scored: tuple[Scored, ...]
    seen: int
    error: FetchError | ParseError | StoreError | None
    seconds: float
    page_text: str | None = None  # a watched page's text now, kept to diff the next fetch against


@dataclass(frozen=True)
class Pass:
    """What one pass over sources needs: where to fetch, how to classify, what to keep."""

    engine: Engine
    fetcher: fetch.Fetcher
    classifier: Classifier
    keep_from: datetime  # items published before this are ignored
    full: bool  # re-read in full (no conditional GET)
    now: datetime
    examples: ExampleIndex | None = None  # the school's corrected mentions, for their near-duplicates


def scan(
    p: Pass,
    sources: Sequence[Source],
    clock: Callable[[], datetime],
    progress: Callable[[SourceRun], None] | None = None,
) -> list[SourceRun]:
    """One pass over `sources`; their runs in the order given."""
    states = store.load_states(p.engine)
    runs = []
    # The process pool starts before any thread of ours, so its workers fork a quiet process.
    # The parsers and the scorer are imported when a body is first read: a re-scan where every
    # source answers 304 never loads them (tests/test_lazy_imports.py).
    from monitor.service.parsing_pool import parsing_pool

    with parsing_pool(p.classifier, len(sources)) as procs, ThreadPoolExecutor(max_workers=SCAN_WORKERS) as pool:
        waiting: set[Future[Collected]] = {pool.submit(collect, p, src, states.get(src.name), procs) for src in sources}
        try:
            while waiting:
                # What finished in the last moment is saved in one transaction while the rest goes on:
                # fewer, larger transactions leave the GIL to the fetching threads.
                done, waiting = wait(waiting, timeout=SAVE_EVERY)
                if not done:
                    continue
                for run in save(p.engine, [f.result() for f in done], states, clock()):
                    _log_run(run)
                    runs.append(run)
                    if progress:
                        progress(run)
        except BaseException:  # Ctrl-C, or the database failing: don't fetch the sources not started
            for f in waiting:
                f.cancel()
            raise
    order = {s.name: i for i, s in enumerate(sources)}
    runs.sort(key=lambda r: order[r.source])
    return runs


def run_one(p: Pass, src: Source, clock: Callable[[], datetime]) -> SourceRun:
    """One source on its own, as the daemon's workers run it."""
    state = store.load_states(p.engine).get(src.name)
    (run,) = save(p.engine, [collect(p, src, state)], {src.name: state} if state else {}, clock())
    _log_run(run)
    return run


def collect(p: Pass, src: Source, state: SourceState | None, procs: ParsingProcesses | None = None) -> Collected:
    """Fetch one source, then parse it, find mentions and score them (in `procs` when given).
    Runs in a worker thread; touches no database."""
    t0 = time.monotonic()
    conditional = not p.full and state is not None
    try:
        fetched = p.fetcher.get(
            src.url,
            fetch.Limits.of(src),
            etag=state.etag if conditional and state else None,
            last_modified=state.last_modified if conditional and state else None,
            accept=ACCEPT.get(src.type),
            headers=headers.resolve(src) if src.headers else None,  # `env:` values read now, never logged
        )
    except FetchError as e:
        return Collected(src, None, (), 0, e, time.monotonic() - t0)
    if fetched.not_modified:
        return Collected(src, fetched, (), 0, None, time.monotonic() - t0)
    previous_page = state.page_text if state else None
    done: Analysed
    if procs is None:
        from monitor.service.analysis import analyse

        done = analyse(p.classifier, src, fetched, previous_page, p.keep_from, p.now)
    else:
        done = procs.analyse(src, fetched, previous_page, p.keep_from, p.now)
    if not done.scored:  # the body is kept only as the evidence of a mention: don't hold it till saved
        fetched = replace(fetched, body=b"")
    scored = learn(done.scored, p.examples)
    return Collected(src, fetched, scored, done.seen, done.error, time.monotonic() - t0, done.page_text)


def save(engine: Engine, batch: Sequence[Collected], states: dict[str, SourceState], now: datetime) -> list[SourceRun]:
    """Store what several sources gave, with their new states, in one transaction."""
    batch = list(batch)
    new_states = [next_state(c, states.get(c.source.name), now) for c in batch]
    saved = store.save_batch(
        engine,
        [(c.scored, None if c.error else c.fetched, st) for c, st in zip(batch, new_states, strict=True)],
        now,
    )
    refused = [i for i, result in enumerate(saved) if result.error]
    for i in refused:  # the database refused a source's items: that source failed, the others did not
        batch[i] = replace(batch[i], scored=(), error=StoreError(saved[i].error or "refused"))
        new_states[i] = next_state(batch[i], states.get(batch[i].source.name), now)
    if refused:
        store.save_batch(engine, [((), None, new_states[i]) for i in refused], now)
    runs = []
    for c, st, result in zip(batch, new_states, saved, strict=True):
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


def next_state(c: Collected, old: SourceState | None, now: datetime) -> SourceState:
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
