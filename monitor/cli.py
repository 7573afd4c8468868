"""The command line: parses arguments, sets up logging, calls `service`, turns MonitorError into exit codes.

Exit status: 0 success, 2 bad config or arguments, 1 any other failure. Each command is a few
lines over the service layer; what it prints for people goes to stdout, logs go to stderr.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor import __version__, config, service
from monitor.errors import MonitorError, UsageError
from monitor.models import ACTIONS, LABELS, REVIEW_STATUSES

log = logging.getLogger("monitor")


def parse_when(text: str, tz: ZoneInfo) -> datetime:
    """ISO 8601 date or date-time; a date or a time without a zone is in the school's time zone."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{text!r} is not a date; use ISO 8601, e.g. 2026-09-01 or 2026-09-01T08:00") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    return when


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="school-monitor",
        description=("Watch what is said online about a school: collect mentions, score them, alert the managers."),
    )
    p.add_argument("--config", metavar="PATH", help="sources.toml to use (default: $MONITOR_CONFIG or ./sources.toml)")
    p.add_argument(
        "--log-level",
        default=os.environ.get("MONITOR_LOG_LEVEL", "warning"),
        choices=["debug", "info", "warning", "error"],
        help="what to log on stderr (default: warning)",
    )
    p.add_argument("--version", action="version", version=f"school-monitor {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sub.add_parser("check", help="validate sources.toml and the templates; list the sources and their health")

    s = sub.add_parser("scan", help="one pass over the sources now, with a summary")
    s.add_argument("--source", action="append", default=[], metavar="NAME", help="only this source (repeatable)")
    s.add_argument("--since", metavar="DATE", help="re-read sources in full and keep items published since DATE")
    s.add_argument("--no-alerts", action="store_true", help="store what is found but send no instant alerts")

    r = sub.add_parser("run", help="the daemon: every source on its interval, the digest at its time")
    r.add_argument("--once", action="store_true", help="one scan of the sources that are due, then exit")

    s = sub.add_parser("status", help="health: each source's last success and error, unsent emails, the last digest")
    s.add_argument(
        "--quiet", "-q", action="store_true", help="print nothing; exit 1 when unhealthy (for a Docker HEALTHCHECK)"
    )

    s = sub.add_parser("score", help="classify texts without storing them; one JSON object per text")
    s.add_argument("texts", nargs="*", metavar="TEXT")
    s.add_argument("--jsonl", metavar="FILE", help="read objects with id, text and optional title ('-' for stdin)")

    s = sub.add_parser("items", help="list stored mentions, newest first")
    s.add_argument("--label", action="append", default=[], choices=LABELS, help="only this label (repeatable)")
    s.add_argument(
        "--status", action="append", default=[], choices=REVIEW_STATUSES, help="only this review status (repeatable)"
    )
    s.add_argument("--since", metavar="DATE", help="first seen since DATE")
    s.add_argument("--json", action="store_true", help="one JSON object per line")

    s = sub.add_parser("review", help="record a review step for a mention (appended to its log)")
    s.add_argument("id", type=int, metavar="ID")
    s.add_argument("--status", required=True, choices=REVIEW_STATUSES[1:])
    s.add_argument("--action", choices=ACTIONS)
    s.add_argument("--note", default="")
    s.add_argument("--by", default=_user(), help="who did it (default: $USER)")

    s = sub.add_parser("show", help="one mention: its text, flags, evidence and review log")
    s.add_argument("id", type=int, metavar="ID")

    s = sub.add_parser("evidence", help="write a mention's evidence (body as served, fragment, text, manifest)")
    s.add_argument("id", type=int, metavar="ID")
    s.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write into")

    s = sub.add_parser("add", help="record a mention staff saw themselves (a private group, TikTok...)")
    s.add_argument("--url", required=True, help="where it was seen (fetched for evidence when public)")
    s.add_argument("--text", default="", help="what it says (needed when the URL cannot be fetched)")
    s.add_argument("--title", default="")
    s.add_argument("--seen-on", default="", metavar="PLATFORM", help="e.g. Facebook, TikTok (default: the URL's host)")
    s.add_argument("--note", default="", help="goes into its review log as the first entry")
    s.add_argument("--by", default=_user(), help="who saw it (default: $USER)")

    s = sub.add_parser("report", help="the report of mentions and flagged items (HTML, CSV or JSON)")
    s.add_argument("--since", metavar="DATE", help="from DATE (default: 12 months before --until)")
    s.add_argument("--until", metavar="DATE", help="up to DATE, that day included (default: now)")
    s.add_argument("--format", default="html", choices=service.REPORT_FORMATS)
    s.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write it; '-' for stdout (default: data/reports/report-SINCE-to-UNTIL.FORMAT)",
    )

    s = sub.add_parser("digest", help="print the digest of what is new since the last one, or send it")
    s.add_argument("--since", metavar="DATE", help="only mentions first seen since DATE")
    s.add_argument("--send", action="store_true", help="send it (and mark its mentions digested)")

    s = sub.add_parser("outbox", help="list the emails waiting to be sent")
    s.add_argument("--send", action="store_true", help="retry them now")
    return p


