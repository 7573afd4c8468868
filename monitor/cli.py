"""The command line: parses arguments, sets up logging, calls the Monitor, turns errors into exit codes.

Exit status: 0 success, 2 bad config or arguments, 1 any other failure. Each command is a few
lines over the service object; what it prints for people goes to stdout (console.py), logs go to
stderr. The service raises errors with facts; this module words them with the flags people type.
"""

from __future__ import annotations

import argparse
import gc
import getpass
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from monitor import __version__, config, console
from monitor.console import say, warn
from monitor.errors import (
    InvalidChoice,
    InvalidInput,
    InvalidPassword,
    InvalidPeriod,
    ItemNotFound,
    MessageNotFound,
    MonitorError,
    NoEvidence,
    NothingToFetch,
    RequestError,
    UnknownSources,
    UsageError,
    UserNotFound,
)
from monitor.models import ACTIONS, LABELS, REVIEW_STATUSES, ROLES, Score
from monitor.service import REPORT_FORMATS, Monitor

log = logging.getLogger("monitor")
LOG_LEVELS = ("debug", "info", "warning", "error")


def parse_when(text: str, tz: ZoneInfo) -> datetime:
    """ISO 8601 date or date-time; a date or a time without a zone is in the school's time zone."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{text!r} is not a date; use ISO 8601, e.g. 2026-09-01 or 2026-09-01T08:00") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    return when


def default_user() -> str:
    """Who is typing: $USER, else the login name, else the host's user id (under systemd or Docker
    $USER is often unset)."""
    name = os.environ.get("USER") or os.environ.get("USERNAME")
    if name:
        return name
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="school-monitor",
        description="Watch what is said online about a school: collect mentions, score them, alert the managers.",
    )
    p.add_argument("--config", metavar="PATH", help="sources.toml to use (default: $MONITOR_CONFIG or ./sources.toml)")
    p.add_argument(
        "--log-level",
        default=None,
        metavar="LEVEL",
        help=f"what to log on stderr: {', '.join(LOG_LEVELS)} (default: $MONITOR_LOG_LEVEL or warning)",
    )
    p.add_argument("--version", action="version", version=f"school-monitor {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    s = sub.add_parser("init", help="set up for a school: ask about it (or take flags), write sources.toml, check it")
    s.add_argument("--name", help="the school's full name (required)")
    s.add_argument("--town", help="its town or borough (required)")
    s.add_argument("--alias", action="append", default=[], metavar="NAME", help="another name people use (repeatable)")
    s.add_argument("--urn", help="its URN: 6 or 7 digits (Ofsted, Get Information About Schools)")
    s.add_argument(
        "--staff", action="append", default=[], metavar="NAME", help="a member of staff to watch for (repeatable)"
    )
    s.add_argument(
        "--recipient", action="append", default=[], metavar="EMAIL", help="a social media manager's email (repeatable)"
    )
    s.add_argument("--dsl", metavar="EMAIL", help="the designated safeguarding lead's email")
    s.add_argument("--website-feed", metavar="URL", help="the school website's news feed (RSS)")
    s.add_argument(
        "-o", "--output", metavar="PATH", help="where to write it (default: --config's path, else ./sources.toml)"
    )
    s.add_argument("--force", action="store_true", help="replace PATH when it exists")
    s.add_argument("-y", "--yes", action="store_true", help="ask nothing: a missing required answer is an error")

    sub.add_parser("check", help="validate sources.toml and the templates; list the sources and their health")

    s = sub.add_parser("scan", help="one pass over the sources now, with a summary")
    s.add_argument("--source", action="append", default=[], metavar="NAME", help="only this source (repeatable)")
    s.add_argument("--since", metavar="DATE", help="re-read sources in full and keep items published since DATE")
    s.add_argument("--no-alerts", action="store_true", help="store what is found but send no instant alerts")

    r = sub.add_parser("run", help="the daemon: every source on its interval, the digest at its time")
    r.add_argument("--once", action="store_true", help="one scan of the sources that are due, then exit")

    s = sub.add_parser("status", help="health: each source's last success and error, unsent messages, the last digest")
    s.add_argument(
        "--quiet", "-q", action="store_true", help="print nothing; exit 1 when unhealthy (for a Docker HEALTHCHECK)"
    )

    s = sub.add_parser("score", help="classify texts without storing them; one JSON object per text")
    s.add_argument("texts", nargs="*", metavar="TEXT")
    s.add_argument("--jsonl", metavar="FILE", help="read objects with id, text and optional title ('-' for stdin)")

    s = sub.add_parser("items", help="list stored mentions, newest first (by when first seen)")
    s.add_argument("--label", action="append", default=[], choices=LABELS, help="only this label (repeatable)")
    s.add_argument(
        "--status", action="append", default=[], choices=REVIEW_STATUSES, help="only this review status (repeatable)"
    )
    s.add_argument("--since", metavar="DATE", help="first seen since DATE")
    s.add_argument("--json", action="store_true", help="one JSON object per line")

    s = sub.add_parser("review", help="record a review step, or correct a label (appended to the mention's log)")
    s.add_argument("id", type=int, metavar="ID")
    s.add_argument("--status", choices=REVIEW_STATUSES[1:])
    s.add_argument("--action", choices=ACTIONS)
    s.add_argument("--label", choices=LABELS, help="correct the mention's label (the old one stays in the log)")
    s.add_argument("--note", default="")
    s.add_argument("--by", default=default_user(), help="who did it (default: $USER)")

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
    s.add_argument("--by", default=default_user(), help="who saw it (default: $USER)")

    s = sub.add_parser("report", help="the report of mentions and flagged items (HTML, CSV or JSON)")
    s.add_argument("--since", metavar="DATE", help="from DATE (default: 12 months before --until)")
    s.add_argument("--until", metavar="DATE", help="up to DATE, that day included (default: now)")
    s.add_argument("--format", default="html", choices=REPORT_FORMATS)
    s.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write it; '-' for stdout (default: data/reports/report-SINCE-to-UNTIL.FORMAT)",
    )

    s = sub.add_parser("digest", help="print the digest of what is new since the last one, or send it")
    s.add_argument("--since", metavar="DATE", help="only mentions first seen since DATE")
    s.add_argument("--send", action="store_true", help="send it (and mark its mentions digested)")

    s = sub.add_parser("outbox", help="list the messages (emails and channel notes) waiting to be sent")
    s.add_argument("--send", action="store_true", help="send every one waiting for a retry now, whatever its back-off")
    s.add_argument("--held", action="store_true", help="with --send: those quiet hours hold too")
    s.add_argument(
        "--drop",
        type=int,
        metavar="ID",
        help="give up one message (e.g. for a channel taken out of the config); its row stays, marked dropped",
    )
    s.add_argument("--note", default="", help="with --drop: why")
    s.add_argument("--by", default=default_user(), help="with --drop: who (default: $USER)")

    sub.add_parser(
        "notify-test", help="send a test message to every email recipient and channel now; print what each said"
    )

    # The review desk: its accounts, and serving it.
    s = sub.add_parser("user", help="the review desk's accounts: add, list, remove, passwd, role")
    users = s.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    u = users.add_parser("add", help="add an account; the password is read from standard input")
    u.add_argument("name", metavar="NAME")
    u.add_argument("--role", required=True, choices=ROLES, help="viewer, reviewer or admin")
    u.add_argument("--email", default="", help="the account's email address (optional)")
    users.add_parser("list", help="list the accounts and their roles")
    u = users.add_parser("remove", help="remove an account (its sessions end)")
    u.add_argument("name", metavar="NAME")
    u = users.add_parser("passwd", help="set an account's password from standard input (its sessions end)")
    u.add_argument("name", metavar="NAME")
    u = users.add_parser("role", help="change an account's role")
    u.add_argument("name", metavar="NAME")
    u.add_argument("role", choices=ROLES, metavar="ROLE", help="viewer, reviewer or admin")

    s = sub.add_parser("serve", help="run the review desk (the web front end) on its own")
    s.add_argument("--listen", metavar="HOST:PORT", help="where to listen (default: [web] listen, else 127.0.0.1:8080)")
    return p


def entry() -> int:
    """The `school-monitor` command: `main`, then an end without the interpreter's last walk over
    every object it holds (SQLAlchemy's and requests' modules among them): `gc.freeze` takes them
    out of the collector's sight, and the process ends at once anyway (a tenth of an unchanged
    re-scan, benchmarks/README.md). Not in `main`, which tests call in-process."""
    code = main()
    gc.freeze()
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _setup_logging(args.log_level or os.environ.get("MONITOR_LOG_LEVEL") or "warning")
        if args.command == "init":  # before any config: it writes one
            return cmd_init(args)
        cfg = config.load(args.config)
        with Monitor(cfg) as monitor:
            return COMMANDS[args.command](monitor, args) or 0
    except RequestError as e:
        warn(f"school-monitor: {worded(e)}")
        return e.exit_code
    except MonitorError as e:
        warn(f"school-monitor: {e}")
        return e.exit_code
    except BrokenPipeError:  # `items | head -1`: the reader has all it wanted, a normal end
        _quiet_stdout()
        return 0
    except KeyboardInterrupt:
        warn("school-monitor: interrupted")
        return 130
    except Exception as e:  # a bug: say so plainly, keep the traceback for --log-level debug
        log.debug("internal error", exc_info=True)
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""  # not a database statement
        warn(
            f"school-monitor: internal error: {e.__class__.__name__}: {first} (run with --log-level debug for details)"
        )
        return 1


def _setup_logging(level: str) -> None:
    if level.lower() not in LOG_LEVELS:
        raise UsageError(f"log level {level!r}: use one of {', '.join(LOG_LEVELS)} (--log-level or $MONITOR_LOG_LEVEL)")
    logging.basicConfig(
        level=level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def _quiet_stdout() -> None:
    """After a closed pipe, Python's own flush at exit would fail again: point stdout at nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def worded(e: RequestError) -> str:
    """A service error in the words of the command line (its flags and commands)."""
    if isinstance(e, ItemNotFound):
        return f"no item with id {e.item_id}; `school-monitor items` lists them"
    if isinstance(e, MessageNotFound):
        return f"no unsent message with id {e.outbox_id}; `school-monitor outbox` lists them"
    if isinstance(e, UnknownSources):
        return f"no source named {', '.join(map(repr, e.names))}; `school-monitor check` lists them"
    if isinstance(e, InvalidChoice):
        return f"--{e.field} {e.value!r}: use one of {', '.join(e.allowed)}"
    if isinstance(e, InvalidPeriod):
        return f"--since ({_iso(e.since)}) must be before --until ({_iso(e.until)})"
    if isinstance(e, InvalidInput):
        return f"{'NAME' if e.field == 'name' else '--' + e.field}: {e.problem}"
    if isinstance(e, NothingToFetch):
        return f"could not fetch {e.url} ({e.reason}); paste what it says with --text"
    if isinstance(e, NoEvidence):
        return f"item {e.item_id} has no stored evidence"
    if isinstance(e, UserNotFound):
        return f"no user named {e.name!r}; `school-monitor user list` lists them"
    return str(e)


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


