"""Notification channels beside email (Teams, Slack, Google Chat, ntfy, webhooks...) through Apprise.

The only module that imports Apprise, and only when a channel is checked or sent to, so the
commands of a school without channels never load it. Its rules:

- A channel's URL holds its secret (a webhook token, a topic name): it is never stored, shown or
  logged. The outbox names a channel by a hash of its URL and shows it as scheme and host only
  (`Channel.shown`); the URL is looked up in the config (urls_env included) when it is sent.
- Apprise is used as a library and nothing more: no plugin folders, no configuration files, no
  persistent storage, so it reads nothing from the user's home and reaches nothing but the
  channel it sends to. Its log never reaches ours as written: each record is stripped of every
  channel secret and passed on at debug level; a failed send's warnings become the error.
- A message is plain text, one line per fact; Apprise escapes it for a Markdown or HTML channel.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, unquote

from monitor.config import Config, check_channel_url
from monitor.errors import NotifyError
from monitor.models import Note
from monitor.text import one_line, printable

log = logging.getLogger("monitor")

EMAIL = "email"  # the outbox's channel column for an email; a channel's is "KEY SHOWN"
MAIN_LANE = "main"
ERROR_MAX = 300
_SECRET_MIN = 3  # shorter parts of a URL are not worth hiding (and would blank out common words)
_HIDDEN = "…"


@dataclass(frozen=True)
class Channel:
    """One channel of one lane. `url` holds the secret: it is kept out of repr and never shown."""

    url: str = field(repr=False)
    lane: str = MAIN_LANE  # "main" ([alerts] urls and urls_env) or "route:NAME"

    @property
    def key(self) -> str:
        """Names the channel in the outbox without its secret."""
        return channel_key(self.url)

    @property
    def shown(self) -> str:
        return shown(self.url)

    @property
    def column(self) -> str:
        """The outbox's channel column: the key (to find the URL again) and the channel as shown."""
        return f"{self.key} {self.shown[:180]}"  # the column holds 200

    def dedupe_key(self, key: str) -> str:
        """A message's dedupe key on this channel: its email's key, prefixed with the channel's (a
        lane's keys still end with ":LANE", as the pile-on cap counts them)."""
        return f"ch:{self.key}/{key}"


def channel_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def key_of(column: str) -> str:
    return column.partition(" ")[0]


def shown_of(column: str) -> str:
    """How the outbox shows a row's destination channel ("email" for an email)."""
    return column if column == EMAIL else column.partition(" ")[2] or column


# ---------------------------------------------------------------- which channels, from the config


def env_urls(cfg: Config) -> tuple[list[str], list[str]]:
    """The URLs in the variable named by [alerts] urls_env, and the problems with it (unset, or a
    word that is not a URL: named by position, never quoted)."""
    name = cfg.alerts.urls_env
    if not name:
        return [], []
    value = os.environ.get(name, "")
    if not value.strip():
        return [], [f"[alerts] urls_env names {name}, which is not set here: no channel is read from it"]
    urls, problems = [], []
    for n, word in enumerate(value.split(), 1):
        try:
            urls.append(check_channel_url(word))
        except ValueError:
            problems.append(f"${name}: word {n} is not a notification URL (scheme://…); it is ignored")
    _remember(urls)
    return urls, problems


def configured(cfg: Config) -> list[Channel]:
    """Every channel: [alerts] urls and urls_env (lane "main"), then each route's urls. A URL
    given twice in one lane is one channel."""
    out: dict[tuple[str, str], Channel] = {}
    main = [*cfg.alerts.urls, *env_urls(cfg)[0]]
    lanes = [(MAIN_LANE, main)] + [(f"route:{r.name}", list(r.urls)) for r in cfg.alerts.routes]
    for lane, urls in lanes:
        _remember(urls)
        for url in urls:
            ch = Channel(url, lane)
            out.setdefault((lane, ch.key), ch)
    return list(out.values())


def for_lane(cfg: Config, lane: str) -> list[Channel]:
    return [c for c in configured(cfg) if c.lane == lane]


def by_key(cfg: Config) -> dict[str, Channel]:
    """The configured channels by key, to find a queued message's channel when it is sent."""
    return {c.key: c for c in configured(cfg)}


@dataclass(frozen=True)
class Checked:
    """What `check` says about the channels: each as shown with its lane, the URLs Apprise does
    not understand (key, problem), and warnings (urls_env unset, a word in it not a URL)."""

    listed: tuple[str, ...] = ()
    problems: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()


