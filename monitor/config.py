"""sources.toml -> frozen dataclasses. Every problem is reported at once, each with its key.

Loaded once (stdlib tomllib) and passed down; nothing else reads sources.toml or the
environment, except `[smtp] password_env`, which `notify` reads when it sends.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import time, timedelta
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.errors import ConfigError
from monitor.models import LABELS

DEFAULT_CONFIG = "sources.toml"
DEFAULT_DATABASE = "sqlite:///data/monitor.db"
SOURCE_TYPES = ("feed", "page")
PAGE_KEYS = ("item", "text", "title", "author", "date", "link")
DEFAULT_NOT_WATCHED = (
    "private Facebook groups",
    "TikTok",
    "Instagram",
    "WhatsApp groups",
)

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_EMAIL = re.compile(r"^[^@\s<>\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def parse_duration(text: str) -> timedelta:
    """'30s', '15m', '1h', '1d' -> timedelta. ValueError with the accepted forms otherwise."""
    m = _DURATION.match(str(text))
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration; use a positive number and a unit: 30s, 15m, 1h, 1d")
    return timedelta(seconds=int(m.group(1)) * _DURATION_UNITS[m.group(2)])


def parse_size(text) -> int:
    """'5MB', '500KB', 1048576 -> bytes."""
    if isinstance(text, int) and not isinstance(text, bool) and text > 0:
        return text
    m = _SIZE.match(str(text))
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a size; use e.g. 500KB, 5MB, 1GB")
    return int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "B").upper()])


def parse_hhmm(text: str) -> time:
    m = _HHMM.match(str(text).strip())
    if not m:
        raise ValueError(f"{text!r} is not a time of day; use HH:MM, e.g. 07:30")
    return time(int(m.group(1)), int(m.group(2)))


def check_email(text: str) -> str:
    """Return the bare address of 'a@b.org' or 'Name <a@b.org>'; ValueError when it is not one."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not an email address")
    _, addr = parseaddr(text)
    if not addr or not _EMAIL.match(addr) or "\n" in text or "\r" in text:
        raise ValueError(f"{text!r} is not an email address")
    return text.strip()


