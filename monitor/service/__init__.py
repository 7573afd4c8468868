"""The service object: everything the command line, the daemon and the desk can do, as the methods
of one `Monitor`, made once from a config. It holds the config, the database, the clock, the
fetcher and the classifier; each concern lives in a module of its own behind it:

    scanning.py      a pass over the sources: fetch -> parse -> mentions -> score -> store
    analysis.py      one fetched body -> its mentions, scored (parsing_pool.py: in one process per core)
    classify.py      is a text about the school, and what is it (the mention finder and the scorer)
    followups.py     re-check the posts the school asked to be taken down
    alerting.py      instant alerts (lanes, quiet hours, pile-ons) and sending the outbox
    outgoing.py      the outbox rows of a rendered email or channel note
    digest.py        the daily digest
    intake.py        review steps, label corrections, mentions added by hand
    second_opinion.py  the optional AI second opinion on new mentions ([scoring.ai]): it may only raise a label
    reports.py       the report and the evidence export
    health.py        status, retention
    checks.py        what `check` finds before it would fail later
    accounts.py      the review desk's users, passwords, sign-in throttling and sessions
    desk.py          the desk's queue, sources' health and evidence downloads

Only the Monitor reads the clock (`clock`, replaceable in tests); every module below it takes
`now`. The modules never import each other's work: the Monitor hands plain dataclasses from one
to the next. They are imported when first used, so `score`, `check` or `--help` never load
SQLAlchemy or requests (tests/test_lazy_imports.py keeps that true).
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TextIO, TypeVar

from monitor import schedule
from monitor.config import Config, Source
from monitor.errors import MessageNotFound, StoreError, UnknownSources
from monitor.models import (
    AlertResult,
    Delivery,
    DigestResult,
    Email,
    FlushResult,
    QueuePage,
    QueueQuery,
    ReportData,
    Review,
    ScanSummary,
    Score,
    SourceRun,
    SourceState,
    StoredItem,
    User,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from monitor.channels import Checked
    from monitor.fetch import Fetcher
    from monitor.service.accounts import DeskSession, SignedIn
    from monitor.service.classify import Classifier
    from monitor.service.desk import SourceRow
    from monitor.service.health import Status
    from monitor.service.intake import Added, Mention
    from monitor.service.second_opinion import SecondOpinion
    from monitor.store import OutboxEntry

REPORT_FORMATS = ("html", "csv", "json")
T = TypeVar("T")
log = logging.getLogger("monitor")


def utc_now() -> datetime:
    return datetime.now(UTC)


def _module(name: str):  # type: ignore[no-untyped-def]
    """A concern module, imported at first use (import_module takes the import lock: thread-safe)."""
    return importlib.import_module(f"monitor.service.{name}")


def _store():  # type: ignore[no-untyped-def]
    """The store (SQLAlchemy), imported at first use."""
    return importlib.import_module("monitor.store")


class Monitor:
    """One school's monitor. Thread-safe for what the daemon and the desk do at once."""

    def __init__(
        self,
        cfg: Config,
        *,
        clock: Callable[[], datetime] = utc_now,
        engine: Engine | None = None,
        fetcher: Fetcher | None = None,
    ):
        self.cfg = cfg
        self.clock = clock
        self._engine = engine
        self._fetcher = fetcher
        self._classifier: Classifier | None = None
        self._lock = threading.Lock()
        self.on_wait: Callable[[str, float], None] | None = None  # told when a fetch waits for a host

    # ------------------------------------------------------------ what it holds

    @property
    def school(self) -> str:
        return self.cfg.school.name

    def now(self) -> datetime:
        return self.clock()

    @property
    def engine(self) -> Engine:
        """The database, opened (and created) at first use."""
        if self._engine is None:
            from monitor import store

            with self._lock:
                if self._engine is None:
                    self._engine = store.connect(self.cfg.database_url)
        return self._engine

    def has_database(self) -> bool:
        """False for a SQLite file not created yet (reading commands must not create one)."""
        url = self.cfg.database_url
        if self._engine is not None or not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
            return True
        return os.path.exists(url[len("sqlite:///") :])

    @property
    def fetcher(self) -> Fetcher:
        """One fetcher for every fetch of this monitor (scans, the daemon, re-checks, add by hand),
        so per-host pacing ([hosts."…"] min_gap) holds across all of them."""
        if self._fetcher is None:
            from monitor import fetch

            with self._lock:
                if self._fetcher is None:
                    self._fetcher = fetch.Fetcher(host_gaps=self.cfg.host_gaps, on_wait=self._waiting, clock=self.clock)
        return self._fetcher

    def _waiting(self, host: str, seconds: float) -> None:
        """A fetch waits for its host's min_gap: say so (a scan's progress shows it)."""
        if seconds >= 1:
            log.info("waiting %.0fs for %s (its min_gap)", seconds, host)
        if self.on_wait is not None:
            self.on_wait(host, seconds)

    @property
    def classifier(self) -> Classifier:
        if self._classifier is None:
            with self._lock:
                if self._classifier is None:
                    self._classifier = _module("classify").Classifier(self.cfg)
        assert self._classifier is not None
        return self._classifier

    def with_config(self, cfg: Config) -> Monitor:
        """After a reload: the new config (aliases, sources), the same database, fetcher and clock."""
        from monitor import templating

        templating.forget()  # template overrides added since are read
        same_pacing = cfg.host_gaps == self.cfg.host_gaps
        return Monitor(cfg, clock=self.clock, engine=self._engine, fetcher=self._fetcher if same_pacing else None)

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------ checking the setup

    def check(self) -> tuple[list[str], list[str]]:
        """What would fail later, found now: every template compiles (the school's overrides in
        alerts/ included), [smtp] ca_file is a readable CA file, every source's JMESPath expression
        and CSS selector compiles. Returns (the templates used,
        warnings such as a password variable not set here); raises ConfigError with every problem."""
        return _module("checks").check(self.cfg)

    # ------------------------------------------------------------ sources and scanning

    def select_sources(self, names: Sequence[str] = ()) -> list[Source]:
        """The sources named (every enabled one when none is named)."""
        if not names:
            return [s for s in self.cfg.sources if s.enabled]
        known = {s.name: s for s in self.cfg.sources}
        if missing := [n for n in names if n not in known]:
            raise UnknownSources(missing)
        return [known[n] for n in names]

    def source_states(self) -> dict[str, SourceState]:
        """Each source's stored health; empty before the first scan (no database is created for it)."""
        if not self.has_database():
            return {}
        from monitor import store

        return store.load_states(self.engine)

    def classify(self, text: str, title: str = "", all_mentions: bool = False) -> Score:
        """Is a text about the school, and what is it (`school-monitor score`); nothing is stored."""
        return self.classifier.classify(text, title, all_mentions)

    def scan(
        self,
        names: Sequence[str] = (),
        *,
        since: datetime | None = None,
        progress: Callable[[SourceRun], None] | None = None,
        alerts: bool = True,
    ) -> ScanSummary:
        """One pass over the sources now, then the AI second opinion on the new mentions (when
        [scoring.ai] is set), the take-down re-checks and the instant alerts.

        `since`: an ad-hoc scan that re-reads every source in full (no conditional GET) and keeps
        items published since that date; without it, items older than [storage] keep_days are
        ignored (retention would delete them anyway). `alerts=False` stores without instant alerts
        (the digest still lists what was found).
        """
        sources = self.select_sources(names)
        started = self.now()
        scanning, store = _module("scanning"), _store()
        runs = scanning.scan(self._pass(since, started), sources, self.clock, progress)
        new_ids = [i for r in runs for i in r.new_ids]
        self._safely(lambda: self.second_opinion(new_ids), None)  # before their alerts are decided
        no_reviews: list[Review] = []
        removed = self._safely(self.follow_up, no_reviews)  # an alert never depends on an unrelated step
        summary = ScanSummary(
            runs=tuple(runs),
            started=started,
            finished=self.now(),
            removed=tuple(r.item_id for r in removed),
        )
        if not alerts:
            store.clear_pending(self.engine, [i for r in runs for i in r.new_ids])
            return summary
        sent = self.alert_new()
        return replace(summary, alerts_queued=sent.queued, emails_waiting=sent.flushed.waiting)

    def _safely(self, step: Callable[[], T], fallback: T) -> T:
        """Run a step of a larger job in its own error boundary: logged, never fatal to the job."""
        try:
            return step()
        except Exception:
            log.exception("%s failed; the rest of the work goes on", getattr(step, "__name__", "a step"))
            return fallback

    def run_source(self, src: Source) -> SourceRun:
        """One source on its own, as the daemon's workers run it, with the AI second opinion on
        its new mentions (its alerts are the tick's)."""
        now = self.now()
        run = _module("scanning").run_one(self._pass(None, now), src, self.clock)
        self.second_opinion(run.new_ids)
        return run

    def _pass(self, since: datetime | None, now: datetime):  # type: ignore[no-untyped-def]
        keep_from = since or now - timedelta(days=self.cfg.storage.keep_days)
        examples = None
        if self.cfg.scoring.learn_from_corrections:
            examples = _module("classify").examples(_store().corrected(self.engine))
        return _module("scanning").Pass(
            self.engine, self.fetcher, self.classifier, keep_from, since is not None, now, examples
        )

    def due_sources(self, running: Iterable[str] = (), *, paced: bool = False) -> list[Source]:
        """The enabled sources whose stored next check has come, less those in flight (a source never
        overlaps itself). A source due many times over while nothing ran is due once. `paced`: less
        those whose host's min_gap has not passed yet (the daemon takes them at a later tick rather
        than have a worker wait)."""
        running = set(running)
        candidates = [s for s in self.cfg.sources if s.enabled and s.name not in running]
        due = set(_store().due_sources(self.engine, [s.name for s in candidates], self.now()))
        ready = [s for s in candidates if s.name in due]
        return [s for s in ready if self.fetcher.next_allowed(s.url) <= 0] if paced and self.cfg.hosts else ready

    def tick_seconds(self) -> float:
        """How often the daemon's tick asks what is due, from the shortest enabled interval."""
        return schedule.tick_period(s.interval for s in self.cfg.sources if s.enabled).total_seconds()

    def follow_up(self) -> list[Review]:
        """Re-check the posts whose take-down is due; the `removed` entries added."""
        return _module("followups").run(self.cfg, self.engine, self.fetcher, self.now())

    # ------------------------------------------------------------ mentions and what people do

    def items(
        self, *, since: datetime | None = None, labels: Iterable[str] = (), statuses: Iterable[str] = ()
    ) -> list[StoredItem]:
        """Stored mentions, newest first."""
        return _store().list_items(self.engine, since=since, labels=labels, statuses=statuses)

    def mention(self, item_id: int) -> Mention:
        """One mention with its review log and evidence versions."""
        return _module("intake").mention(self.engine, item_id)

    def review(self, item_id: int, *, status: str, action: str | None = None, note: str = "", by: str) -> Review:
        """Append one step to a mention's review log."""
        return _module("intake").review(
            self.engine, item_id, status=status, action=action, note=note, by=by, now=self.now()
        )

    def correct_label(self, item_id: int, *, label: str, note: str = "", by: str) -> Review:
        """A person's correction of a mention's label (logged with the old one); a graver label is
        alerted as that label says."""
        entry = _module("intake").correct_label(self.engine, item_id, label=label, note=note, by=by, now=self.now())
        self.alert_new()
        return entry

    def add_mention(
        self,
        url: str,
        *,
        text: str = "",
        title: str = "",
        seen_on: str = "",
        note: str = "",
        by: str,
        screenshot: bytes | None = None,
        public_only: bool = False,
    ) -> tuple[Added, AlertResult]:
        """A mention staff saw themselves, stored and scored like any other, and alerted at once
        when its label calls for it (as a scanned one would be). `public_only` (the desk): refuse a
        private, loopback or link-local address outright."""
        added = _module("intake").add(
            self.engine,
            self.classifier,
            self.fetcher,
            url,
            text=text,
            title=title,
            seen_on=seen_on,
            note=note,
            by=by,
            now=self.now(),
            screenshot=screenshot,
            public_only=public_only,
        )
        opinion = self.second_opinion([added.item.id]) if added.new else None
        if opinion is not None and opinion.raised:
            added = replace(added, item=_store().get_item(self.engine, added.item.id) or added.item)
        return added, self.alert_new()

    def export_evidence(self, item_id: int, out_dir: Path) -> list[Path]:
        """Every evidence version of a mention written under out_dir; the manifests written."""
        return _module("reports").export_evidence(self.engine, item_id, out_dir)

    # ------------------------------------------------------------ the AI second opinion (optional)

    def second_opinion(self, item_ids: Sequence[int]) -> SecondOpinion | None:
        """Ask [scoring.ai] about these stored mentions (those neither extremism nor abuse, nor
        corrected by a person) and raise the labels its answers call graver; their instant alerts
        are decided again. None when [scoring.ai] is absent (nothing asked, nothing imported).
        Never raises for the endpoint's failures: the rules' labels stand."""
        if self.cfg.scoring.ai is None or not item_ids:
            return None
        return _module("second_opinion").run(self.cfg, self.engine, item_ids, self.now())

    # ------------------------------------------------------------ alerts, digest and outbox

    def alert_new(self) -> AlertResult:
        """Queue the instant alerts for what was stored since the last call, then send what is due."""
        alerting = _module("alerting")
        queued = alerting.queue_alerts(self.cfg, self.engine, self.now())
        return replace(queued, flushed=self.flush_outbox())

    def flush_outbox(self, *, force: bool = False, held: bool = False) -> FlushResult:
        """Send every message (email and channels) whose hold and back-off have passed; failures
        stay queued. `force` (`outbox --send`): every one waiting for a retry, whatever its
        back-off; `held`: those quiet hours hold as well."""
        return _module("alerting").flush(self.cfg, self.engine, self.now(), force=force, held=held)

    def outbox(self) -> list[OutboxEntry]:
        """The messages waiting to be sent, of every channel."""
        return _store().unsent_emails(self.engine)

    def drop_message(self, outbox_id: int, *, note: str, by: str) -> OutboxEntry:
        """Give up one unsent message (a channel taken out of the config can never take it): it is
        kept, marked dropped by whom and why, and no longer sent or counted as waiting."""
        dropped = _store().drop_message(
            self.engine, outbox_id, self.now(), f"dropped by {by}" + (f": {note}" if note else "")
        )
        if dropped is None:
            raise MessageNotFound(outbox_id)
        return dropped

    def render_digest(self, since: datetime | None = None) -> Email | None:
        """The digest as it would be sent now (None: nothing to say); marks nothing."""
        return _module("digest").render(self.cfg, self.engine, since, self.now())

    def send_digest(self, since: datetime | None = None) -> DigestResult:
        """Queue the digest (its mentions marked digested), then send what is due."""
        result = _module("digest").queue(self.cfg, self.engine, since, self.now())
        return replace(result, flushed=self.flush_outbox()) if result.queued else result

    def next_digest_at(self, after: datetime | None = None) -> datetime:
        """When the daemon sends the digest next: the next [alerts] digest_at after the one it sent
        at `after`; on start (no `after`), at once if a scheduled digest was missed while it was down."""
        at, tz = self.cfg.alerts.digest_at, self.cfg.alerts.tz
        if after is not None:
            return schedule.next_daily(after, at, tz)
        return schedule.next_digest(self.now(), at, tz, _store().last_digest(self.engine))

    # ------------------------------------------------------------ channels (Teams, Slack, ntfy, webhooks)

    def check_channels(self) -> Checked:
        """Every channel URL checked by Apprise, each as shown (scheme and host); nothing is sent."""
        from monitor import channels

        return channels.check(self.cfg)

    def notify_test(self) -> list[Delivery]:
        """A test message to every email recipient (one email) and every channel, sent now (not
        queued); what each destination said."""
        return _module("alerting").test_destinations(self.cfg, self.now())

    # ------------------------------------------------------------ the report

    def report_period(self, since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
        return _module("reports").period(since, until, self.now())

    def report_data(self, since: datetime, until: datetime, flagged_limit: int | None = None) -> ReportData:
        return _module("reports").data(self.cfg, self.engine, since, until, self.now(), flagged_limit)

    def default_report_path(self, since: datetime, until: datetime, fmt: str) -> Path:
        return _module("reports").default_path(self.cfg, since, until, fmt)

    def write_report(
        self, out: TextIO, *, fmt: str = "html", since: datetime | None = None, until: datetime | None = None
    ) -> int:
        """The report in one format; the number of mentions in the period."""
        since, until = self.report_period(since, until)
        return _module("reports").write(self.cfg, self.engine, out, fmt, since, until, self.now())

    # ------------------------------------------------------------ health and upkeep

    def status(self) -> Status:
        health = _module("health")
        if not self.has_database():
            return health.status(self.cfg, None, self.now())
        try:
            return health.status(self.cfg, self.engine, self.now())
        except StoreError as e:
            return health.unreachable(self.cfg, e, self.now())

    def heartbeat(self) -> None:
        """The daemon's tick says it is alive (`status` reads it)."""
        _store().set_heartbeat(self.engine, self.now())

    def clear_heartbeat(self) -> None:
        """The daemon stopped cleanly: no daemon is expected until one starts again."""
        _store().set_heartbeat(self.engine, None)

    def apply_retention(self) -> int:
        """Delete what data protection says not to keep; the mentions deleted."""
        return _module("health").apply_retention(self.cfg, self.engine, self.now())

    # ------------------------------------------------------------ the review desk: accounts, queue, sources

    def users(self) -> list[User]:
        return _module("accounts").users(self.engine)

    def add_user(self, name: str, *, role: str, password: str, email: str = "", by: str) -> User:
        """A desk account (`by`: who made it, for the log)."""
        return _module("accounts").add_user(
            self.engine, name, role=role, email=email, password=password, by=by, now=self.now()
        )

    def remove_user(self, name: str, *, by: str) -> None:
        _module("accounts").remove_user(self.engine, name, by=by)

    def set_password(self, name: str, password: str, *, by: str) -> None:
        """A new password for an account; its sessions end."""
        _module("accounts").set_password(self.engine, name, password, by=by, now=self.now())

    def set_role(self, name: str, role: str, *, by: str) -> User:
        return _module("accounts").set_role(self.engine, name, role, by=by)

    def sign_in(self, name: str, password: str, *, address: str, replaces: str = "") -> SignedIn:
        """A new desk session, unless the name and password are wrong or sign-ins are throttled."""
        return _module("accounts").sign_in(
            self.engine,
            name,
            password,
            address=address,
            now=self.now(),
            hours=self.cfg.web.session_hours,
            replaces=replaces,
        )

    def desk_session(self, token: str) -> DeskSession | None:
        """The live session a cookie's token opens; None when it has ended or never was."""
        return _module("accounts").session(self.engine, token, self.now())

    def sign_out(self, token: str) -> None:
        _module("accounts").sign_out(self.engine, token, self.now())

    def queue(self, query: QueueQuery) -> QueuePage:
        """One page of the review queue: awaiting review first, most severe, then newest."""
        return _module("desk").queue(self.engine, query)

    def queue_sources(self) -> list[str]:
        """Every source a stored mention came from, for the queue's filter."""
        return _store().sources_seen(self.engine)

    def sources_health(self) -> list[SourceRow]:
        """The configured sources with their health, BROKEN ones first."""
        return _module("desk").sources(self.cfg, self.engine if self.has_database() else None)

    def evidence_archive(self, item_id: int) -> bytes:
        """Every evidence version of a mention as a zip of what `evidence` writes."""
        return _module("desk").evidence_archive(self.engine, item_id)

    def evidence_files(self, item_id: int, version: int) -> dict[str, bytes]:
        """One evidence version's files by name, as `evidence` writes them."""
        return _module("desk").evidence_files(self.engine, item_id, version)