def check(cfg: Config) -> Checked:
    """Every channel URL checked by Apprise (nothing is sent); Apprise is loaded only if there is one."""
    env, warnings = env_urls(cfg)
    given = [(f"alerts.urls[{n}]", u, MAIN_LANE) for n, u in enumerate(cfg.alerts.urls, 1)]
    given += [(f"${cfg.alerts.urls_env} word {n}", u, MAIN_LANE) for n, u in enumerate(env, 1)]
    for i, r in enumerate(cfg.alerts.routes, 1):
        given += [(f"alerts.route[{i}].urls[{n}]", u, f"route:{r.name}") for n, u in enumerate(r.urls, 1)]
    problems = [
        (key, f"{shown(url)}: Apprise does not know this service, or the URL is not in its form")
        for key, url, _lane in given
        if not understood(url)
    ]
    listed = tuple(dict.fromkeys(f"{shown(u)} ({lane_name(lane)})" for _k, u, lane in given))
    return Checked(listed, tuple(problems), tuple(warnings))


def lane_name(lane: str) -> str:
    """A lane as people read it: "[alerts]" or "route NAME"."""
    return "[alerts]" if lane == MAIN_LANE else lane.replace("route:", "route ", 1)


# ---------------------------------------------------------------- showing a URL without its secret

_NETLOC_END = re.compile(r"[/?#]")


def _split(url: str) -> tuple[str, str, str, str, str]:
    """(scheme, userinfo, host, port, rest) by hand: Apprise URLs are not all valid URLs
    (tgram://123:ABC/… has a token where a port would be)."""
    scheme, _, after = url.partition("://")
    m = _NETLOC_END.search(after)
    netloc, rest = (after[: m.start()], after[m.start() :]) if m else (after, "")
    userinfo, _, hostport = netloc.rpartition("@")
    host, port = hostport, ""
    if hostport.startswith("["):  # [::1]:8080
        end = hostport.find("]")
        host, port = hostport[: end + 1], hostport[end + 2 :] if end > 0 else ""
    elif hostport.count(":") == 1:
        host, _, port = hostport.partition(":")
    return scheme.lower(), userinfo, host, port, rest