# ---------------------------------------------------------------- commands


def cmd_check(m: Monitor, args: argparse.Namespace) -> int:
    templates, warnings = m.check()
    for w in (*m.cfg.warnings, *warnings):
        warn(f"warning: {w}")
    cfg = m.cfg
    checked = (
        m.check_channels() if cfg.alerts.urls or cfg.alerts.urls_env or any(r.urls for r in cfg.alerts.routes) else None
    )
    if checked is not None:
        for w in checked.warnings:
            warn(f"warning: {w}")
        if checked.problems:
            raise config.ConfigError(cfg.path, checked.problems)
    say(f"{cfg.path}: OK — {cfg.school.name}, {len(cfg.sources)} source(s), {len(templates)} templates")
    if checked is not None and checked.listed:
        say(f"channels: {', '.join(checked.listed)}")
    console.sources(cfg.sources, m.source_states(), cfg.alerts.tz)
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    """Ask (on a terminal, unless --yes) for what the flags did not give, write the file, check it."""
    from monitor import wizard

    path = Path(args.output or args.config or config.DEFAULT_CONFIG)
    if path.exists() and not args.force:
        raise UsageError(f"{path} exists; pass --force to replace it, or -o to write another file")
    # Each question's flag is its argument: --website-feed -> args.website_feed.
    answers, problems = wizard.from_values(
        {q.field: getattr(args, q.flag.lstrip("-").replace("-", "_")) for q in wizard.QUESTIONS}
    )
    if problems:
        raise UsageError("\n".join(f"{flag}: {problem}" for flag, problem in problems))
    if not args.yes and sys.stdin.isatty():
        say(f"Setting up {path}: a few questions (Enter keeps a [default], - for none; Ctrl-C stops).")
        try:
            answers = wizard.ask(answers, input, say)
        except EOFError:
            raise UsageError("init: no answer (end of input); nothing written") from None
    if missing := wizard.missing(answers):
        flags = " and ".join(q.flag for q in missing)
        verb = "is" if len(missing) == 1 else "are"
        raise UsageError(f"{flags} {verb} required (init asks for them on a terminal, without --yes)")
    text = wizard.render(answers)
    _write_text(path, text)
    say(f"wrote {path}")
    with Monitor(config.load(path)) as m:
        code = cmd_check(m, args)
    default = path.resolve() == Path(config.DEFAULT_CONFIG).resolve()
    opt, var = ("", "") if default else (f" --config {path}", f" CONFIG={path}")
    say(f"Next: `school-monitor{opt} scan` tries every source now; `make run{var}` runs the monitor.")
    say(f"Fill in [smtp] in {path} to send the emails (until then they are written under data/outbox/).")
    return code


