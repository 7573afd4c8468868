"""Messages: render the alert, pile-on and digest as emails and as channel notes; deliver emails.

The only module that renders templates (Jinja2) and touches SMTP (smtplib). Rendering is pure:
plain data (StoredItem lists, the config, `now`) in, models.Email or models.Note out. `deliver`
sends one email or, without [smtp], writes it as an .eml file under data/outbox/ (channels.py
sends notes).

Templates: a file of the same name in alerts/ beside sources.toml overrides the packaged one
(monitor/templates, shipped from the repository's alerts/). Whatever came from the internet is
escaped in HTML (autoescape), and in headers stripped of control characters and capped. A note
is plain text: whatever came from the internet is one line, without control characters or a
Markdown link, and capped. With [web] base_url every mention links to its page on the desk.
"""

from __future__ import annotations

import hashlib
import os
import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime, parseaddr, parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote

from monitor.config import Config, Smtp
from monitor.errors import NotifyError
from monitor.models import LABELS, Email, Note, SourceState, StoredItem
from monitor.text import excerpt, http_url, local_time, one_line, printable

SUBJECT_MAX = 200
POSSIBLE = "possible"  # the scorer's flag for a grave reading its signals did not agree on
FIRST_WORDS = 8
ADD_COMMAND = "school-monitor add --url URL --text TEXT --seen-on PLATFORM"


def _render(cfg: Config, name: str, context: dict) -> tuple[str, str]:
    """The plain-text and HTML parts of one template pair."""
    from monitor import templating  # Jinja2: only when a message is rendered, not when one is sent

    env = templating.environment(cfg.templates_dir, cfg.alerts.timezone)
    try:
        return templating.render(env, f"{name}.txt", context), templating.render(env, f"{name}.html", context)
    except templating.TemplateError as e:
        where = getattr(e, "filename", None) or name
        raise NotifyError(f"template {where}: {e.__class__.__name__}: {e}") from None


# ---------------------------------------------------------------- what the templates see


def clean_header(text: str, limit: int = SUBJECT_MAX) -> str:
    """Text fit for an email header: no CR/LF or other control characters, one line, capped."""
    return one_line(text, limit)


def _when(cfg: Config, when: datetime | None) -> str:
    return local_time(when, cfg.alerts.tz, "%a %d %b %Y %H:%M %Z", missing="unknown")


def desk_url(cfg: Config) -> str:
    """The desk's address without a trailing slash ("" without [web] base_url)."""
    return cfg.web.base_url.rstrip("/")


def desk_link(cfg: Config, item_id: int) -> str:
    """Where a mention is reviewed on the desk ("" without [web] base_url)."""
    base = desk_url(cfg)
    return f"{base}/mentions/{item_id}" if base else ""


def queue_link(cfg: Config) -> str:
    """The desk's queue of mentions to review ("" without [web] base_url)."""
    base = desk_url(cfg)
    return f"{base}/" if base else ""


def item_view(cfg: Config, it: StoredItem) -> dict:
    """One mention as the templates see it (plain values; the HTML templates escape them)."""
    return {
        "id": it.id,
        "desk_link": desk_link(cfg, it.id),
        "label": it.label,
        "severity": it.severity,
        "flags": list(it.flags),
        "source": it.source,
        "author": it.author,
        "when": _when(cfg, it.published or it.first_seen),
        "url": it.url,
        "link": http_url(it.url),
        "title": it.title,
        "text": it.text,
        "excerpt": excerpt(f"{it.title}: {it.text}" if it.title and it.text else it.title or it.text),
        "mentions_staff": it.mentions_staff,
        "status": it.status,
    }


def _first_words(it: StoredItem) -> str:
    words = (it.title or it.text).split()
    text = " ".join(words[:FIRST_WORDS]) + ("…" if len(words) > FIRST_WORDS else "")
    return clean_header(text, 80)


# ---------------------------------------------------------------- rendering


def reading(item: StoredItem) -> str:
    """The label as an alert says it: "Possible abuse" when the signals disagreed on a grave reading
    (flag `possible`: alerted at once all the same, at medium severity, for a person to judge)."""
    return f"Possible {item.label}" if POSSIBLE in item.flags else item.label


def render_alert(cfg: Config, item: StoredItem, recipients: tuple[str, ...], route: str) -> Email:
    """One instant alert for one mention and one route; its dedupe_key makes it one email ever."""
    subject = clean_header(
        f'[{cfg.school.label}] {item.severity.upper()}: {reading(item)} on {item.source} — "{_first_words(item)}"'
    )
    context = {"school": cfg.school.label, "subject": subject, "item": item_view(cfg, item)}
    text, html = _render(cfg, "alert", context)
    return Email(
        to=recipients,
        subject=subject,
        text=text,
        html=html,
        kind="alert",
        dedupe_key=f"alert:{item.id}:{route}",
        item_ids=(item.id,),
    )


