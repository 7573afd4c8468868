"""sources.toml -> frozen dataclasses. Every problem is reported at once, each with its key.

The dataclasses below are the one home of every key and default: the validator reads each
field's TOML key, type, converter and default from them (`setting(...)` metadata), so a key is
declared once. Loaded once (stdlib tomllib) and passed down. Environment variables are named
here (password_env, urls_env, api_key_env, "env:NAME" headers) but read only where they are used.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import MISSING, Field, dataclass, field, fields
from datetime import time, timedelta
from email.utils import parseaddr
from functools import cache
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.errors import ConfigError
from monitor.models import LABELS

DEFAULT_CONFIG = "sources.toml"
DEFAULT_DATABASE = "sqlite:///data/monitor.db"
DEFAULT_LISTEN = "127.0.0.1:8080"
SOURCE_TYPES = ("feed", "page", "json")
# Keys that pick a post's parts: CSS selectors in a page, JMESPath expressions in a JSON answer.
PART_KEYS = ("text", "title", "author", "date", "link")
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
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CHANNEL_URL = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.IGNORECASE)


# ---------------------------------------------------------------- value parsers (ValueError says what is accepted)


def parse_duration(text: str) -> timedelta:
    """'30s', '15m', '1h', '1d' -> timedelta. ValueError with the accepted forms otherwise."""
    m = _DURATION.match(str(text))
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration; use a positive number and a unit: 30s, 15m, 1h, 1d")
    return timedelta(seconds=int(m.group(1)) * _DURATION_UNITS[m.group(2)])


def format_duration(td: timedelta) -> str:
    """timedelta -> '30s', '15m', '1h', '1d' (the largest unit that divides it)."""
    s = int(td.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s % size == 0 and s >= size:
            return f"{s // size}{unit}"
    return f"{s}s"


def parse_size(text: str | int) -> int:
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
    try:
        parts = urlsplit(str(text).strip())
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{text!r} is not an http(s) URL")
    return str(text).strip()


def check_channel_url(text: str) -> str:
    """An Apprise URL (workflows://… for Teams, slack://…, ntfy://…, json://host/path). Its secret part is
    never repeated in the message."""
    if not _CHANNEL_URL.match(str(text).strip()):
        scheme = str(text).split("://", 1)[0][:20] if "://" in str(text) else ""
        shown = f"{scheme}://…" if scheme else "a value without a scheme"
        raise ValueError(f"{shown} is not a notification URL; use e.g. workflows://… (Teams), slack://…, ntfy://…")
    return str(text).strip()


def check_env_name(text: str) -> str:
    if not _ENV_NAME.match(str(text)):
        raise ValueError(f"{text!r} is not an environment variable name")
    return str(text)


def check_listen(text: str) -> str:
    """'HOST:PORT' for the desk (IPv6 in brackets: '[::1]:8080')."""
    host, sep, port = str(text).strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT, e.g. 127.0.0.1:8080")
    return str(text).strip()


def check_ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(str(text).strip()))
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address") from None


def check_timezone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{text!r} is not a time zone; use e.g. Europe/London") from None
    return text


def check_label(text: str) -> str:
    if text not in LABELS:
        raise ValueError(f"{text!r} is not a label; use one of {', '.join(LABELS)}")
    return text


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    text = text.strip()
    if not text:
        return None
    parts = text.split("-")
    if len(parts) != 2:
        raise ValueError(f'{text!r} is not a range of hours; use e.g. 20:00-07:00, or "" for none')
    return parse_hhmm(parts[0]), parse_hhmm(parts[1])


def at_least(n: int) -> Callable[[int], int]:
    def check(value: int) -> int:
        if value < n:
            raise ValueError(f"must be at least {n}")
        return value

    return check


def _port(value: int) -> int:
    if not 0 < value < 65536:
        raise ValueError(f"{value} is not a TCP port")
    return value


def _database_url(text: str) -> str:
    if "://" not in text:
        raise ValueError(f"{text!r} is not a database URL; e.g. sqlite:///data/monitor.db")
    return text


def setting(
    default: Any = MISSING,
    *,
    convert: Callable[[Any], Any] | None = None,
    kind: type | tuple[type, ...] | None = None,
    key: str | None = None,
    doc: str | None = None,
) -> Any:
    """A field that is a sources.toml key: its TOML type (`kind`, else the field's type), a
    converter raising ValueError with the problem, its TOML name when it differs (`key`), and
    `doc`, the default as the README writes it when it is not a plain literal."""
    meta = {"convert": convert, "kind": kind, "key": key, "doc": doc}
    return field(default=default, metadata=meta)


# ---------------------------------------------------------------- the configuration


@dataclass(frozen=True)
class School:
    name: str = setting()
    aliases: tuple[str, ...] = setting((), doc="[name]")  # matched as whole words, any case
    exclude: tuple[str, ...] = setting(())
    context: tuple[str, ...] = setting(())
    not_context: tuple[str, ...] = setting(())
    staff: tuple[str, ...] = setting(())
    short_name: str = setting("", doc="the first alias")  # for email subjects

    @property
    def label(self) -> str:
        return self.short_name or (self.aliases[0] if self.aliases else self.name)


@dataclass(frozen=True)
class Route:
    """Send these labels (also) to these people and channels: the safeguarding lane."""

    labels: tuple[str, ...] = setting(convert=check_label)
    name: str = setting("", doc='"route N"')
    recipients: tuple[str, ...] = setting((), convert=check_email)
    urls: tuple[str, ...] = setting((), convert=check_channel_url)


@dataclass(frozen=True)
class Alerts:
    recipients: tuple[str, ...] = setting((), convert=check_email)
    sender: str = setting("school-monitor@localhost", convert=check_email)
    immediate: tuple[str, ...] = setting(("extremism", "abuse"), convert=check_label)
    immediate_staff: bool = setting(True)  # criticism that names staff (severity high) is also sent at once
    digest_at: time = setting(time(7, 30), convert=parse_hhmm, kind=str)
    timezone: str = setting("Europe/London", convert=check_timezone)
    immediate_max_age: timedelta = setting(timedelta(days=14), convert=parse_duration, kind=str)
    quiet_hours: tuple[time, time] | None = setting(None, convert=parse_quiet_hours, kind=str, doc='"" (off)')
    digest_when_empty: bool = setting(False)
    max_per_hour: int = setting(10, convert=at_least(1))  # past this, instant alerts become one pile-on
    failing_after: timedelta = setting(timedelta(days=1), convert=parse_duration, kind=str)
    not_watched: tuple[str, ...] = setting(DEFAULT_NOT_WATCHED, doc="private Facebook groups, TikTok, …")
    urls: tuple[str, ...] = setting((), convert=check_channel_url)  # Apprise URLs beside email
    urls_env: str | None = setting(None, convert=check_env_name)  # or from this variable, whitespace-separated
    routes: tuple[Route, ...] = setting((), key="route", doc="none")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Smtp:
    host: str = setting()
    port: int = setting(587, convert=_port, doc="587 (starttls), 465 (tls), 25 (none)")
    security: str = setting("starttls")  # starttls, tls, none
    username: str | None = setting(None)
    password_env: str | None = setting(None, convert=check_env_name)
    timeout: timedelta = setting(timedelta(seconds=30), convert=parse_duration, kind=str)
    ca_file: str | None = setting(None)  # verify the server against this CA (PEM) instead of the system's


SMTP_SECURITY = ("starttls", "tls", "none")
SMTP_PORTS = {"starttls": 587, "tls": 465, "none": 25}


@dataclass(frozen=True)
class Storage:
    database: str = setting(DEFAULT_DATABASE, convert=_database_url)
    keep_days: int = setting(365, convert=at_least(1))


@dataclass(frozen=True)
class AI:
    """An optional second opinion from an OpenAI-compatible chat-completions endpoint."""

    url: str = setting(convert=check_http_url)
    model: str = setting()
    api_key_env: str | None = setting(None, convert=check_env_name)
    timeout: timedelta = setting(timedelta(seconds=20), convert=parse_duration, kind=str)
    max_per_day: int = setting(200, convert=at_least(1))


@dataclass(frozen=True)
class Scoring:
    extra_criticism: tuple[str, ...] = setting(())
    extra_praise: tuple[str, ...] = setting(())
    extra_abuse: tuple[str, ...] = setting(())
    extra_extremism: tuple[str, ...] = setting(())
    learn_from_corrections: bool = setting(True)
    ai: AI | None = setting(None, doc="off")


@dataclass(frozen=True)
class Web:
    """The review desk."""

    listen: str | None = setting(None, convert=check_listen, doc="off for `run`; `serve`: 127.0.0.1:8080")
    base_url: str = setting("", convert=check_http_url, doc="none")  # what emails link to
    session_hours: int = setting(12, convert=at_least(1))
    trusted_proxy: str | None = setting(None, convert=check_ip)  # honour X-Forwarded-For/-Proto from it


@dataclass(frozen=True)
class Host:
    """Politeness for one host ("host" covers all its ports, "host:port" one port)."""

    host: str
    min_gap: timedelta = setting(timedelta(0), convert=parse_duration, kind=str, doc="none")


# Keys a source takes from [defaults] unless it sets its own.
DEFAULT_KEYS = ("interval", "timeout", "max_bytes", "per_host", "robots")


@dataclass(frozen=True)
class Source:
    name: str = setting()
    type: str = setting()
    url: str = setting(convert=check_http_url)
    interval: timedelta = setting(timedelta(hours=1), convert=parse_duration, kind=str)
    timeout: timedelta = setting(timedelta(seconds=20), convert=parse_duration, kind=str)
    max_bytes: int = setting(5 * 1024**2, convert=parse_size, kind=(int, str), doc='"5MB"')
    per_host: int = setting(4, convert=at_least(1))
    robots: bool = setting(False, doc="`false` for feeds and JSON, `true` for pages")
    all_mentions: bool = setting(False)
    enabled: bool = setting(True)
    item: str | None = setting(None)  # page: the CSS selector of one post
    items: str | None = setting(None)  # json: the JMESPath expression of the list of posts
    text: str | None = setting(None)  # within a post: CSS (page) or JMESPath (json)
    title: str | None = setting(None)
    author: str | None = setting(None)
    date: str | None = setting(None)
    link: str | None = setting(None)
    # json: request headers; "env:NAME" values are read from the environment when fetching
    headers: tuple[tuple[str, str], ...] = setting((), kind=dict, doc="none")


@dataclass(frozen=True)
class Config:
    path: Path
    school: School
    alerts: Alerts = field(default_factory=Alerts)
    smtp: Smtp | None = None
    storage: Storage = field(default_factory=Storage)
    scoring: Scoring = field(default_factory=Scoring)
    web: Web = field(default_factory=Web)
    hosts: tuple[Host, ...] = ()
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

    @property
    def host_gaps(self) -> dict[str, float]:
        """[hosts."…"] min_gap in seconds, by "host" or "host:port"."""
        return {h.host: h.min_gap.total_seconds() for h in self.hosts if h.min_gap}


def source_default(name: str) -> Any:
    """A [[source]] key's default (what [defaults] changes), for a fetch that is no source's."""
    return Source.__dataclass_fields__[name].default


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


TABLES = ("school", "alerts", "smtp", "storage", "defaults", "scoring", "web", "hosts", "source")


def from_dict(data: dict, path: Path) -> Config:
    v = _Validator()
    v.known(data, "", TABLES)
    school = _school(v, v.table(data, "school", required=True))
    alerts = _alerts(v, v.table(data, "alerts"))
    smtp = _smtp(v, data["smtp"]) if isinstance(data.get("smtp"), dict) else None
    if "smtp" in data and not isinstance(data["smtp"], dict):
        v.problem("smtp", "must be a table ([smtp])")
    storage = Storage(**v.read(v.table(data, "storage"), "storage.", Storage))
    scoring = _scoring(v, v.table(data, "scoring"))
    web = Web(**v.read(v.table(data, "web"), "web.", Web))
    hosts = _hosts(v, v.table(data, "hosts"))
    defaults_table = v.table(data, "defaults")
    defaults = v.read(defaults_table, "defaults.", Source, only=DEFAULT_KEYS)
    if "robots" not in defaults_table:
        del defaults["robots"]  # then it depends on each source's type
    sources = _sources(v, data.get("source", []), defaults)
    if v.problems:
        raise ConfigError(path, v.problems)
    warnings = []
    if not sources:
        warnings.append("no [[source]] configured: nothing will be collected")
    if not alerts.recipients and not alerts.urls and not alerts.urls_env:
        warnings.append("alerts.recipients is empty: nobody will be emailed")
    return Config(
        path=path,
        school=school,
        alerts=alerts,
        smtp=smtp,
        storage=storage,
        scoring=scoring,
        web=web,
        hosts=hosts,
        sources=tuple(sources),
        warnings=tuple(warnings),
    )


class _Validator:
    """Collects (key, problem) pairs while reading tables, so all problems are reported at once."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def problem(self, key: str, text: str) -> None:
        self.problems.append((key, text))

    def known(self, table: dict, prefix: str, allowed: tuple[str, ...] | list[str]) -> None:
        for key in table:
            if key not in allowed:
                match = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
                self.problem(f"{prefix}{key}", "unknown key" + (f" (did you mean {match[0]!r}?)" if match else ""))

    def table(self, data: dict, key: str, required: bool = False, prefix: str = "") -> dict:
        value = data.get(key)
        if value is None:
            if required:
                self.problem(prefix + key, f"missing table [{prefix}{key}]")
            return {}
        if not isinstance(value, dict):
            self.problem(prefix + key, f"must be a table ([{prefix}{key}])")
            return {}
        return value

    def read(
        self,
        table: dict,
        prefix: str,
        cls: type,
        *,
        only: tuple[str, ...] | None = None,
        skip: tuple[str, ...] = (),
        base: dict | None = None,
        check_known: bool = True,
    ) -> dict[str, Any]:
        """The table's values for the fields of dataclass `cls` that are plain keys (not tables),
        each checked and converted as its `setting` says; a missing key takes `base`'s value,
        else the field's default. Unknown keys are problems (unless the caller checks them)."""
        out: dict[str, Any] = {}
        keys = []
        for f, key, kind in _plan(cls):
            if (only is not None and f.name not in only) or f.name in skip:
                continue
            keys.append(key)
            if kind is None:
                continue  # a nested table: the caller reads it
            default = (base or {}).get(f.name, f.default)
            required = default is MISSING and f.default_factory is MISSING
            value = self.get(
                table,
                prefix,
                key,
                kind,
                default=None if default is MISSING else default,
                required=required,
                convert=f.metadata.get("convert"),
            )
            out[f.name] = value
        if check_known:
            self.known(table, prefix, keys)
        return out

    def get(
        self,
        table: dict,
        prefix: str,
        key: str,
        kind: type | tuple[type, ...],
        default: Any = None,
        required: bool = False,
        convert: Callable[[Any], Any] | None = None,
    ) -> Any:
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
            out = []
            for x in value:
                if not x.strip():
                    continue
                try:
                    out.append(convert(x) if convert else x.strip())
                except ValueError as e:
                    self.problem(full, str(e))
            return tuple(out)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            self.problem(full, _type_problem(kinds, value))
            return default
        if convert:
            try:
                return convert(value)
            except ValueError as e:
                self.problem(full, str(e))
                return default
        return value


def _type_problem(kinds: tuple[type, ...], value: Any) -> str:
    if kinds == (bool,):
        return f"must be true or false, not {value!r}"
    if kinds == (int,):
        return f"must be a whole number, not {value!r}"
    if str in kinds and int in kinds:
        return f"must be a number or a string, not {value!r}"
    return f"must be a string, not {value!r}"


@cache
def _plan(cls: type) -> tuple[tuple[Field, str, type | tuple[type, ...] | None], ...]:
    """A dataclass's fields with their TOML key and type (None for a nested table), worked out
    once: resolving the type hints for each of 400 sources took a fifth of a re-scan."""
    hints = get_type_hints(cls)
    return tuple(
        (
            f,
            f.metadata.get("key") or f.name,
            None if f.metadata.get("kind") is dict or _is_table(hints[f.name]) else _kind(f, hints[f.name]),
        )
        for f in fields(cls)
    )


def _is_table(hint: Any) -> bool:
    """Whether a field's type is another dataclass (a sub-table) or a tuple of them."""
    args = getattr(hint, "__args__", ())
    return any(hasattr(t, "__dataclass_fields__") for t in (hint, *args))


def _kind(f: Field, hint: Any) -> type | tuple[type, ...]:
    """The TOML type of a field: its `kind`, else list for tuples, else its (non-None) type."""
    if f.metadata.get("kind") is not None:
        kind: type | tuple[type, ...] = f.metadata["kind"]
        return kind
    origin = getattr(hint, "__origin__", None)
    if origin is tuple:
        return list
    args = [a for a in getattr(hint, "__args__", ()) if a is not type(None)]
    return args[0] if args else hint


def toml_default(cls: type, name: str) -> str | None:
    """A field's default as the README writes it (TOML), for the test that keeps them in step."""
    f = next(f for f in fields(cls) if f.name == name)
    if f.metadata.get("doc"):
        return str(f.metadata["doc"])
    value = f.default
    if value is MISSING:
        return "required"
    if value is None:
        return None  # the README says in words what its absence means
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        return f'"{format_duration(value)}"'
    if isinstance(value, time):
        return f'"{value:%H:%M}"'
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(f'"{x}"' for x in value) + "]"
    return str(value)


# ---------------------------------------------------------------- tables that need more than their fields


def _school(v: _Validator, t: dict) -> School:
    values = v.read(t, "school.", School)
    if isinstance(values["name"], str):
        values["name"] = values["name"].strip()
        if not values["name"] and "name" in t:
            v.problem("school.name", "must not be empty")
    values["name"] = values["name"] or ""
    values["aliases"] = values["aliases"] or ((values["name"],) if values["name"] else ())
    return School(**values)


def _alerts(v: _Validator, t: dict) -> Alerts:
    values = v.read(t, "alerts.", Alerts)
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
        route = v.read(r, rp, Route, base={"name": f"route {i}"})
        if not route["recipients"] and not route["urls"] and "recipients" not in r and "urls" not in r:
            v.problem(f"{rp}recipients", "missing required key (a route needs recipients or urls)")
        routes.append(Route(**route))
    return Alerts(**values, routes=tuple(routes))


def _smtp(v: _Validator, t: dict) -> Smtp:
    p = "smtp."
    if "password" in t:
        v.problem(
            "smtp.password",
            "never put the password in sources.toml; name an environment variable in password_env instead",
        )
        t = {k: value for k, value in t.items() if k != "password"}
    security = t.get("security", "starttls")
    values = v.read(t, p, Smtp, base={"port": SMTP_PORTS.get(security, 25)})
    if values["security"] not in SMTP_SECURITY:
        v.problem("smtp.security", f"{values['security']!r} is not one of {', '.join(SMTP_SECURITY)}")
    return Smtp(**values)


def _scoring(v: _Validator, t: dict) -> Scoring:
    values = v.read(t, "scoring.", Scoring)
    ai = v.table(t, "ai", prefix="scoring.")
    return Scoring(**values, ai=AI(**v.read(ai, "scoring.ai.", AI)) if ai else None)


def _hosts(v: _Validator, t: dict) -> tuple[Host, ...]:
    out = []
    for host, table in t.items():
        p = f'hosts."{host}".'
        if not isinstance(table, dict):
            v.problem(p[:-1], f'must be a table ([hosts."{host}"])')
            continue
        name = str(host).strip().lower()
        if not name or "/" in name or " " in name:
            v.problem(p[:-1], f"{host!r} is not a host name (e.g. www.reddit.com, or host:port)")
        out.append(Host(host=name, **v.read(table, p, Host, skip=("host",))))
    return tuple(out)


def _sources(v: _Validator, raw: Any, defaults: dict) -> list[Source]:
    if not isinstance(raw, list):
        v.problem("source", "must be an array of tables ([[source]])")
        return []
    sources: list[Source] = []
    names: dict[str, int] = {}
    for i, t in enumerate(raw, 1):
        if not isinstance(t, dict):
            v.problem(f"source[{i}]", "must be a table")
            continue
        given = t["name"].strip() if isinstance(t.get("name"), str) else ""
        # Problems name the source by position and by name: "source[3] (Mumsnet).url".
        p = f"source[{i}] ({given})." if given else f"source[{i}]."
        values = v.read(t, p, Source, base=defaults)
        name = str(values["name"] or "").strip()
        values["name"] = name
        if name in names:
            v.problem(f"{p}name", f"duplicate source name {name!r} (also source[{names[name]}])")
        elif name:
            names[name] = i
        elif "name" in t:
            v.problem(f"{p}name", "must not be empty")
        kind = values["type"]
        if kind is not None and kind not in SOURCE_TYPES:
            v.problem(f"{p}type", f"unknown source type {kind!r}; use {', '.join(map(repr, SOURCE_TYPES))}")
        elif kind is not None:  # without a type, which keys belong is unknown: no follow-on problems
            _check_parts(v, t, p, kind)
        if "robots" not in t and "robots" not in defaults:
            values["robots"] = kind == "page"
        values["headers"] = _headers(v, t, p)
        values["type"] = kind or ""
        values["url"] = values["url"] or ""
        sources.append(Source(**values))
    return sources


def _check_parts(v: _Validator, t: dict, p: str, kind: str) -> None:
    """Selectors belong to pages, expressions and headers to JSON sources."""
    if kind == "feed":
        for key in ("item", "items", "headers", *PART_KEYS):
            if key in t:
                v.problem(f"{p}{key}", 'only for type = "page" or "json" sources')
    elif kind == "page":
        for key in ("items", "headers"):
            if key in t:
                v.problem(f"{p}{key}", 'only for type = "json" sources')
    elif kind == "json":
        if "item" in t:
            v.problem(f"{p}item", 'CSS selectors are for type = "page"; a JSON source lists its posts with `items`')
        if "items" not in t:
            v.problem(f"{p}items", "missing required key (a JMESPath expression giving the list of posts)")
        if "text" not in t:
            v.problem(f"{p}text", "missing required key (a JMESPath expression giving a post's text)")


def _headers(v: _Validator, t: dict, p: str) -> tuple[tuple[str, str], ...]:
    raw = t.get("headers", {})
    if not isinstance(raw, dict):
        v.problem(f"{p}headers", 'must be a table, e.g. headers = { Authorization = "env:TOKEN" }')
        return ()
    out = []
    for name, value in raw.items():
        if not isinstance(value, str) or "\n" in value or "\r" in value:
            v.problem(f"{p}headers.{name}", "must be a one-line string")
        elif value.startswith("env:") and not _ENV_NAME.match(value[4:]):
            v.problem(f"{p}headers.{name}", f"{value[4:]!r} is not an environment variable name")
        else:
            out.append((str(name), value))
    return tuple(out)