def _write_text(path: Path, text: str) -> None:
    """All or nothing: a half-written file never stands under the real name."""
    tmp = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)


def cmd_scan(m: Monitor, args: argparse.Namespace) -> int:
    since = parse_when(args.since, m.cfg.alerts.tz) if args.since else None
    bar = console.Progress.on_terminal(len(m.select_sources(args.source)))
    m.on_wait = (lambda host, s: bar.note(f"waiting {s:.0f}s for {host} (min_gap)")) if bar else None
    try:
        summary = m.scan(args.source, since=since, progress=bar.step if bar else None, alerts=not args.no_alerts)
    finally:
        if bar:
            bar.close()
    console.scan_summary(summary)
    if summary.alerts_queued or summary.emails_waiting:
        say(f"{summary.alerts_queued} alert message(s) queued" + console.waiting(summary.emails_waiting))
    return 0


def cmd_run(m: Monitor, args: argparse.Namespace) -> int:
    if not args.once:
        from monitor import daemon  # APScheduler is only needed by the daemon

        return daemon.run(m)
    due = m.due_sources()
    if not due:
        say("no source is due")
        return 0
    console.scan_summary(m.scan([s.name for s in due]))
    return 0


def cmd_status(m: Monitor, args: argparse.Namespace) -> int:
    """Exit 1 when unhealthy (the service says when), so `status --quiet` can be a HEALTHCHECK."""
    st = m.status()
    if not args.quiet:
        console.status(st, m.cfg.alerts.tz)
    return 0 if st.healthy else 1