def render_pileon(cfg: Config, items: list[StoredItem], recipients: tuple[str, ...], route: str) -> Email:
    """One email listing the instant alerts past [alerts] max_per_hour (one per scan and route)."""
    worst = min(items, key=lambda i: LABELS.index(i.label) if i.label in LABELS else len(LABELS))
    subject = clean_header(
        f"[{cfg.school.label}] {worst.severity.upper()}: pile-on, "
        f"{len(items)} more {'item' if len(items) == 1 else 'items'} "
        f"({', '.join(sorted({i.label for i in items}, key=LABELS.index))})"
    )
    context = {
        "school": cfg.school.label,
        "subject": subject,
        "items": [item_view(cfg, i) for i in items],
        "max_per_hour": cfg.alerts.max_per_hour,
        "desk": queue_link(cfg),
    }
    text, html = _render(cfg, "pileon", context)
    ids = tuple(i.id for i in items)
    return Email(
        to=recipients,
        subject=subject,
        text=text,
        html=html,
        kind="pileon",
        dedupe_key=f"pileon:{route}:{min(ids)}-{max(ids)}",
        item_ids=ids,
    )


@dataclass(frozen=True)
class Removed:
    """A review-log entry saying the post has gone, with its mention."""

    item: StoredItem
    at: datetime
    by: str
    note: str = ""


@dataclass(frozen=True)
class DigestData:
    """Everything one digest says, gathered by service."""

    since: datetime | None
    until: datetime
    items: tuple[StoredItem, ...]  # new since the last digest
    awaiting: tuple[StoredItem, ...]  # earlier mentions still status new, severity high or medium
    failing: tuple[SourceState, ...]
    removed: tuple[Removed, ...]

    @property
    def empty(self) -> bool:
        return not (self.items or self.failing or self.removed)


AWAITING_SHOWN = 30


def render_digest(cfg: Config, data: DigestData) -> Email:
    groups = []
    for label in LABELS:
        group = sorted(
            (i for i in data.items if i.label == label),
            key=lambda i: (i.severity != "high", i.published or i.first_seen),
        )
        if group:
            groups.append({"label": label, "mentions": [item_view(cfg, i) for i in group]})
    counts = [{"label": g["label"], "count": len(g["mentions"])} for g in groups]
    high = sum(1 for i in data.items if i.severity == "high")
    day = data.until.astimezone(cfg.alerts.tz).strftime("%a %d %b %Y")
    subject = clean_header(
        f"[{cfg.school.label}] Daily digest {day}: {len(data.items)} new"
        + (f", {high} high" if high else "")
        + (f", {len(data.failing)} failing source(s)" if data.failing else "")
    )
    context = {
        "school": cfg.school.label,
        "subject": subject,
        "since": _when(cfg, data.since) if data.since else None,
        "until": _when(cfg, data.until),
        "total": len(data.items),
        "counts": counts,
        "groups": groups,
        "awaiting": [item_view(cfg, i) for i in data.awaiting[:AWAITING_SHOWN]],
        "awaiting_more": max(0, len(data.awaiting) - AWAITING_SHOWN),
        "failing": [
            {
                "name": s.name,
                "failures": s.failures,
                "last_error": s.last_error or "unknown",
                "last_success": _when(cfg, s.last_success) if s.last_success else None,
            }
            for s in data.failing
        ],
        "removed": [
            {"item": item_view(cfg, r.item), "at": _when(cfg, r.at), "by": r.by, "note": r.note} for r in data.removed
        ],
        "not_watched": list(cfg.alerts.not_watched),
        "add_command": ADD_COMMAND,
        "desk": queue_link(cfg),
    }
    text, html = _render(cfg, "digest", context)
    return Email(
        to=cfg.alerts.recipients,
        subject=subject,
        text=text,
        html=html,
        kind="digest",
        dedupe_key=f"digest:{data.until.isoformat()}",
        item_ids=tuple(i.id for i in data.items),
    )


# ---------------------------------------------------------------- notes for the channels (Teams, Slack, ntfy...)
#
# A note is rendered twice: as plain text, and as Markdown for the channels that render it (Teams,
# Slack, Google Chat), where whatever came from the internet is escaped and only our own links
# (the post's address, the desk's) are links. A line is a list of parts: text, or a Link.

