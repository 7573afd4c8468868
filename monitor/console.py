"""What the command line prints for people. No business logic: plain data in, lines out.

Every line goes through `say`, which drops control characters: a title from the internet holding
`ESC[2K` (erase the line) or an OSC 52 sequence (write the clipboard) reaches the terminal as
plain text. Times are shown one way: local time in the school's zone, with the zone's name.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, TextIO

from monitor.channels import EMAIL, shown_of
from monitor.config import format_duration
from monitor.models import ScanSummary, SourceState, StoredItem
from monitor.text import excerpt, local_time, printable, redact_url, redact_urls

if TYPE_CHECKING:
    from monitor.service.health import Status
    from monitor.service.intake import Mention
    from monitor.store import OutboxEntry

LISTING_EXCERPT = 100


def say(text: str = "", file: TextIO | None = None) -> None:
    """Print one line (or several) with every control character but newlines and tabs removed."""
    print(printable(text), file=file or sys.stdout)


def warn(text: str) -> None:
    say(text, file=sys.stderr)


def when(moment: datetime | None, tz: tzinfo, missing: str = "never") -> str:
    return local_time(moment, tz, missing=missing)


def source_health(st: SourceState, tz: tzinfo) -> str:
    """Last success, consecutive failures and the last error, and BROKEN once failures are permanent."""
    health = f"last success {when(st.last_success, tz)}"
    if st.broken:
        health = f"BROKEN ({st.permanent_failures} permanent failures in a row; fix or disable it); {health}"
    if st.failures:
        health += (
            f"; failing {st.failures}x, last error {when(st.last_error_at, tz)}: {redact_urls(st.last_error or '')}"
        )
    elif st.last_error and st.last_error_at:
        health += f"; last error {when(st.last_error_at, tz)}: {redact_urls(st.last_error)}"
    return health


def sources(cfg_sources: Iterable, states: dict[str, SourceState], tz: tzinfo) -> None:
    for s in cfg_sources:
        st = states.get(s.name)
        off = "" if s.enabled else " (disabled)"
        say(f"  {s.name}{off} [{s.type}, every {format_duration(s.interval)}] {redact_url(s.url)}")
        say(f"    {'never run' if st is None else source_health(st, tz)}")


def scan_summary(summary: ScanSummary) -> None:
    runs = summary.runs
    width = max([len(r.source) for r in runs] + [6])
    say(f"{'source':<{width}}  {'seen':>5} {'new':>5} {'mentions':>8}  result")
    for r in runs:
        result = f"ERROR: {redact_urls(r.error)}" if r.error else ("not modified" if r.not_modified else "ok")
        if r.broken:
            result = "BROKEN " + result
        say(f"{r.source:<{width}}  {r.seen:>5} {r.new:>5} {r.mentions:>8}  {result}")
    new = sum(r.new for r in runs)
    secs = (summary.finished - summary.started).total_seconds() if summary.finished and summary.started else 0
    say(f"{len(runs)} source(s), {new} new mention(s), {len(summary.failed)} failed, {secs:.1f}s")
    for item_id in summary.removed:
        say(f"item #{item_id}: the post has gone (re-checked); `removed` added to its review log")


def item_lines(it: StoredItem, tz: tzinfo) -> None:
    """One mention in a listing: when it was first seen (what the list is sorted by)."""
    staff = " staff" if it.mentions_staff else ""
    say(f"#{it.id:<5} {when(it.first_seen, tz)}  {it.label:<9} {it.severity:<6}{staff} [{it.status}] {it.source}")
    say(f"       {excerpt(it.title or it.text, LISTING_EXCERPT)}")
    if it.url:
        say(f"       {redact_url(it.url)}")


def mention(m: Mention, tz: tzinfo) -> None:
    it = m.item
    say(f"#{it.id} {it.label} {it.severity}{' (names staff)' if it.mentions_staff else ''} [{it.status}]")
    if it.text_label and it.text_label != it.label:
        say(f"edited:     the post now reads as {it.text_label}; the label it had is kept as evidence")
    if it.corrected_by:
        say(f"corrected:  by {it.corrected_by}")
    say(f"source:     {it.source}\nurl:        {redact_url(it.url) or '-'}\nauthor:     {it.author or '-'}")
    say(f"published:  {when(it.published, tz, '-')}\nfirst seen: {when(it.first_seen, tz, '-')}")
    say(f"sentiment:  {it.sentiment:+.3f}\nflags:      {', '.join(it.flags) or '-'}")
    if it.title:
        say(f"title:      {it.title}")
    say(f"\n{it.text}\n")
    say(f"evidence: {len(m.evidence)} version(s)")
    for ev in m.evidence:
        body = f"body {len(ev.body):,} bytes sha256 {ev.body_sha256}" if ev.body is not None else "no body"
        say(f"  {ev.version}. {when(ev.fetched_at, tz, '-')} {redact_url(ev.url)}")
        say(f"     fragment sha256 {ev.sha256}; {body}")
    say(f"review log: {len(m.reviews)} entr{'y' if len(m.reviews) == 1 else 'ies'}")
    for r in m.reviews:
        say(f"  {when(r.at, tz, '-')} {r.by}: {r.summary}" + (f" — {r.note}" if r.note else ""))


def status(st: Status, tz: tzinfo) -> None:
    size = f" ({st.database_bytes / 1024**2:.1f} MB)" if st.database_bytes is not None else ""
    say(f"database  {st.database}{size}")
    if st.heartbeat is None:
        say("daemon    not running")
    else:
        age = int((st.checked_at - st.heartbeat).total_seconds())
        say(f"daemon    last heartbeat {when(st.heartbeat, tz)} ({age}s ago)")
    say(f"digest    last sent {when(st.last_digest, tz)}")
    say(f"outbox    {st.unsent} unsent message(s)")
    if st.sources:
        say("sources")
    for s in st.sources:
        say(f"  {s.name}: {'never run' if s.last_checked is None else source_health(s, tz)}")
    say("health    " + ("OK" if st.healthy else "UNHEALTHY: " + "; ".join(st.problems)))


def outbox_entry(e: OutboxEntry, tz: tzinfo) -> None:
    say(f"#{e.id:<5} {when(e.created_at, tz)}  {e.kind:<7} {e.subject}")
    if e.channel == EMAIL:
        say(f"       email to {', '.join(e.recipients)}")
    else:  # a channel, shown by scheme and host (the URL with its secret is not stored)
        say(f"       channel {shown_of(e.channel)}")
    if e.not_before:
        say(f"       held until {when(e.not_before, tz)} (quiet hours)")
    if e.attempts:
        nxt = f", next {when(e.next_attempt, tz)}" if e.next_attempt else ""
        say(f"       {e.attempts} attempt(s){nxt}; last error: {e.last_error}")


def waiting(n: int) -> str:
    """What the user needs to hear about unsent messages: queued, not lost, and not a failure."""
    if not n:
        return ""
    return (
        f"; {n} message(s) in the outbox not sent yet (held or the server failed): "
        "they are kept and retried, see `school-monitor outbox`"
    )


class Progress:
    """A scan's progress bar on a terminal (tqdm); piped output stays clean."""

    def __init__(self, total: int):
        from tqdm import tqdm

        self._bar = tqdm(total=total, unit="source", file=sys.stderr, leave=False)

    @classmethod
    def on_terminal(cls, total: int) -> Progress | None:
        return cls(total) if total > 1 and sys.stderr.isatty() else None

    def step(self, run: object) -> None:
        self._bar.set_postfix_str(printable(getattr(run, "source", ""))[:30], refresh=False)
        self._bar.update(1)

    def note(self, text: str) -> None:
        """A word while the bar waits (e.g. for a host's min_gap)."""
        self._bar.set_postfix_str(printable(text)[:60])

    def close(self) -> None:
        self._bar.close()