def cmd_score(m: Monitor, args: argparse.Namespace) -> int:
    """A bad line of --jsonl is named on stderr and skipped; the others are scored (exit 2 at the end)."""
    if not args.jsonl and not args.texts:
        raise UsageError("give one or more TEXT arguments, or --jsonl FILE")
    bad = 0
    for id_, text, title in _score_inputs(args):
        if text is None:
            bad += 1
            warn(f"school-monitor: {title}")
            continue
        print(json.dumps(score_json(m.classify(text, title or ""), id_), ensure_ascii=False))
    return 2 if bad else 0


def score_json(result: Score, id_: object = None) -> dict:
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


def _score_inputs(args: argparse.Namespace) -> Iterator[tuple[object, str | None, str | None]]:
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


def _open_text(path: str) -> TextIO:
    try:
        return open(path, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"{path}: {e.strerror}") from None


def cmd_items(m: Monitor, args: argparse.Namespace) -> int:
    since = parse_when(args.since, m.cfg.alerts.tz) if args.since else None
    found = m.items(since=since, labels=args.label, statuses=args.status) if m.has_database() else []
    if args.json:
        for it in found:
            print(json.dumps(it.as_json(), ensure_ascii=False))
        return 0
    if not found:
        say("no mentions stored" + (" that match" if (since or args.label or args.status) else ""))
    for it in found:
        console.item_lines(it, m.cfg.alerts.tz)
    return 0