def check_http_url(text: str) -> str:
    parts = urlsplit(str(text).strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{text!r} is not an http(s) URL")
    return str(text).strip()


@dataclass(frozen=True)
class School:
    name: str
    aliases: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    not_context: tuple[str, ...] = ()
    staff: tuple[str, ...] = ()
    short_name: str = ""  # for email subjects; default: the first alias

    @property
    def label(self) -> str:
        return self.short_name or (self.aliases[0] if self.aliases else self.name)


@dataclass(frozen=True)
class Route:
    """Send these labels (also) to these people: the safeguarding lane."""

    name: str
    labels: tuple[str, ...]
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class Alerts:
    recipients: tuple[str, ...] = ()
    sender: str = "school-monitor@localhost"
    immediate: tuple[str, ...] = ("extremism", "abuse")
    immediate_staff: bool = True  # criticism that names staff (severity high) is also sent at once
    digest_at: time = time(7, 30)
    timezone: str = "Europe/London"
    immediate_max_age: timedelta = timedelta(days=14)
    quiet_hours: tuple[time, time] | None = None
    digest_when_empty: bool = False
    max_per_hour: int = 10  # past this, instant alerts are gathered into one pile-on email
    failing_after: timedelta = timedelta(days=1)
    not_watched: tuple[str, ...] = DEFAULT_NOT_WATCHED
    routes: tuple[Route, ...] = ()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int = 587
    security: str = "starttls"  # starttls, tls, none
    username: str | None = None
    password_env: str | None = None
    timeout: timedelta = timedelta(seconds=30)
    ca_file: str | None = None  # verify the server against this CA (PEM) instead of the system's


@dataclass(frozen=True)
class Storage:
    database: str = DEFAULT_DATABASE
    keep_days: int = 365


@dataclass(frozen=True)
class Scoring:
    extra_criticism: tuple[str, ...] = ()
    extra_praise: tuple[str, ...] = ()
    extra_abuse: tuple[str, ...] = ()
    extra_extremism: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    name: str
    type: str
    url: str
    interval: timedelta = timedelta(hours=1)
    timeout: timedelta = timedelta(seconds=20)
    max_bytes: int = 5 * 1024**2
    per_host: int = 4
    robots: bool = False  # obey robots.txt; default off for feeds, on for pages
    all_mentions: bool = False
    enabled: bool = True
    item: str | None = None  # page sources: CSS selectors
    text: str | None = None
    title: str | None = None
    author: str | None = None
    date: str | None = None
    link: str | None = None


@dataclass(frozen=True)
class Config:
    path: Path
    school: School
    alerts: Alerts = field(default_factory=Alerts)
    smtp: Smtp | None = None
    storage: Storage = field(default_factory=Storage)
    scoring: Scoring = field(default_factory=Scoring)
    sources: tuple[Source, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def templates_dir(self) -> Path:
        """Templates here override the packaged ones, file by file."""
        return self.base_dir / "alerts"

    @property
    def database_url(self) -> str:
        return resolve_database_url(os.environ.get("MONITOR_DATABASE_URL") or self.storage.database, self.base_dir)

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(name)


def resolve_database_url(url: str, base_dir: Path) -> str:
    """Make a relative SQLite path relative to the directory of sources.toml."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != "sqlite:///:memory:":
        path = url[len(prefix) :]
        if path and not path.startswith("/"):
            return prefix + str((base_dir / path).resolve())
    return url


def default_config_path() -> Path:
    return Path(os.environ.get("MONITOR_CONFIG") or DEFAULT_CONFIG)


def load(path: str | Path | None = None) -> Config:
    """Read and validate sources.toml. Raises ConfigError listing every problem found."""
    path = Path(path) if path else default_config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(path, [(None, "file not found (pass --config PATH or set $MONITOR_CONFIG)")]) from None
    except OSError as e:
        raise ConfigError(path, [(None, f"cannot read: {e.strerror}")]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(path, [(None, f"not UTF-8 text (byte {e.start})")]) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(path, [(None, f"invalid TOML: {e}")]) from None
    return from_dict(data, path.resolve())


def from_dict(data: dict, path: Path) -> Config:
    v = _Validator()
    v.known(data, "", ("school", "alerts", "smtp", "storage", "defaults", "scoring", "source"))
    school = _school(v, v.table(data, "school", required=True))
    alerts = _alerts(v, v.table(data, "alerts"))
    smtp = _smtp(v, data["smtp"]) if isinstance(data.get("smtp"), dict) else None
    if "smtp" in data and not isinstance(data["smtp"], dict):
        v.problem("smtp", "must be a table ([smtp])")
    storage = _storage(v, v.table(data, "storage"))
    scoring = _scoring(v, v.table(data, "scoring"))
    defaults = _defaults(v, v.table(data, "defaults"))
    sources = _sources(v, data.get("source", []), defaults)
    if v.problems:
        raise ConfigError(path, v.problems)
    warnings = []
    if not sources:
        warnings.append("no [[source]] configured: nothing will be collected")
    if not alerts.recipients:
        warnings.append("alerts.recipients is empty: nobody will be emailed")
    return Config(
        path=path,
        school=school,
        alerts=alerts,
        smtp=smtp,
        storage=storage,
        scoring=scoring,
        sources=tuple(sources),
        warnings=tuple(warnings),
    )


class _Validator:
    """Collects (key, problem) pairs while reading tables, so all problems are reported at once."""

    def __init__(self):
        self.problems: list[tuple[str, str]] = []

    def problem(self, key: str, text: str) -> None:
        self.problems.append((key, text))

    def known(self, table: dict, prefix: str, allowed) -> None:
        for key in table:
            if key not in allowed:
                hint = _closest(key, allowed)
                self.problem(f"{prefix}{key}", "unknown key" + (f" (did you mean {hint!r}?)" if hint else ""))

    def table(self, data: dict, key: str, required=False) -> dict:
        value = data.get(key)
        if value is None:
            if required:
                self.problem(key, f"missing table [{key}]")
            return {}
        if not isinstance(value, dict):
            self.problem(key, f"must be a table ([{key}])")
            return {}
        return value

    def get(self, table, prefix, key, kind, default=None, required=False, convert=None):
        """Read table[key], check its type, convert it; on a problem record it and return default."""
        full = f"{prefix}{key}"
        if key not in table:
            if required:
                self.problem(full, "missing required key")
            return default
        value = table[key]
        if kind is list:
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                self.problem(full, "must be a list of strings")
                return default
            if convert:
                out = []
                for x in value:
                    try:
                        out.append(convert(x))
                    except ValueError as e:
                        self.problem(full, str(e))
                return tuple(out)
            return tuple(x.strip() for x in value if x.strip())
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            self.problem(full, f"must be a whole number, not {value!r}")
            return default
        if kind is bool and not isinstance(value, bool):
            self.problem(full, f"must be true or false, not {value!r}")
            return default
        if kind is str and not isinstance(value, str):
            self.problem(full, f"must be a string, not {value!r}")
            return default
        if convert:
            try:
                return convert(value)
            except ValueError as e:
                self.problem(full, str(e))
                return default
        return value


def _closest(key, allowed):
    import difflib

    match = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    return match[0] if match else None


def _school(v: _Validator, t: dict) -> School:
    p = "school."
    v.known(t, p, ("name", "aliases", "exclude", "context", "not_context", "staff", "short_name"))
    name = v.get(t, p, "name", str, default="", required=True)
    if isinstance(name, str) and not name.strip() and "name" in t:
        v.problem("school.name", "must not be empty")
    aliases = v.get(t, p, "aliases", list, default=())
    return School(
        name=(name or "").strip(),
        aliases=aliases or ((name.strip(),) if name else ()),
        exclude=v.get(t, p, "exclude", list, default=()),
        context=v.get(t, p, "context", list, default=()),
        not_context=v.get(t, p, "not_context", list, default=()),
        staff=v.get(t, p, "staff", list, default=()),
        short_name=v.get(t, p, "short_name", str, default=""),
    )


def _label_list(text):
    if text not in LABELS:
        raise ValueError(f"{text!r} is not a label; use one of {', '.join(LABELS)}")
    return text


def _timezone(text):
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{text!r} is not a time zone; use e.g. Europe/London") from None
    return text


def _quiet_hours(text):
    text = text.strip()
    if not text:
        return None
    parts = text.split("-")
    if len(parts) != 2:
        raise ValueError(f'{text!r} is not a range of hours; use e.g. 20:00-07:00, or "" for none')
    return parse_hhmm(parts[0]), parse_hhmm(parts[1])


def _alerts(v: _Validator, t: dict) -> Alerts:
    p = "alerts."
    v.known(
        t,
        p,
        (
            "recipients",
            "sender",
            "immediate",
            "immediate_staff",
            "digest_at",
            "timezone",
            "immediate_max_age",
            "quiet_hours",
            "digest_when_empty",
            "max_per_hour",
            "failing_after",
            "not_watched",
            "route",
        ),
    )
    d = Alerts()
    routes = []
    raw_routes = t.get("route", [])
    if not isinstance(raw_routes, list):
        v.problem("alerts.route", "must be an array of tables ([[alerts.route]])")
        raw_routes = []
    for i, r in enumerate(raw_routes, 1):
        rp = f"alerts.route[{i}]."
        if not isinstance(r, dict):
            v.problem(rp[:-1], "must be a table")
            continue
        v.known(r, rp, ("name", "labels", "recipients"))
        routes.append(
            Route(
                name=v.get(r, rp, "name", str, default=f"route {i}"),
                labels=v.get(r, rp, "labels", list, default=(), required=True, convert=_label_list),
                recipients=v.get(r, rp, "recipients", list, default=(), required=True, convert=check_email),
            )
        )
    max_per_hour = v.get(t, p, "max_per_hour", int, default=d.max_per_hour)
    if isinstance(max_per_hour, int) and max_per_hour < 1:
        v.problem("alerts.max_per_hour", "must be at least 1")
    return Alerts(
        recipients=v.get(t, p, "recipients", list, default=(), convert=check_email),
        sender=v.get(t, p, "sender", str, default=d.sender, convert=check_email),
        immediate=v.get(t, p, "immediate", list, default=d.immediate, convert=_label_list),
        immediate_staff=v.get(t, p, "immediate_staff", bool, default=d.immediate_staff),
        digest_at=v.get(t, p, "digest_at", str, default=d.digest_at, convert=parse_hhmm),
        timezone=v.get(t, p, "timezone", str, default=d.timezone, convert=_timezone),
        immediate_max_age=v.get(t, p, "immediate_max_age", str, default=d.immediate_max_age, convert=parse_duration),
        quiet_hours=v.get(t, p, "quiet_hours", str, default=None, convert=_quiet_hours),
        digest_when_empty=v.get(t, p, "digest_when_empty", bool, default=d.digest_when_empty),
        max_per_hour=max_per_hour,
        failing_after=v.get(t, p, "failing_after", str, default=d.failing_after, convert=parse_duration),
        not_watched=v.get(t, p, "not_watched", list, default=d.not_watched),
        routes=tuple(routes),
    )


def _smtp(v: _Validator, t: dict) -> Smtp:
    p = "smtp."
    v.known(t, p, ("host", "port", "security", "username", "password_env", "timeout", "ca_file"))
    security = v.get(t, p, "security", str, default="starttls")
    if security not in ("starttls", "tls", "none"):
        v.problem("smtp.security", f"{security!r} is not one of starttls, tls, none")
    default_port = {"starttls": 587, "tls": 465}.get(security, 25)
    port = v.get(t, p, "port", int, default=default_port)
    if isinstance(port, int) and not 0 < port < 65536:
        v.problem("smtp.port", f"{port} is not a TCP port")
    if "password" in t:
        v.problems = [x for x in v.problems if x[0] != "smtp.password"]
        v.problem(
            "smtp.password",
            "never put the password in sources.toml; name an environment variable in password_env instead",
        )
    return Smtp(
        host=v.get(t, p, "host", str, default="", required=True),
        port=port,
        security=security,
        username=v.get(t, p, "username", str, default=None),
        password_env=v.get(t, p, "password_env", str, default=None),
        timeout=v.get(t, p, "timeout", str, default=timedelta(seconds=30), convert=parse_duration),
        ca_file=v.get(t, p, "ca_file", str, default=None),
    )


def _storage(v: _Validator, t: dict) -> Storage:
    p = "storage."
    v.known(t, p, ("database", "keep_days"))
    keep = v.get(t, p, "keep_days", int, default=365)
    if isinstance(keep, int) and keep < 1:
        v.problem("storage.keep_days", "must be at least 1")
    db = v.get(t, p, "database", str, default=DEFAULT_DATABASE)
    if isinstance(db, str) and "://" not in db:
        v.problem("storage.database", f"{db!r} is not a database URL; e.g. sqlite:///data/monitor.db")
    return Storage(database=db, keep_days=keep)


def _scoring(v: _Validator, t: dict) -> Scoring:
    p = "scoring."
    keys = ("extra_criticism", "extra_praise", "extra_abuse", "extra_extremism")
    v.known(t, p, keys)
    return Scoring(**{k: v.get(t, p, k, list, default=()) for k in keys})


_DEFAULT_KEYS = ("interval", "timeout", "max_bytes", "per_host", "robots")


def _defaults(v: _Validator, t: dict) -> dict:
    p = "defaults."
    v.known(t, p, _DEFAULT_KEYS)
    return _limits(
        v,
        t,
        p,
        {
            "interval": timedelta(hours=1),
            "timeout": timedelta(seconds=20),
            "max_bytes": 5 * 1024**2,
            "per_host": 4,
            "robots": None,
        },
    )


def _limits(v: _Validator, t: dict, p: str, base: dict) -> dict:
    out = dict(base)
    out["interval"] = v.get(t, p, "interval", str, default=base["interval"], convert=parse_duration)
    out["timeout"] = v.get(t, p, "timeout", str, default=base["timeout"], convert=parse_duration)
    if "max_bytes" in t:
        try:
            out["max_bytes"] = parse_size(t["max_bytes"])
        except ValueError as e:
            v.problem(f"{p}max_bytes", str(e))
    per_host = v.get(t, p, "per_host", int, default=base["per_host"])
    if isinstance(per_host, int) and per_host < 1:
        v.problem(f"{p}per_host", "must be at least 1")
    out["per_host"] = per_host
    out["robots"] = v.get(t, p, "robots", bool, default=base["robots"])
    return out


_SOURCE_KEYS = ("name", "type", "url", "all_mentions", "enabled") + _DEFAULT_KEYS + PAGE_KEYS


def _sources(v: _Validator, raw, defaults: dict) -> list[Source]:
    if not isinstance(raw, list):
        v.problem("source", "must be an array of tables ([[source]])")
        return []
    sources, names = [], {}
    for i, t in enumerate(raw, 1):
        p = f"source[{i}]."
        if not isinstance(t, dict):
            v.problem(f"source[{i}]", "must be a table")
            continue
        v.known(t, p, _SOURCE_KEYS)
        name = v.get(t, p, "name", str, default="", required=True).strip()
        if name in names:
            v.problem(f"{p}name", f"duplicate source name {name!r} (also source[{names[name]}])")
        elif name:
            names[name] = i
        elif "name" in t:
            v.problem(f"{p}name", "must not be empty")
        kind = v.get(t, p, "type", str, default="feed", required=True)
        if kind not in SOURCE_TYPES:
            v.problem(f"{p}type", f'unknown source type {kind!r}; use "feed" or "page"')
        url = v.get(t, p, "url", str, default="", required=True, convert=check_http_url)
        if kind == "feed":
            for key in PAGE_KEYS:
                if key in t:
                    v.problem(f"{p}{key}", 'CSS selectors are only for type = "page" sources')
        limits = _limits(v, t, p, defaults)
        if limits["robots"] is None:
            limits["robots"] = kind == "page"
        page = {k: v.get(t, p, k, str, default=None) for k in PAGE_KEYS}
        sources.append(
            Source(
                name=name,
                type=kind,
                url=url or "",
                all_mentions=v.get(t, p, "all_mentions", bool, default=False),
                enabled=v.get(t, p, "enabled", bool, default=True),
                **limits,
                **page,
            )
        )
    return sources