def console() -> int:
    """The `school-monitor` command: `main`, then an exit that skips the interpreter's last walk
    over every object (with SQLAlchemy and requests loaded, 50-90 ms of an unchanged re-scan's
    0.6 s). gc.freeze moves them out of the collector's sight; the process ends at once anyway."""
    code = main()
    gc.freeze()
    return code


def _user() -> str:
    return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        cfg = config.load(args.config)
        return COMMANDS[args.command](cfg, args) or 0
    except MonitorError as e:
        print(f"school-monitor: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("school-monitor: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug: say so plainly, keep the traceback for --log-level debug
        log.debug("internal error", exc_info=True)
        print(
            f"school-monitor: internal error: {e.__class__.__name__}: {e} (run with --log-level debug for details)",
            file=sys.stderr,
        )
        return 1


# ---------------------------------------------------------------- commands


def cmd_check(cfg: config.Config, args) -> int:
    for w in cfg.warnings:
        print(f"warning: {w}", file=sys.stderr)
    states = service.source_states(cfg)
    templates = service.check_templates(cfg)
    print(f"{cfg.path}: OK — {cfg.school.name}, {len(cfg.sources)} source(s), {len(templates)} templates")
    for s in cfg.sources:
        st = states.get(s.name)
        health = "never run" if st is None else _health(st)
        off = "" if s.enabled else " (disabled)"
        print(f"  {s.name}{off} [{s.type}, every {_duration(s.interval)}] {s.url}\n    {health}")
    return 0


def _health(st) -> str:
    """Last success, consecutive failures and the last error, and BROKEN once failures are permanent."""
    last = st.last_success.isoformat(timespec="minutes") if st.last_success else "never"
    health = f"last success {last}"
    if st.broken:
        health = f"BROKEN ({st.permanent_failures} permanent failures in a row; fix or disable it); " + health
    if st.failures:
        health += f"; failing {st.failures}x: {st.last_error}"
    elif st.last_error and st.last_error_at:
        health += f"; last error {st.last_error_at.isoformat(timespec='minutes')}: {st.last_error}"
    return health


def cmd_scan(cfg: config.Config, args) -> int:
    since = parse_when(args.since, cfg.alerts.tz) if args.since else None
    sources = service.select_sources(cfg, args.source)
    bar = _progress(len(sources))
    try:
        summary = service.scan(
            cfg, names=args.source, since=since, progress=bar.step if bar else None, alerts=not args.no_alerts
        )
    finally:
        if bar:
            bar.close()
    _print_summary(summary)
    if summary.alerts_queued or summary.emails_waiting:
        print(f"{summary.alerts_queued} alert email(s) queued" + _waiting(summary.emails_waiting))
    return 0


def cmd_run(cfg: config.Config, args) -> int:
    if not args.once:
        from monitor import daemon  # APScheduler is only needed by the daemon

        return daemon.run(cfg)
    engine = service.open_store(cfg)
    due = service.due_sources(cfg, engine=engine)
    if not due:
        print("no source is due")
        return 0
    _print_summary(service.scan(cfg, names=[s.name for s in due], engine=engine))
    return 0


def cmd_status(cfg: config.Config, args) -> int:
    """Exit 1 when unhealthy (service.status says when), so `status --quiet` can be a HEALTHCHECK."""
    st = service.status(cfg)
    if not args.quiet:
        _print_status(st, cfg.alerts.tz)
    return 0 if st.healthy else 1


def cmd_score(cfg: config.Config, args) -> int:
    """A bad line of --jsonl is named on stderr and skipped; the others are scored (exit 2 at the end)."""
    if not args.jsonl and not args.texts:
        raise UsageError("give one or more TEXT arguments, or --jsonl FILE")
    classifier = service.Classifier(cfg)
    bad = 0
    for id_, text, title in _score_inputs(args):
        if text is None:
            bad += 1
            print(f"school-monitor: {title}", file=sys.stderr)
            continue
        print(json.dumps(service.score_json(classifier.classify(text, title), id_), ensure_ascii=False))
    return 2 if bad else 0


def _score_inputs(args):
    """(id, text, title) per input; (None, None, problem) for a line that is not a usable object."""
    for n, text in enumerate(args.texts, 1):
        yield n, text, ""
    if not args.jsonl:
        return
    stream = sys.stdin if args.jsonl == "-" else _open_text(args.jsonl)
    with stream:
        for lineno, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                text = obj["text"]
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                yield None, None, f'{args.jsonl}:{lineno}: skipped: not a JSON object with a "text" ({e})'
                continue
            yield obj.get("id", lineno), "" if text is None else str(text), str(obj.get("title") or "")


def _open_text(path):
    try:
        return open(path, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"{path}: {e.strerror}") from None


def cmd_items(cfg: config.Config, args) -> int:
    since = parse_when(args.since, cfg.alerts.tz) if args.since else None
    found = service.list_items(cfg, since=since, labels=args.label, statuses=args.status)
    if args.json:
        for it in found:
            print(json.dumps(it.as_json(), ensure_ascii=False))
        return 0
    if not found:
        print("no mentions stored" + (" that match" if (since or args.label or args.status) else ""))
    for it in found:
        when = (it.published or it.first_seen).astimezone(cfg.alerts.tz).strftime("%Y-%m-%d %H:%M")
        staff = " staff" if it.mentions_staff else ""
        print(f"#{it.id:<5} {when}  {it.label:<9} {it.severity:<6}{staff} [{it.status}] {it.source}")
        print(f"       {_excerpt(it.title or it.text)}")
        if it.url:
            print(f"       {it.url}")
    return 0


def cmd_review(cfg: config.Config, args) -> int:
    r = service.review(cfg, args.id, status=args.status, action=args.action, note=args.note, by=args.by)
    print(f"item #{r.item_id}: {r.status}" + (f", {r.action}" if r.action else "") + f" (by {r.by})")
    return 0


def cmd_show(cfg: config.Config, args) -> int:
    it, log_, versions = service.item_with_log(cfg, args.id)
    local = lambda d: d.astimezone(cfg.alerts.tz).strftime("%Y-%m-%d %H:%M") if d else "-"  # noqa: E731
    print(f"#{it.id} {it.label} {it.severity}{' (names staff)' if it.mentions_staff else ''} [{it.status}]")
    print(f"source:     {it.source}\nurl:        {it.url or '-'}\nauthor:     {it.author or '-'}")
    print(f"published:  {local(it.published)}\nfirst seen: {local(it.first_seen)}")
    print(f"sentiment:  {it.sentiment:+.3f}\nflags:      {', '.join(it.flags) or '-'}")
    if it.title:
        print(f"title:      {it.title}")
    print(f"\n{it.text}\n")
    print(f"evidence: {len(versions)} version(s)")
    for ev in versions:
        body = f"body {len(ev.body):,} bytes sha256 {ev.body_sha256}" if ev.body is not None else "no body"
        print(f"  {ev.version}. {local(ev.fetched_at)} {ev.url}\n     fragment sha256 {ev.sha256}; {body}")
    print(f"review log: {len(log_)} entr{'y' if len(log_) == 1 else 'ies'}")
    for r in log_:
        action = f" {r.action}" if r.action else ""
        print(f"  {local(r.at)} {r.by}: {r.status}{action}" + (f" — {r.note}" if r.note else ""))
    return 0


def cmd_evidence(cfg: config.Config, args) -> int:
    for path in service.export_evidence(cfg, args.id, Path(args.output)):
        print(path.parent)
    return 0


def cmd_add(cfg: config.Config, args) -> int:
    engine = service.open_store(cfg)
    it, new, error = service.add_mention(
        cfg, args.url, text=args.text, title=args.title, seen_on=args.seen_on, note=args.note, by=args.by, engine=engine
    )
    if error:
        print(f"note: {args.url} could not be fetched ({error}); the pasted text is kept", file=sys.stderr)
    state = "added" if new else "already stored as"
    print(f"{state} #{it.id}: {it.label} {it.severity} [{it.status}] {it.source}")
    # Abuse someone saw in a private group alerts the managers now, as a scanned one would.
    sent = service.alert_new(cfg, engine)
    if sent.queued or sent.flushed.waiting:
        print(f"{sent.queued} alert email(s) queued" + _waiting(sent.flushed.waiting))
    return 0


def cmd_report(cfg: config.Config, args) -> int:
    tz = cfg.alerts.tz
    since = parse_when(args.since, tz) if args.since else None
    until = parse_when(args.until, tz) if args.until else None
    if until is not None and len(args.until.strip()) == 10:
        until += timedelta(days=1)  # a bare date includes that day
    since, until = service.report_period(since, until)
    if args.output == "-":
        service.write_report(cfg, sys.stdout, fmt=args.format, since=since, until=until)
        return 0
    path = Path(args.output) if args.output else service.default_report_path(cfg, since, until, args.format)
    tmp = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            n = service.write_report(cfg, out, fmt=args.format, since=since, until=until)
        os.replace(tmp, path)  # a half-written report never stands under the real name
    except OSError as e:
        raise UsageError(f"cannot write the report to {path}: {e.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
    print(f"{path} ({n} mention(s))")
    return 0


def cmd_digest(cfg: config.Config, args) -> int:
    since = parse_when(args.since, cfg.alerts.tz) if args.since else None
    if not args.send:
        email = service.render_digest(cfg, since=since)
        print(email.text if email else "nothing new since the last digest: no digest would be sent")
        return 0
    result = service.send_digest(cfg, since=since)
    if result.email is None:
        print("nothing new since the last digest: no digest sent")
    elif not result.queued:
        print("digest not sent: [alerts] recipients is empty")
    else:
        print(
            f"digest of {result.items} new mention(s) queued for {', '.join(result.email.to)}"
            + _waiting(result.flushed.waiting)
        )
    return 0


def cmd_outbox(cfg: config.Config, args) -> int:
    if args.send:
        result = service.flush_outbox(cfg)
        print(f"{result.sent} sent, {result.failed} failed" + _waiting(result.waiting))
        for error in result.errors:
            print(f"  error: {error}")
    waiting = service.outbox(cfg)
    if not waiting and not args.send:
        print("the outbox is empty: every email has been sent")
    tz = cfg.alerts.tz
    for e in waiting:
        print(f"#{e.id:<5} {e.created_at.astimezone(tz):%Y-%m-%d %H:%M}  {e.kind:<7} {e.subject}")
        print(f"       to {', '.join(e.recipients)}")
        if e.not_before:
            print(f"       held until {e.not_before.astimezone(tz):%Y-%m-%d %H:%M} (quiet hours)")
        if e.attempts:
            when = f", next {e.next_attempt.astimezone(tz):%Y-%m-%d %H:%M}" if e.next_attempt else ""
            print(f"       {e.attempts} attempt(s){when}; last error: {e.last_error}")
    return 0


def _waiting(n: int) -> str:
    """What the user needs to hear about unsent email: it is queued, not lost, and not a failure."""
    if not n:
        return ""
    return (
        f"; {n} email(s) in the outbox not sent yet (held or the mail server failed): "
        "they are kept and retried, see `school-monitor outbox`"
    )


COMMANDS = {
    "check": cmd_check,
    "scan": cmd_scan,
    "run": cmd_run,
    "status": cmd_status,
    "score": cmd_score,
    "items": cmd_items,
    "review": cmd_review,
    "show": cmd_show,
    "evidence": cmd_evidence,
    "add": cmd_add,
    "report": cmd_report,
    "digest": cmd_digest,
    "outbox": cmd_outbox,
}


# ---------------------------------------------------------------- output helpers


def _excerpt(text: str, n: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _duration(td) -> str:
    s = int(td.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s % size == 0 and s >= size:
            return f"{s // size}{unit}"
    return f"{s}s"


class _Bar:
    def __init__(self, total: int):
        from tqdm import tqdm

        self._bar = tqdm(total=total, unit="source", file=sys.stderr, leave=False)

    def step(self, run) -> None:
        self._bar.set_postfix_str(run.source[:30], refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


def _progress(total: int) -> _Bar | None:
    """A progress bar on a terminal only; piped output stays clean."""
    return _Bar(total) if total > 1 and sys.stderr.isatty() else None


def _print_summary(summary) -> None:
    runs = summary.runs
    width = max([len(r.source) for r in runs] + [6])
    print(f"{'source':<{width}}  {'seen':>5} {'new':>5} {'mentions':>8}  result")
    for r in runs:
        result = f"ERROR: {r.error}" if r.error else ("not modified" if r.not_modified else "ok")
        if r.broken:
            result = "BROKEN " + result
        print(f"{r.source:<{width}}  {r.seen:>5} {r.new:>5} {r.mentions:>8}  {result}")
    new = sum(r.new for r in runs)
    failed = len(summary.failed)
    secs = (summary.finished - summary.started).total_seconds() if summary.finished else 0
    print(f"{len(runs)} source(s), {new} new mention(s), {failed} failed, {secs:.1f}s")
    for item_id in summary.removed:
        print(f"item #{item_id}: the post has gone (re-checked); `removed` added to its review log")


def _print_status(st, tz) -> None:
    when = lambda d: d.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if d else "never"  # noqa: E731
    size = f" ({st.database_bytes / 1024**2:.1f} MB)" if st.database_bytes is not None else ""
    print(f"database  {st.database}{size}")
    if st.heartbeat is None:
        print("daemon    not running")
    else:
        age = int((st.checked_at - st.heartbeat).total_seconds())
        print(f"daemon    last heartbeat {when(st.heartbeat)} ({age}s ago)")
    print(f"digest    last sent {when(st.last_digest)}")
    print(f"outbox    {st.unsent} unsent email(s)")
    if st.sources:
        print("sources")
    for s in st.sources:
        health = "never run" if s.last_checked is None else f"last success {when(s.last_success)}"
        if s.failures:
            health += f"; failing {s.failures}x, last error {when(s.last_error_at)}: {s.last_error}"
        print(f"  {s.name}: {health}")
    print("health    " + ("OK" if st.healthy else "UNHEALTHY: " + "; ".join(st.problems)))