def cmd_review(m: Monitor, args: argparse.Namespace) -> int:
    if args.label:
        if args.status or args.action:
            raise UsageError("--label corrects the label; record --status and --action as a step of their own")
        r = m.correct_label(args.id, label=args.label, note=args.note, by=args.by)
    elif args.status:
        r = m.review(args.id, status=args.status, action=args.action, note=args.note, by=args.by)
    else:
        raise UsageError("give --status (a review step) or --label (a correction)")
    say(f"item #{r.item_id}: {r.summary} (by {r.by})")
    return 0


def cmd_show(m: Monitor, args: argparse.Namespace) -> int:
    console.mention(m.mention(args.id), m.cfg.alerts.tz)
    return 0


def cmd_evidence(m: Monitor, args: argparse.Namespace) -> int:
    out = Path(args.output)
    try:
        manifests = m.export_evidence(args.id, out)
    except OSError as e:
        raise UsageError(f"cannot write evidence to {out}: {e.strerror}") from None
    for path in manifests:
        say(str(path.parent))
    return 0


def cmd_add(m: Monitor, args: argparse.Namespace) -> int:
    added, sent = m.add_mention(
        args.url, text=args.text, title=args.title, seen_on=args.seen_on, note=args.note, by=args.by
    )
    if added.fetch_error:
        warn(f"note: {args.url} could not be fetched ({added.fetch_error}); the pasted text is kept")
    it = added.item
    say(f"{'added' if added.new else 'already stored as'} #{it.id}: {it.label} {it.severity} [{it.status}] {it.source}")
    if sent.queued or sent.flushed.waiting:
        say(f"{sent.queued} alert message(s) queued" + console.waiting(sent.flushed.waiting))
    return 0


def cmd_report(m: Monitor, args: argparse.Namespace) -> int:
    tz = m.cfg.alerts.tz
    since = parse_when(args.since, tz) if args.since else None
    until = parse_when(args.until, tz) if args.until else None
    if until is not None and len(args.until.strip()) == 10:
        until += timedelta(days=1)  # a bare date includes that day
    since, until = m.report_period(since, until)
    if args.output == "-":
        m.write_report(sys.stdout, fmt=args.format, since=since, until=until)
        return 0
    path = Path(args.output) if args.output else m.default_report_path(since, until, args.format)
    n = _write_atomically(path, lambda out: m.write_report(out, fmt=args.format, since=since, until=until))
    say(f"{path} ({n} mention(s))")
    return 0


