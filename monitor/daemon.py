"""The daemon: APScheduler wiring only. It asks the Monitor what to do and when; it holds no state of its own.

Jobs (APScheduler, memory job store): the tick asks which sources are due (each source's next check
is stored in the database), hands them to a bounded worker pool, and sends the instant alerts of
what the finished runs stored; the digest at [alerts] digest_at; the take-down re-checks and the
outbox every five minutes; retention daily. The database is the one truth that `scan`, the
daemon and a restart share, so a restart re-fetches nothing early and a source missed while the
daemon was down runs once.

With [web] listen set, the review desk is served in the same process (waitress's threads), on
the same Monitor: a school runs one service.

Signals: SIGTERM and SIGINT stop it (runs in flight get a few seconds, then are abandoned: each run
writes in one transaction, so the database stays consistent and the source simply runs again at the
next start); SIGHUP re-reads sources.toml, keeping the old config when the new one is broken.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING

from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger

from monitor import config
from monitor.config import Config
from monitor.errors import ConfigError
from monitor.service import Monitor

if TYPE_CHECKING:
    from monitor.web.server import DeskServer

log = logging.getLogger("monitor.daemon")

WORKERS = 8  # sources fetched at once; a stuck one holds one worker until its timeout
STOP_GRACE = 3.0  # seconds runs in flight get to finish on SIGTERM
OUTBOX_MINUTES = 5  # the outbox retried and the take-down re-checks run (each re-check is due every 6h)
RETENTION_HOURS = 24


def run(monitor: Monitor) -> int:
    """Run until SIGTERM or SIGINT; return the exit status."""
    daemon = Daemon(monitor)
    with _signals(daemon):
        daemon.start()
        daemon.serve()
        daemon.stop()
    return 0


class _DailyTrigger(BaseTrigger):
    """Fires at times `service` computes (schedule.py, unit-tested across the clock changes):
    `first` on start, then `following(previous fire time)`."""

    def __init__(self, first: datetime, following: Callable[[datetime], datetime]):
        self.first = first
        self.following = following

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime:
        return self.first if previous_fire_time is None else self.following(previous_fire_time)


class Daemon:
    def __init__(self, monitor: Monitor):
        self.monitor = monitor
        _ = monitor.engine  # opened now: a database that cannot be opened stops the start, not a job
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="source")
        self.running: dict[str, Future] = {}  # source name -> its run in flight
        self.lock = threading.Lock()  # guards monitor swaps, `running` and `stopping`
        self.stopping = False
        self.wake = threading.Event()  # set by the signal handlers
        self.stop_requested = False
        self.reload_requested = False
        self.desk: DeskServer | None = None  # the review desk, when [web] listen is set
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": JobExecutor(4)},
            # A job late for any reason (a suspended laptop) runs once, as soon as it can.
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    # ---- lifecycle (main thread)

    def start(self) -> None:
        # APScheduler logs every run at INFO: once a second is noise next to our one line per source run.
        logging.getLogger("apscheduler").setLevel(max(logging.WARNING, log.getEffectiveLevel()))
        m = self.monitor
        if m.cfg.web.listen:  # first: an address that cannot be had stops the start, before any job
            from monitor.web.server import DeskServer  # Flask and waitress only when the desk is served

            self.desk = DeskServer(m).start()
        now = m.now()
        self.scheduler.add_job(self._tick, "interval", seconds=m.tick_seconds(), id="tick", next_run_time=now)
        self.scheduler.add_job(self._outbox, "interval", minutes=OUTBOX_MINUTES, id="outbox", next_run_time=now)
        self.scheduler.add_job(self._retention, "interval", hours=RETENTION_HOURS, id="retention", next_run_time=now)
        self._schedule_digest()
        self.scheduler.start()
        log.info(
            "daemon started: %d source(s), %d enabled, a tick every %gs, %d workers",
            len(m.cfg.sources),
            sum(s.enabled for s in m.cfg.sources),
            m.tick_seconds(),
            WORKERS,
        )

    def serve(self) -> None:
        """Wait for signals: reload on SIGHUP, return on SIGTERM/SIGINT."""
        while True:
            self.wake.wait()
            self.wake.clear()
            if self.stop_requested:
                return
            if self.reload_requested:
                self.reload_requested = False
                self.reload()

    def request_stop(self) -> None:
        self.stop_requested = True
        self.wake.set()

    def request_reload(self) -> None:
        self.reload_requested = True
        self.wake.set()

    def reload(self) -> None:
        old = self.monitor.cfg
        try:
            new = config.load(old.path)
        except ConfigError as e:
            log.error("reload failed, still running the previous configuration:\n%s", e)
            return
        with self.lock:
            self.monitor = self.monitor.with_config(new)
        if self.desk is not None:
            self.desk.set_monitor(self.monitor)
        if new.database_url != old.database_url:
            log.warning("[storage] database changed: it takes effect at the next start")
        if new.web.listen != old.web.listen:
            log.warning("[web] listen changed: it takes effect at the next start")
        self.scheduler.reschedule_job("tick", trigger="interval", seconds=self.monitor.tick_seconds())
        self._schedule_digest()
        log.info("reloaded %s: %s", new.path, describe_changes(old, new))

    def stop(self) -> None:
        log.info("stopping")
        deadline = time.monotonic() + STOP_GRACE
        if self.desk is not None:  # no new request; those in flight get the grace time
            self.desk.stop(timeout=STOP_GRACE)
        self.scheduler.shutdown(wait=False)
        with self.lock:
            self.stopping = True
            in_flight = dict(self.running)
        self.pool.shutdown(wait=False, cancel_futures=True)
        _, unfinished = wait(in_flight.values(), timeout=STOP_GRACE)
        self.monitor.clear_heartbeat()
        if not unfinished:
            self.monitor.close()  # ends the fetcher's watchdog thread, so nothing is left to wait for
        stragglers = _join_others(deadline)
        if stragglers:
            # A fetch or an email waiting on a slow server would keep the process alive until its own
            # timeout. Each run writes in one transaction, so leaving now keeps the database consistent.
            names = sorted(name for name, f in in_flight.items() if not f.done())
            log.warning(
                "abandoning what is still in flight after %gs (%s); an unfinished source runs again at the next start",
                STOP_GRACE,
                ", ".join(names or stragglers),
            )
            logging.shutdown()
            os._exit(0)
        if unfinished:
            self.monitor.close()
        log.info("stopped")

    # ---- jobs (scheduler threads)

    def _tick(self) -> None:
        with self.lock:
            if self.stopping:
                return
            m, running = self.monitor, set(self.running)
            # Under the lock, so no heartbeat can follow the one `stop` clears.
            m.heartbeat()
        for src in m.due_sources(running=running, paced=True):
            self._submit(m, src)
        # Mentions stored by the runs that finished since the last tick (or by `add`) wait as
        # pending alerts; one place decides them, so a pile-on is counted once.
        m.alert_new()

    def _submit(self, m: Monitor, src: config.Source) -> None:
        with self.lock:
            if self.stopping or src.name in self.running:
                return
            future = self.pool.submit(m.run_source, src)
            self.running[src.name] = future
        future.add_done_callback(functools.partial(self._done, src.name))

    def _done(self, name: str, future: Future) -> None:
        with self.lock:
            self.running.pop(name, None)
        if not future.cancelled() and future.exception() is not None:
            e = future.exception()
            log.error("source %r: internal error: %s: %s", name, e.__class__.__name__, e, exc_info=e)

    def _digest(self) -> None:
        self.monitor.send_digest()

    def _outbox(self) -> None:
        """The take-down re-checks that are due, then the outbox (a `removed` confirmed meanwhile
        reaches the next digest)."""
        m = self.monitor
        m.follow_up()
        m.flush_outbox()

    def _retention(self) -> None:
        self.monitor.apply_retention()

    def _schedule_digest(self) -> None:
        m = self.monitor
        first = m.next_digest_at()
        trigger = _DailyTrigger(first, lambda previous: m.next_digest_at(after=previous))
        self.scheduler.add_job(self._digest, trigger, id="digest", replace_existing=True)
        log.info("next digest at %s", first.astimezone(m.cfg.alerts.tz).strftime("%Y-%m-%d %H:%M %Z"))


def describe_changes(old: Config, new: Config) -> str:
    """'2 source(s); added: X; removed: Y; changed: Z' for the reload log line."""
    before = {s.name: s for s in old.sources}
    after = {s.name: s for s in new.sources}
    parts = [f"{len(after)} source(s)"]
    for word, names in (
        ("added", [n for n in after if n not in before]),
        ("removed", [n for n in before if n not in after]),
        ("changed", [n for n in after if n in before and after[n] != before[n]]),
    ):
        if names:
            parts.append(f"{word}: {', '.join(names)}")
    return "; ".join(parts)


def _join_others(deadline: float) -> list[str]:
    """Wait until `deadline` for the other threads (source workers, scheduler jobs); name those left.

    Daemon threads count too: concurrent.futures joins its workers at exit whatever their flag.
    """
    left = []
    for t in threading.enumerate():
        if t is threading.current_thread():
            continue
        t.join(max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            left.append(t.name)
    return left


@contextmanager
def _signals(daemon: Daemon) -> Iterator[None]:
    wanted = {signal.SIGTERM: daemon.request_stop, signal.SIGINT: daemon.request_stop}
    if hasattr(signal, "SIGHUP"):  # not on Windows
        wanted[signal.SIGHUP] = daemon.request_reload
    previous = {sig: signal.signal(sig, _handler(act)) for sig, act in wanted.items()}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _handler(act: Callable[[], None]) -> Callable[[int, FrameType | None], None]:
    return lambda _sig, _frame: act()
