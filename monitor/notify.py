"""Emails: render the alert, pile-on and digest templates, build the message, deliver it.

The only module that renders templates (Jinja2) and touches SMTP (smtplib). Rendering is pure:
plain data (StoredItem lists, the config, `now`) in, models.Email out. `deliver` sends one
message or, without [smtp], writes it as an .eml file under data/outbox/.

Templates: a file of the same name in alerts/ beside sources.toml overrides the packaged one
(monitor/templates, shipped from the repository's alerts/). Whatever came from the internet is
escaped in HTML (autoescape), and in headers stripped of control characters and capped.
"""

from __future__ import annotations

import hashlib
import os
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime, parseaddr, parsedate_to_datetime
from pathlib import Path

from monitor import templating
from monitor.config import Config, Smtp
from monitor.errors import NotifyError
from monitor.models import LABELS, Email, SourceState, StoredItem
from monitor.text import excerpt, http_url, local_time, one_line

SUBJECT_MAX = 200
FIRST_WORDS = 8
ADD_COMMAND = "school-monitor add --url URL --text TEXT --seen-on PLATFORM"


def _render(cfg: Config, name: str, context: dict) -> tuple[str, str]:
    """The plain-text and HTML parts of one template pair."""
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


def item_view(cfg: Config, it: StoredItem) -> dict:
    """One mention as the templates see it (plain values; the HTML templates escape them)."""
    return {
        "id": it.id,
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


def render_alert(cfg: Config, item: StoredItem, recipients: tuple[str, ...], route: str) -> Email:
    """One instant alert for one mention and one route; its dedupe_key makes it one email ever."""
    subject = clean_header(
        f'[{cfg.school.label}] {item.severity.upper()}: {item.label} on {item.source} — "{_first_words(item)}"'
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


def write_eml(folder: Path, message: bytes) -> Path:
    """Write the message as <date>-<hash>.eml, atomically (temp file + rename); the same message
    written twice is one file."""
    headers = BytesHeaderParser(policy=policy.default).parsebytes(message)
    try:
        stamp = parsedate_to_datetime(headers["Date"]).strftime("%Y%m%d-%H%M%S")
    except (TypeError, ValueError):
        stamp = "undated"
    path = folder / f"{stamp}-{hashlib.sha256(message).hexdigest()[:12]}.eml"
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