def _write_atomically(path: Path, write: Callable[[TextIO], int]) -> int:
    """A half-written file never stands under the real name."""
    tmp = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            n = write(out)
        os.replace(tmp, path)
    except OSError as e:
        raise UsageError(f"cannot write the report to {path}: {e.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return n


def cmd_digest(m: Monitor, args: argparse.Namespace) -> int:
    since = parse_when(args.since, m.cfg.alerts.tz) if args.since else None
    if not args.send:
        email = m.render_digest(since)
        say(email.text if email else "nothing new since the last digest: no digest would be sent")
        return 0
    result = m.send_digest(since)
    if result.email is None:
        say("nothing new since the last digest: no digest sent")
    elif result.no_recipients:
        warn("school-monitor: digest not sent: nobody to send it to; set [alerts] recipients (or urls) in sources.toml")
        return 1
    else:
        to = ", ".join([*result.email.to, *result.channels])
        say(
            f"digest of {result.items} new mention(s) queued for {to}"
            + console.waiting(result.flushed.waiting if result.flushed else 0)
        )
    return 0


def cmd_outbox(m: Monitor, args: argparse.Namespace) -> int:
    if args.held and not args.send:
        raise UsageError("--held goes with --send: `school-monitor outbox --send --held`")
    if args.drop is not None:
        dropped = m.drop_message(args.drop, note=args.note, by=args.by)
        say(f"message #{dropped.id} ({dropped.kind}: {dropped.subject}) dropped; it will not be sent")
        return 0
    if args.send:
        result = m.flush_outbox(force=True, held=args.held)
        say(f"{result.sent} sent, {result.failed} failed" + console.waiting(result.waiting))
        for error in result.errors:
            say(f"  error: {error}")
    waiting = m.outbox() if m.has_database() else []
    if not waiting and not args.send:
        say("the outbox is empty: every message has been sent")
    for e in waiting:
        console.outbox_entry(e, m.cfg.alerts.tz)
    return 0


def cmd_notify_test(m: Monitor, args: argparse.Namespace) -> int:
    """Exit 1 when any destination failed, or there is none."""
    results = m.notify_test()
    if not results:
        warn("school-monitor: nowhere to send: set [alerts] recipients or urls (or a route's) in sources.toml")
        return 1
    for r in results:
        if r.ok:
            say(f"{r.destination}: delivered" + (f" ({r.note})" if r.note else ""))
        else:
            say(f"{r.destination}: FAILED: {r.error}")
    return 0 if all(r.ok for r in results) else 1


def cmd_user(m: Monitor, args: argparse.Namespace) -> int:
    by = default_user()
    if args.user_command == "list":
        found = m.users() if m.has_database() else []
        if not found:
            say("no accounts yet; add one with `school-monitor user add NAME --role admin`")
        for u in found:
            say(f"{u.name:<20} {u.role:<9} {u.email or '-':<30} added {console.when(u.created_at, m.cfg.alerts.tz)}")
        return 0
    if args.user_command == "add":
        user = m.add_user(args.name, role=args.role, email=args.email, password=read_password(), by=by)
        say(f"added {user.name} ({user.role})")
    elif args.user_command == "remove":
        m.remove_user(args.name, by=by)
        say(f"removed {args.name}; their sessions have ended")
    elif args.user_command == "passwd":
        m.set_password(args.name, read_password(), by=by)
        say(f"password set for {args.name}; their sessions have ended")
    elif args.user_command == "role":
        user = m.set_role(args.name, args.role, by=by)
        say(f"{user.name} is now {user.role}")
    return 0


def read_password(stream: TextIO | None = None) -> str:
    """A new password from standard input, never the command line (where `ps` and the shell's
    history would keep it): asked twice on a terminal, one line when piped."""
    stream = stream or sys.stdin
    if stream.isatty():
        first = getpass.getpass("New password (at least 10 characters): ")
        if getpass.getpass("The same again: ") != first:
            raise InvalidPassword("the two entries differ")
        return first
    line = stream.readline()
    if not line:
        raise InvalidPassword("none given: pipe it in, e.g. `printf '%s\\n' \"$PASSWORD\" | school-monitor user add …`")
    return line.rstrip("\r\n")


def cmd_serve(m: Monitor, args: argparse.Namespace) -> int:
    if args.listen:
        try:
            config.check_listen(args.listen)
        except ValueError as e:
            raise UsageError(f"--listen: {e}") from None
    from monitor.web import server  # Flask and waitress are only needed to serve the desk

    return server.serve(m, args.listen)


COMMANDS: dict[str, Callable[[Monitor, argparse.Namespace], int]] = {
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
    "notify-test": cmd_notify_test,
    "user": cmd_user,
    "serve": cmd_serve,
}