NOTE_TITLE_MAX = 120
NOTE_BODY_MAX = 1000  # Teams' cards take 1000 characters; a phone shows less
NOTE_EXCERPT = 280
NOTE_LINE = 90  # one mention's words in a pile-on or digest note
LEVELS = {"high": "failure", "medium": "warning"}  # how the channel marks it (red, amber); else info
_MARKDOWN_LINK = re.compile(r"\]\s*\(")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~=&])")  # CommonMark: any of these may be escaped
_URL_UNSAFE = re.compile(r"[\s<>\"`\\]")


@dataclass(frozen=True)
class Link:
    """A link of our own making in a note (http(s) only): a link in Markdown, the address in text."""

    url: str


Line = list[str | Link]


def note_text(text: str, limit: int) -> str:
    """Text from the internet fit for a note: one line (no forged line of our own), no control
    characters, no Markdown link (`[Review](https://evil)` on a channel that renders Markdown in
    plain text, as Mattermost does)."""
    return _MARKDOWN_LINK.sub("] (", one_line(printable(text), limit))


def markdown_escape(text: str) -> str:
    """Plain text that a Markdown channel shows as written."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _as_text(line: Line) -> str:
    return "".join(p.url if isinstance(p, Link) else p for p in line)


def _as_markdown(line: Line) -> str:
    return "".join(
        f"<{_URL_UNSAFE.sub(lambda m: quote(m.group()), p.url)}>" if isinstance(p, Link) else markdown_escape(p)
        for p in line
    )


def _link(url: str, limit: int = 300) -> str | Link:
    """The post's address as a link when it is http(s) and not too long, else words."""
    safe = http_url(url)
    return Link(safe) if safe and len(safe) <= limit else "no link"


def _note(
    title: str,
    lines: list[Line],
    kind: str,
    level: str = "info",
    dedupe_key: str | None = None,
    item_ids: tuple[int, ...] = (),
    more: Callable[[int], Line] | None = None,
    tail: list[Line] | None = None,
) -> Note:
    """Whole lines while the body stays under NOTE_BODY_MAX (then `more(left out)`), then `tail`."""
    tail = tail or []
    budget = NOTE_BODY_MAX - sum(len(_as_text(t)) + 1 for t in tail) - (40 if more else 0)
    kept: list[Line] = []
    for line in lines:
        budget -= len(_as_text(line)) + 1
        if budget < 0:
            break
        kept.append(line)
    if len(kept) < len(lines):
        kept.append(more(len(lines) - len(kept)) if more else ["…"])
    kept += tail
    title = one_line(title, NOTE_TITLE_MAX)
    return Note(
        title=title,
        body="\n".join(_as_text(x) for x in kept),
        title_markdown=markdown_escape(title),
        body_markdown="\n".join(_as_markdown(x) for x in kept),
        kind=kind,
        level=level,
        dedupe_key=dedupe_key,
        item_ids=item_ids,
    )


def _said(it: StoredItem) -> str:
    return f"{it.title}: {it.text}" if it.title and it.text else it.title or it.text


def _desk_or(cfg: Config, item_id: int, words: str) -> str | Link:
    return Link(desk_link(cfg, item_id)) if cfg.web.base_url else words


def _mention_line(cfg: Config, it: StoredItem) -> Line:
    line: Line = [f"#{it.id} {it.severity} {it.label} on {note_text(it.source, 40)}: {note_text(_said(it), NOTE_LINE)}"]
    return line + [" ", Link(desk_link(cfg, it.id))] if cfg.web.base_url else line


def _more(n: int) -> Line:
    return [f"…and {n} more"]


def render_alert_note(cfg: Config, item: StoredItem, route: str) -> Note:
    """One instant alert for one mention and one lane, for every channel of that lane."""
    title = f"{item.severity.upper()}: {reading(item)} about {cfg.school.label} on {note_text(item.source, 60)}"
    why = ", ".join(item.flags) if item.flags else f"scored {item.label}"
    staff = " (names a member of staff)" if item.mentions_staff else ""
    lines: list[Line] = [
        [f"“{note_text(_said(item), NOTE_EXCERPT)}”"],
        [f"Why: {note_text(why, 200)}{staff}"],
        [f"By {note_text(item.author or 'unknown', 60)}, {_when(cfg, item.published or item.first_seen)}"],
        ["Post: ", _link(item.url)],
        ["Review: ", Link(desk_link(cfg, item.id))]
        if cfg.web.base_url
        else [f"Details: school-monitor show {item.id}"],
    ]
    return _note(
        title,
        lines,
        kind="alert",
        level=LEVELS.get(item.severity, "info"),
        dedupe_key=f"alert:{item.id}:{route}",
        item_ids=(item.id,),
    )


