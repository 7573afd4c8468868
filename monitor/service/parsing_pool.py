"""Parsing and scoring in one process per core, while a scan's threads fetch.

feedparser, BeautifulSoup and VADER are pure Python and hold the GIL, so a large scan hands each
body to a process of its own; a small scan (fewer than PROCESS_POOL_MIN_SOURCES sources, or one
core) parses in its threads. A process that dies (a parser crashing on a hostile body, the OOM
killer) fails only the sources in it at that moment; a new pool takes the rest.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING

from monitor.config import Source
from monitor.errors import ParseError
from monitor.models import FetchResult
from monitor.service.classify import Classifier

if TYPE_CHECKING:
    from monitor.service.analysis import Analysed

PROCESS_POOL_MIN_SOURCES = 16
_worker_classifier: Classifier | None = None  # set once in each parsing process


def parsing_pool(classifier: Classifier, n_sources: int) -> contextlib.AbstractContextManager[ParsingProcesses | None]:
    """The processes to parse in for a scan of `n_sources`, or None to parse in the scan's threads."""
    cores = os.cpu_count() or 1
    if cores < 2 or n_sources < PROCESS_POOL_MIN_SOURCES or "fork" not in mp.get_all_start_methods():
        return contextlib.nullcontext()
    return ParsingProcesses(classifier, cores)


class ParsingProcesses:
    def __init__(self, classifier: Classifier, cores: int):
        self._classifier, self._cores = classifier, cores
        self._lock = threading.Lock()
        # fork: a worker starts as a copy of this process (its modules imported, its config
        # parsed) instead of importing and unpickling them afresh. The workers fork when the first
        # body arrives (a scan where every source answers 304 forks none), so the scan's threads
        # are running then: a worker touches none of their locks. It only analyses, with the
        # parsers and the classifier built before the fork (`_get_ready`), so it never takes the
        # classifier's lock; the import lock is held across the fork by Python, and logging's
        # locks are renewed in the child.
        self._pool = self._start("fork")
        self._ready = False

    def _start(self, method: str) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._cores,
            mp_context=mp.get_context(method),
            initializer=_init_worker,
            initargs=(self._classifier,),
        )

    def analyse(
        self, src: Source, fetched: FetchResult, previous_page: str | None, keep_from: datetime, now: datetime
    ) -> Analysed:
        if not self._ready:
            self._get_ready()
        pool = self._pool
        try:
            return pool.submit(_analyse_in_worker, src, fetched, previous_page, keep_from, now).result()
        except BrokenProcessPool:
            from monitor.service.analysis import Analysed

            with self._lock:
                if self._pool is pool:  # the first thread to see it replaces it
                    pool.shutdown(wait=False)
                    # spawn, not fork: threads run here now, and a fork would copy a lock one holds
                    self._pool = self._start("spawn")
            return Analysed(
                error=ParseError(
                    "a parsing process died (this source's body or another's crashed it); "
                    "the source is read again on the next run"
                )
            )

    def _get_ready(self) -> None:
        """Before the first body forks the workers: the parsers imported and the classifier built
        here, once, so that every worker starts with them instead of each building its own at the
        same time (0.25 s of CPU each, on the cores the fetching needs)."""
        with self._lock:
            if not self._ready:
                from monitor.service import analysis  # noqa: F401  (imported for the workers)

                self._classifier.build()
                self._ready = True

    def __enter__(self) -> ParsingProcesses:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self._pool.shutdown(cancel_futures=kind is not None)


def _init_worker(classifier: Classifier) -> None:
    global _worker_classifier
    _worker_classifier = classifier
    # Ctrl-C reaches the whole process group: the scan stops its workers itself, without a
    # traceback from each.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _analyse_in_worker(
    src: Source, fetched: FetchResult, previous_page: str | None, keep_from: datetime, now: datetime
) -> Analysed:
    from monitor.service import analysis  # loaded before the fork (a spawned worker loads it here)

    assert _worker_classifier is not None, "the pool's initializer sets it"
    return analysis.analyse(_worker_classifier, src, fetched, previous_page, keep_from, now)