def _network_host(host: str) -> bool:
    """A host name or address (safe to show), not a token in the host's place (msteams://TEAM/…,
    ntfy://TOPIC, tgram://BOT-TOKEN/…)."""
    bare = host.strip("[]")
    try:
        ipaddress.ip_address(bare)
        return True
    except ValueError:
        pass
    return bare.lower() == "localhost" or bool(re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+\.?", bare))


def shown(url: str) -> str:
    """The channel as shown anywhere (outbox, check, logs, errors): scheme and host only, and
    the scheme alone when the host's place holds a token."""
    scheme, _user, host, port, _rest = _split(url.strip())
    if not _network_host(host):
        return f"{scheme}://{_HIDDEN}"
    return f"{scheme}://{host.lower()}" + (f":{port}" if port.isdigit() else "")


def secrets(url: str) -> list[str]:
    """Every part of a URL that may be secret (the whole URL, user, password, a token in the
    host's place, path segments, query values), raw and decoded, longest first."""
    url = url.strip()
    _scheme, userinfo, host, port, rest = _split(url)
    parts = [url, url.partition("://")[2]]
    parts += userinfo.split(":") + [userinfo]
    if not _network_host(host):
        parts += [host, port, f"{host}:{port}"]
    elif port and not port.isdigit():
        parts.append(port)
    path, _, query = rest.partition("?")
    path, _, fragment = path.partition("#")
    parts += path.split("/") + [path.strip("/"), fragment]
    query, _, qfragment = query.partition("#")
    parts += [v for _k, v in parse_qsl(query, keep_blank_values=True)] + [qfragment]
    found = {p for p in parts if len(p) >= _SECRET_MIN} | {unquote(p) for p in parts if len(unquote(p)) >= _SECRET_MIN}
    return sorted(found, key=len, reverse=True)


_known: set[str] = set()  # every channel URL this process has read: hidden from whatever Apprise logs
_known_lock = threading.Lock()


def _remember(urls: list[str] | tuple[str, ...]) -> None:
    with _known_lock:
        _known.update(urls)


def conceal(text: str, urls: list[str] | tuple[str, ...] | set[str] | None = None) -> str:
    """The text with every secret part of these URLs (default: every channel URL read so far)
    replaced by …, each whole URL by its shown form."""
    if urls is None:
        with _known_lock:
            urls = set(_known)
    ordered = sorted(urls, key=len, reverse=True)
    for n, url in enumerate(ordered):  # whole URLs first, kept aside from the secrets' replacing
        text = text.replace(url, f"\x00{n}\x00")
    for url in ordered:
        for secret in secrets(url):
            text = text.replace(secret, _HIDDEN)
    for n, url in enumerate(ordered):
        text = text.replace(f"\x00{n}\x00", shown(url))
    return text


class _Concealing(logging.Filter):
    """On the loggers of the HTTP library under Apprise (urllib3 logs each request's path at
    debug level): a record naming a channel secret is rewritten without it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:
            return True
        hidden = conceal(text)
        if hidden != text:
            record.msg, record.args = hidden, ()
        return True


_HTTP_LOGGERS = ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry", "urllib3.poolmanager")


# ---------------------------------------------------------------- a message as the outbox keeps it


def encode(note: Note) -> bytes:
    """The message as stored in the outbox and sent later exactly as it is: plain text, and
    Markdown for the channels that render it."""
    data = {
        "title": note.title,
        "body": note.body,
        "markdown": {"title": note.title_markdown, "body": note.body_markdown},
        "type": note.level,
    }
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def decode(message: bytes, kind: str = "alert") -> Note:
    data = json.loads(message.decode("utf-8"))
    markdown = data.get("markdown") or {}
    return Note(
        title=str(data["title"]),
        body=str(data["body"]),
        title_markdown=str(markdown.get("title") or ""),
        body_markdown=str(markdown.get("body") or ""),
        kind=kind,
        level=str(data.get("type", "info")),
    )


# ---------------------------------------------------------------- Apprise


class _Relay(logging.Handler):
    """Apprise's log, stripped of channel secrets, passed to ours at debug level; while a send
    is under way its warnings are kept as the send's error."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.warnings: list[str] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = one_line(conceal(printable(record.getMessage())), ERROR_MAX)
        except Exception:  # a record that cannot be formatted says nothing worth a crash
            return
        if record.levelno >= logging.WARNING and self.warnings is not None:
            self.warnings.append(text)
        log.debug("apprise: %s", text)


_relay = _Relay()
_sending = threading.Lock()  # one send at a time: the relay's warnings belong to that send
_loaded: ModuleType | None = None


def _apprise() -> ModuleType:
    """Apprise, imported at first use, its log routed through the relay (and nowhere else)."""
    global _loaded
    if _loaded is None:
        with _sending:
            if _loaded is None:
                logger = logging.getLogger("apprise")
                logger.propagate = False  # its records name URLs: only the relay may pass them on
                logger.addHandler(_relay)
                logger.setLevel(logging.WARNING)
                for name in _HTTP_LOGGERS:
                    logging.getLogger(name).addFilter(_Concealing())
                import apprise

                _loaded = apprise
    return _loaded


def _asset(apprise: Any) -> Any:
    """No plugin folders, no persistent storage: Apprise reads nothing from disk or home."""
    return apprise.AppriseAsset(plugin_paths=[], storage_mode="memory", app_id="school-monitor")


def understood(url: str) -> bool:
    """Whether Apprise knows this URL's service and its form is right (nothing is sent)."""
    apprise = _apprise()
    _remember([url])
    with _sending:
        return apprise.Apprise.instantiate(url, asset=_asset(apprise)) is not None


def _renders_markdown(service: Any) -> bool:
    """Whether the service renders Markdown by default (Teams, Slack, Google Chat), or its URL
    says so (?format=markdown); plain text otherwise (a webhook, ntfy, Discord)."""
    if callable(getattr(service, "resolve_format", None)):
        native = service.resolve_format(None)
    else:
        fmt = service.notify_format
        native = fmt[0] if isinstance(fmt, tuple) else fmt
    return str(getattr(native, "value", native)) == "markdown"


def send(channel: Channel, note: Note) -> None:
    """Send one message to one channel now. NotifyError, without the channel's secret, when the
    service refused it or could not be reached."""
    apprise = _apprise()
    _remember([channel.url])
    with _sending:
        logging.getLogger("apprise").setLevel(logging.DEBUG if log.isEnabledFor(logging.DEBUG) else logging.WARNING)
        _relay.warnings = []
        try:
            service = apprise.Apprise.instantiate(channel.url, asset=_asset(apprise))
            if service is None:
                raise NotifyError(f"{channel.shown}: Apprise does not understand this URL; check its form")
            server = apprise.Apprise(asset=_asset(apprise))
            server.add(service)
            if note.body_markdown and _renders_markdown(service):
                title, body, fmt = note.title_markdown, note.body_markdown, "markdown"
            else:  # Apprise escapes plain text for an HTML channel
                title, body, fmt = note.title, note.body, "text"
            ok = bool(server.notify(body=body, title=title, body_format=fmt, notify_type=note.level))
        except NotifyError:
            raise
        except Exception as e:  # a plugin's own failure is this channel's error, not the flush's crash
            raise NotifyError(
                f"{channel.shown}: {e.__class__.__name__}: {one_line(conceal(str(e)), ERROR_MAX)}"
            ) from None
        finally:
            warnings, _relay.warnings = _relay.warnings or [], None
    if not ok:
        reason = "; ".join(dict.fromkeys(warnings)) or "the service did not take the message"
        raise NotifyError(f"{channel.shown}: {one_line(reason, ERROR_MAX)}")