def render_pileon_note(cfg: Config, items: list[StoredItem], route: str) -> Note:
    """The instant alerts past [alerts] max_per_hour, in one note (one per scan and lane)."""
    worst = min(items, key=lambda i: LABELS.index(i.label) if i.label in LABELS else len(LABELS))
    labels = ", ".join(sorted({i.label for i in items}, key=LABELS.index))
    title = (
        f"{worst.severity.upper()}: pile-on about {cfg.school.label}, "
        f"{len(items)} more {'item' if len(items) == 1 else 'items'} ({labels})"
    )
    head: Line = [f"More than {cfg.alerts.max_per_hour} alerts in the last hour; the rest in one message:"]
    tail: Line = (
        ["Review them: ", Link(queue_link(cfg))]
        if cfg.web.base_url
        else ["Review them: school-monitor items --status new"]
    )
    ids = tuple(i.id for i in items)
    return _note(
        title,
        [head] + [_mention_line(cfg, i) for i in items],
        kind="pileon",
        level=LEVELS.get(worst.severity, "info"),
        dedupe_key=f"pileon:{route}:{min(ids)}-{max(ids)}",
        item_ids=ids,
        more=_more,
        tail=[tail],
    )


def render_digest_note(cfg: Config, data: DigestData) -> Note:
    """The digest as a summary: the counts by label, the high ones, the failing sources, a link."""
    high = sorted((i for i in data.items if i.severity == "high"), key=lambda i: LABELS.index(i.label))
    day = data.until.astimezone(cfg.alerts.tz).strftime("%a %d %b %Y")
    title = f"{cfg.school.label} daily digest {day}: {len(data.items)} new" + (f", {len(high)} high" if high else "")
    counts = [f"{n} {label}" for label in LABELS if (n := sum(1 for i in data.items if i.label == label))]
    tail: list[Line] = []
    if data.awaiting:
        tail.append([f"{len(data.awaiting)} earlier mention(s) still awaiting review."])
    if data.removed:
        tail.append([f"{len(data.removed)} post(s) confirmed gone."])
    if data.failing:
        names = ", ".join(note_text(s.name, 40) for s in data.failing)
        tail.append([note_text(f"{len(data.failing)} source(s) failing: {names}.", 300)])
    tail.append(
        ["Open the queue: ", Link(queue_link(cfg))] if cfg.web.base_url else ["The whole digest: school-monitor digest"]
    )
    lines: list[Line] = [[f"{len(data.items)} new: {', '.join(counts)}" if counts else "No new mentions."]]
    if high:
        lines.append(["High:"])
        lines += [_mention_line(cfg, i) for i in high]
    return _note(
        title,
        lines,
        kind="digest",
        level="warning" if high or data.failing else "info",
        dedupe_key=f"digest:{data.until.isoformat()}",
        item_ids=tuple(i.id for i in data.items),
        more=_more,
        tail=tail,
    )


def render_test_note(cfg: Config) -> Note:
    lines: list[Line] = [
        [f"A test from school-monitor for {cfg.school.name}: alerts about mentions of the school will arrive here."]
    ]
    if cfg.web.base_url:
        lines.append(["The desk: ", Link(queue_link(cfg))])
    return _note(f"[{cfg.school.label}] Test message from school-monitor", lines, kind="test")


def render_test_email(cfg: Config, recipients: tuple[str, ...]) -> Email:
    subject = clean_header(f"[{cfg.school.label}] Test message from school-monitor")
    text = (
        f"A test from school-monitor for {cfg.school.name}.\n\n"
        "Alerts about mentions of the school, and the daily digest, will arrive at this address.\n"
        + (f"\nThe desk: {queue_link(cfg)}\n" if cfg.web.base_url else "")
    )
    return Email(to=recipients, subject=subject, text=text, kind="test")


# ---------------------------------------------------------------- the message


def message_bytes(cfg: Config, email: Email, now: datetime) -> bytes:
    """The whole RFC 5322 message (text and HTML as multipart/alternative), as it will be sent.

    The Message-ID is derived from the dedupe_key, so a retried email is the same email.
    """
    msg = EmailMessage(policy=policy.SMTP)
    sender = cfg.alerts.sender
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    msg["From"] = sender
    msg["To"] = ", ".join(email.to)
    msg["Subject"] = clean_header(email.subject)
    msg["Date"] = format_datetime(now)
    key = email.dedupe_key or f"{email.kind}:{now.isoformat()}:{email.subject}"
    msg["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"  # no out-of-office replies to the monitor
    msg["X-School-Monitor"] = email.kind
    msg.set_content(email.text)
    if email.html:
        msg.add_alternative(email.html, subtype="html")
    return msg.as_bytes()


# ---------------------------------------------------------------- delivery


def deliver(cfg: Config, message: bytes, recipients: tuple[str, ...] | list[str]) -> None:
    """Send one message by SMTP, or write it under data/outbox/ without [smtp]. NotifyError on failure."""
    if not recipients:
        raise NotifyError("no recipients: set [alerts] recipients in sources.toml")
    if cfg.smtp is None:
        write_eml(cfg.outbox_dir, message)
        return
    _send_smtp(cfg, cfg.smtp, message, [parseaddr(r)[1] for r in recipients])


def eml_path(folder: Path, message: bytes) -> Path:
    """Where a message is written as an .eml file: <date>-<hash>.eml, one name per message."""
    headers = BytesHeaderParser(policy=policy.default).parsebytes(message)
    try:
        stamp = parsedate_to_datetime(headers["Date"]).strftime("%Y%m%d-%H%M%S")
    except (TypeError, ValueError):
        stamp = "undated"
    return folder / f"{stamp}-{hashlib.sha256(message).hexdigest()[:12]}.eml"


def write_eml(folder: Path, message: bytes) -> Path:
    """Write the message as <date>-<hash>.eml, atomically (temp file + rename); the same message
    written twice is one file."""
    path = eml_path(folder, message)
    tmp = path.with_suffix(".tmp")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(message)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        raise NotifyError(f"cannot write {path}: {e.strerror or e}") from None
    return path


def _password(smtp: Smtp) -> str | None:
    name = smtp.password_env
    if not name:
        return None
    value = os.environ.get(name)
    if not value:
        raise NotifyError(f"the SMTP password is not set: export {name} (named by [smtp] password_env)")
    return value


def tls_context(cfg: Config) -> ssl.SSLContext:
    """The context that verifies the mail server: against [smtp] ca_file when set, else the
    system's CAs. NotifyError naming the file when it is missing or holds no PEM certificate."""
    smtp = cfg.smtp
    if smtp is None or not smtp.ca_file:
        return ssl.create_default_context()
    path = cfg.base_dir / smtp.ca_file
    try:
        return ssl.create_default_context(cafile=str(path))
    except FileNotFoundError:
        raise NotifyError(f"[smtp] ca_file {path}: no such file") from None
    except (ssl.SSLError, OSError, ValueError) as e:
        raise NotifyError(f"[smtp] ca_file {path}: not a PEM file of CA certificates ({_reason(e)})") from None


def _send_smtp(cfg: Config, smtp: Smtp, message: bytes, recipients: list[str]) -> None:
    if smtp.security == "none" and smtp.username:
        raise NotifyError('[smtp] security = "none" would send the password unencrypted; use starttls or tls')
    context = tls_context(cfg)  # certificates are always verified
    timeout = smtp.timeout.total_seconds()
    sender = parseaddr(cfg.alerts.sender)[1]
    password = _password(smtp) if smtp.username else None
    conn: smtplib.SMTP
    try:
        if smtp.security == "tls":
            conn = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout, context=context)
        else:
            conn = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        with conn:
            if smtp.security == "starttls":
                conn.starttls(context=context)
            if smtp.username:
                conn.login(smtp.username, password or "")
            refused = conn.sendmail(sender, recipients, message)
    except smtplib.SMTPAuthenticationError as e:
        raise NotifyError(f"SMTP login to {smtp.host} as {smtp.username!r} refused: {e.smtp_code}") from None
    except smtplib.SMTPRecipientsRefused as e:
        raise NotifyError(f"SMTP server {smtp.host} refused every recipient: {_refused(e.recipients)}") from None
    except (smtplib.SMTPException, OSError) as e:
        raise NotifyError(f"cannot send by {smtp.host}:{smtp.port}: {e.__class__.__name__}: {_reason(e)}") from None
    if refused:
        raise PartlyRefused(f"SMTP server {smtp.host} refused {_refused(refused)}")


class PartlyRefused(NotifyError):
    """The server took the message for some recipients only: it is sent (a retry would repeat it)."""


def _refused(recipients: dict) -> str:
    return ", ".join(f"{addr} ({code})" for addr, (code, _msg) in recipients.items())


def _reason(e: Exception) -> str:
    text = str(e) or e.__class__.__name__
    return re.sub(r"\s+", " ", text)[:300]
