"""The only module that touches the network (requests). Fetching returns data; it raises only FetchError.

Every request goes through `Fetcher.get`, which assumes the server is hostile:

- a total deadline per fetch, enforced by a watchdog thread that cuts the connection (a server
  that drips one byte at a time defeats socket timeouts, which restart with every byte);
- a body cap counted on the decoded bytes, read in small pieces (a gzip bomb never inflates much
  past the cap); a declared Content-Length over the cap is refused before reading;
- redirects followed by hand: at most 5, no loops, http(s) only;
- addresses: a URL is judged by the host the HTTP library will connect to (a backslash in the host
  part, where parsers disagree, is refused), and so is the address each connection reached. A
  fetch may reach a private, loopback or link-local address only when its origin is on one (a
  source configured inside the school's network); `origin=` judges a URL by the source that linked
  to it, `public_only=True` allows public addresses alone;
- robots.txt fetched once per host (kept a day) and obeyed when the source asks for it;
- at most `per_host` requests in flight to one host:port, and with `host_gaps`, at least that many
  seconds between the starts of two requests to one host (or host:port);
- no cookies kept; extra headers (API tokens) go to the URL's own host only, never into a message;
  no password of a URL in any error message or result.
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar
from urllib.parse import urljoin, urlsplit
from urllib.request import getproxies
from urllib.robotparser import RobotFileParser

import idna
import requests
import urllib3

from monitor import __version__
from monitor.config import Source, source_default
from monitor.errors import AddressRefused, FetchError
from monitor.models import FetchResult
from monitor.text import redact_url, redact_urls

log = logging.getLogger(__name__)

USER_AGENT = (
    f"school-monitor/{__version__} (+https://github.com/school-monitor/school-monitor; "
    "a school's reputation monitor; contact: see the school's website)"
)
ROBOTS_AGENT = "school-monitor"
CHUNK = 64 * 1024
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
ROBOTS_LIMIT = 512 * 1024  # Google reads 500 KiB of a robots.txt; so do we
ROBOTS_TIMEOUT = 10.0
ROBOTS_KEEP = 24 * 3600.0  # a long-lived Fetcher (the daemon's) reads robots.txt again after a day
ADDRESSES_KEEP = 300.0  # how long a name's addresses are trusted for judging a source
DEFAULT_PORTS = {"http": 80, "https": 443}

# Addresses Python's ipaddress calls global that lead elsewhere: NAT64 and 6to4 carry an IPv4
# address (perhaps a private one) to a gateway, site-local is the LAN of old, and an IPv4-compatible
# address (::a.b.c.d) is an IPv4 address in disguise.
_NOT_PUBLIC_V6 = tuple(ipaddress.IPv6Network(n) for n in ("64:ff9b::/96", "2002::/16", "fec0::/10", "::/96"))
_LEGACY_IPV4 = frozenset("0123456789abcdefxABCDEFX.")

T = TypeVar("T")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Limits:
    """How much one fetch may take; by default what a source takes unless sources.toml says more."""

    # A source's defaults are a fetch's.
    timeout: float = source_default("timeout").total_seconds()  # for the whole fetch, not one socket read
    max_bytes: int = source_default("max_bytes")  # decoded body cap
    per_host: int = source_default("per_host")  # requests in flight to one host at most
    robots: bool = False  # obey robots.txt

    @classmethod
    def of(cls, src: Source) -> Limits:
        return cls(src.timeout.total_seconds(), src.max_bytes, src.per_host, src.robots)


class Fetcher:
    """One requests adapter (connection reuse) shared by all fetches; thread-safe for GETs.

    Holds what outlives one fetch: robots.txt per host, the addresses of names, the per-host
    slots and pacing. No Session: a monitor should not carry one source's cookies to another.

    `host_gaps`: {"host" or "host:port": seconds} between the starts of two requests there (a host
    covers all its ports). `on_wait(host, seconds)` is called (on the fetching thread) before a
    request waits for its gap. `clock` gives `FetchResult.fetched_at` and the "now" of Retry-After
    dates.
    """

    def __init__(
        self,
        user_agent: str = USER_AGENT,
        pool_size: int = 16,
        *,
        host_gaps: Mapping[str, float] | None = None,
        on_wait: Callable[[str, float], None] | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._local = threading.local()  # the guard of the fetch running on this thread
        self._watchdog = _Watchdog()
        self._slots = _HostSlots()
        self._pacer = _Pacer(host_gaps or {})
        self._on_wait = on_wait
        self._clock = clock
        self._closed = threading.Event()
        self._robots: _OncePerKey[RobotFileParser] = _OncePerKey(ROBOTS_KEEP)
        self._addresses: _OncePerKey[tuple[str, ...]] = _OncePerKey(ADDRESSES_KEEP)
        # The headers a Session would send, with ours.
        self._headers = {
            "User-Agent": user_agent,
            "Accept-Encoding": "gzip, deflate",
            "Accept": "*/*",
            "Connection": "keep-alive",
        }
        self._adapter = _WatchedAdapter(self._local, pool_connections=pool_size, pool_maxsize=pool_size)
        # The CA bundle as a Session reads it from the environment, read once.
        self._verify: bool | str = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        # Proxies from the environment (HTTP(S)_PROXY, NO_PROXY) are chosen per URL by requests'
        # own get_environ_proxies, as a Session would; without any, nothing is re-read per fetch.
        self._proxied = bool(getproxies())

    def close(self) -> None:
        """Stop the watchdog, end any wait for a gap (those fetches fail), close the connections."""
        self._closed.set()
        self._watchdog.close()
        self._adapter.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        limits: Limits = Limits(),
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
        headers: Mapping[str, str] | None = None,
        origin: str | None = None,
        public_only: bool = False,
    ) -> FetchResult:
        """GET a URL. Returns a FetchResult (status 304 when unchanged); raises FetchError on failure.

        `headers`: extra request headers (a token), sent to the URL's own host only.
        `origin`: judge the URL as if this URL had redirected to it (an item's link: its source).
        `public_only`: refuse any address that is not public, whatever the origin.
        """
        try:
            target = _target(url)
            scope = self._scope(target, origin, public_only)
            extra = _extra_headers(headers)
            base = self._headers | extra
            if accept:
                base["Accept"] = accept
            if etag:
                base["If-None-Match"] = etag
            if last_modified:
                base["If-Modified-Since"] = last_modified
            self._clear(target, scope, limits, redirect=False)
            return self._get(target, _Sending(base, frozenset(extra), target), limits, scope, etag, last_modified)
        except FetchError as e:
            # The one way out of the module: whatever a message quotes, no password leaves with it.
            raise _redacted(e) from None

    def next_allowed(self, host_or_url: str) -> float:
        """Seconds until a request to this host may start under its gap (0: now). A URL, "host:port",
        or "host" (then the longest wait of any of its ports)."""
        host, port = _host_and_port(host_or_url)
        return self._pacer.next_allowed(host, port, time.monotonic()) if host else 0.0

    def host_gap(self, host_or_url: str) -> float:
        """The gap, in seconds, between two requests to this host (0 when none is set)."""
        host, port = _host_and_port(host_or_url)
        return self._pacer.gap(host, port) if host else 0.0

    # ------------------------------------------------------------ addresses

    def _scope(self, target: _Target, origin: str | None, public_only: bool) -> _Scope:
        """Whether this fetch may reach a private address: only when its origin is on one."""
        if public_only:
            return _Scope(private_ok=False, public_only=True)
        source = _target(origin) if origin else target
        addresses = self._addresses_of(source)
        # A name that does not resolve here (behind a proxy) is held to the public rule.
        private = bool(addresses) and not any(is_public(ip) for ip in addresses)
        return _Scope(private_ok=private, origin=source.host if origin else "")

    def _addresses_of(self, target: _Target) -> tuple[str, ...]:
        """The addresses the host stands for; () when unknown here (a proxy resolves the name)."""
        literal = _literal_ip(target.host)
        if literal:
            return (literal,)
        if target.host == "localhost" or target.host.endswith(".localhost"):
            return ("127.0.0.1", "::1")  # loopback by definition (RFC 6761), whoever resolves it
        if not self._direct(target.url):
            return ()  # our own look-up would say nothing of what the proxy connects to
        return self._addresses.get(target.host, lambda: _resolve(target.host))

    def _clear(self, target: _Target, scope: _Scope, limits: Limits, *, redirect: bool) -> None:
        """Every URL passes here before it is requested (the first, and each redirect's): the
        address rule, then robots.txt. The address each connection reaches is checked again
        (`_Guard.check_peer`)."""
        for ip in () if scope.private_ok else self._addresses_of(target):
            if not scope.allows(ip):
                raise scope.refusal(target.url, ip, "redirect" if redirect else "url")
        if limits.robots:
            self._check_robots(target, limits, scope)

    def _direct(self, url: str) -> bool:
        return not self._proxied or not requests.utils.select_proxy(url, requests.utils.get_environ_proxies(url))

    # ------------------------------------------------------------ requests

    def _get(
        self,
        target: _Target,
        sending: _Sending,
        limits: Limits,
        scope: _Scope,
        etag: str | None = None,
        last_modified: str | None = None,
        slot_wait: float | None = None,
    ) -> FetchResult:
        # The deadline starts once the host has a free slot: waiting politely is not the server's fault.
        slot = self._slots.acquire(target.key, limits.per_host, slot_wait)
        try:
            outer = getattr(self._local, "guard", None)
            guard = self._watchdog.arm(limits.timeout, scope, outer)
            self._local.guard = guard
            try:
                return self._follow(target, sending, limits, guard, etag, last_modified)
            finally:
                guard.disarm()
                self._local.guard = outer
        finally:
            slot.release()

    def _follow(
        self,
        target: _Target,
        sending: _Sending,
        limits: Limits,
        guard: _Guard,
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResult:
        """Request, and follow redirects by hand so that every hop is checked."""
        seen = {target.url}
        current = target
        for hop in itertools.count(1):
            resp = self._request(current, sending.headers_for(current), limits, guard)
            try:
                location = _redirect_target(resp, current.url)
                if location is None:
                    result = self._result(resp, limits, guard, etag, last_modified)
                    resp.raw.release_conn()  # read to the end: the connection goes back for reuse
                    return result
            finally:
                resp.close()
            nxt = _target(location, redirect=True)
            if nxt.url in seen:
                raise FetchError(f"redirect loop: {current.url} redirects back to {nxt.url}")
            if hop > MAX_REDIRECTS:
                raise FetchError(f"too many redirects (more than {MAX_REDIRECTS})")
            self._clear(nxt, guard.scope, limits, redirect=True)
            seen.add(nxt.url)
            current = nxt
        raise AssertionError("unreachable")

    def _request(self, target: _Target, headers: dict[str, str], limits: Limits, guard: _Guard) -> requests.Response:
        proxies = requests.utils.get_environ_proxies(target.url) if self._proxied else {}
        guard.direct = not requests.utils.select_proxy(target.url, proxies)
        self._wait_turn(target, guard)
        socket_timeout = min(10.0, max(0.1, guard.remaining()))
        try:
            # As a Session would prepare it (the URL as _target prepared it, a user:password in it
            # sent as Basic auth), less cookies and hooks, which nothing uses.
            req = requests.PreparedRequest()
            req.prepare_method("GET")
            req.url = target.url
            req.prepare_headers(headers)
            if target.has_auth:
                req.prepare_auth(None, target.url)
            resp = self._adapter.send(req, stream=True, timeout=socket_timeout, verify=self._verify, proxies=proxies)
        except requests.exceptions.RequestException as e:
            raise _request_error(e, target.host, guard, limits) from None
        guard.attach(resp.raw)
        if resp.status_code not in REDIRECTS and resp.status_code != 304:
            try:
                _raise_for_status(resp, self._clock)
            except FetchError:
                resp.close()
                raise
        return resp

    def _wait_turn(self, target: _Target, guard: _Guard) -> None:
        """Wait for the host's gap since its last request, outside the fetch's deadline."""
        wait = self._pacer.reserve(target.host, target.port, time.monotonic())
        if wait <= 0:
            return
        if self._on_wait is not None:
            try:
                self._on_wait(target.host, wait)
            except Exception:  # a progress display must not fail a fetch
                log.exception("on_wait callback failed")
        guard.extend(wait)
        if self._closed.wait(wait):
            raise FetchError(f"the fetcher was closed while waiting {wait:.0f}s for {target.host} (min_gap)")

    def _result(
        self, resp: requests.Response, limits: Limits, guard: _Guard, etag: str | None, last_modified: str | None
    ) -> FetchResult:
        url = redact_url(resp.url or "")
        if resp.status_code == 304:
            return FetchResult(url=url, status=304, etag=etag, last_modified=last_modified, fetched_at=self._clock())
        body = _read_capped(resp, limits, guard)
        content_type = resp.headers.get("Content-Type", "")
        return FetchResult(
            url=url,
            status=resp.status_code,
            body=body,
            content_type=content_type,
            encoding=_declared_charset(content_type),
            etag=resp.headers.get("ETag"),
            last_modified=resp.headers.get("Last-Modified"),
            fetched_at=self._clock(),
        )

    # ------------------------------------------------------------ robots.txt

    def _check_robots(self, target: _Target, limits: Limits, scope: _Scope) -> None:
        root = f"{target.scheme}://{target.netloc}"
        rules = self._robots.get(root, lambda: self._load_robots(root, limits, scope))
        if not rules.can_fetch(ROBOTS_AGENT, target.url):
            raise FetchError(
                f"disallowed by robots.txt ({root}/robots.txt); the site asks robots not to read this page",
                permanent=True,
            )

    def _load_robots(self, root: str, limits: Limits, scope: _Scope) -> RobotFileParser:
        """The host's robots.txt, as urllib.robotparser reads it: 401/403 forbid all, other errors allow all."""
        target = _target(root + "/robots.txt")
        rules = RobotFileParser(target.url)
        timeout = min(limits.timeout, ROBOTS_TIMEOUT)
        robots_limits = Limits(timeout=timeout, max_bytes=ROBOTS_LIMIT, per_host=limits.per_host)
        try:
            # Its wait for a slot is bounded: a redirect to this host may hold one of them meanwhile.
            sending = _Sending(self._headers.copy(), frozenset(), target)
            got = self._get(target, sending, robots_limits, scope, slot_wait=timeout)
        except FetchError as e:
            rules.parse(["User-agent: *", "Disallow: /"] if e.status in (401, 403) else [])
            return rules
        rules.parse(got.body.decode("utf-8", "replace").splitlines())
        return rules


# ---------------------------------------------------------------- addresses


def is_public(ip: str) -> bool:
    """A global unicast address: not private, loopback, link-local, CGNAT, multicast, reserved, nor
    an IPv6 address that carries an IPv4 one (mapped, compatible, NAT64, 6to4) or is site-local.
    Every address rule of this module asks this one function."""
    try:
        addr: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped:
            addr = addr.ipv4_mapped
        elif any(addr in net for net in _NOT_PUBLIC_V6):
            return False
    return addr.is_global and not addr.is_multicast


def _literal_ip(host: str) -> str | None:
    """The address a host names without a look-up: an IP literal, or IPv4 as inet_aton reads it
    (2130706433, 0177.0.0.1, 0x7f.1, 127.1), as the connection itself will read it."""
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        pass
    if host and set(host) <= _LEGACY_IPV4:
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _resolve(host: str) -> tuple[str, ...]:
    """The addresses of a name; () when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return ()
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class _Scope:
    """What a fetch may reach: private addresses only when its origin is on one."""

    private_ok: bool
    public_only: bool = False
    origin: str = ""  # the source whose address decided, when it is not the URL itself

    def allows(self, ip: str) -> bool:
        """The rule, for the address a URL's host stands for and for the one a connection reached."""
        return self.private_ok or is_public(ip)

    def refusal(self, url: str, ip: str, how: str) -> FetchError:
        """how: "url" (before connecting), "redirect", or "connected" (the address reached)."""
        if self.public_only:
            where = f"a redirect to {url}" if how == "redirect" else url
            text = f"refused: {where} is not on a public address ({ip}); only public addresses may be read here"
        elif how == "redirect":
            text = f"refused a redirect from a public address to a private one ({ip}): {url}"
        elif self.origin:
            text = f"refused: {url} is on a private address ({ip}), and its source, {self.origin}, is not"
        else:
            text = f"refused: {url} is on a private address ({ip}), and the source's own name is public"
        if how == "connected":
            text += " (the name gave another address when it was checked)"
        return AddressRefused(text)


# ---------------------------------------------------------------- URLs


@dataclass(frozen=True)
class _Target:
    """A URL as requests will send it (quoted, IDNA-encoded) and the host it will connect to."""

    url: str
    scheme: str
    host: str  # lower-case, IPv6 without brackets, no trailing dot
    port: int
    netloc: str  # as in the URL (a user:password included)
    has_auth: bool

    @property
    def key(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def _target(url: str, *, redirect: bool = False) -> _Target:
    """The URL prepared as requests prepares it, refused unless http(s) and unless every parser
    reads the same host from it (a backslash: urlsplit reads http://a\\@b/ as host b, requests and
    urllib3 connect to a)."""

    def refused(text: str) -> FetchError:
        return FetchError(("refused a redirect " if redirect else "refused: ") + text, permanent=True)

    shown = url[:200]
    try:
        raw = urlsplit(url)
    except ValueError as e:  # e.g. "Invalid IPv6 URL"
        raise refused(
            f"to an invalid URL ({e}): {shown}" if redirect else f"{shown!r} is not a valid URL ({e})"
        ) from None
    if raw.scheme.lower() not in DEFAULT_PORTS:
        raise refused(f"to a non-http(s) URL: {shown}" if redirect else f"{shown!r} is not an http(s) URL")
    if "\\" in raw.netloc:
        raise refused(
            f"to a URL with a backslash in its host part: {shown}"
            if redirect
            else f"a backslash in the host part of {shown!r}"
        )
    req = requests.PreparedRequest()
    try:
        req.prepare_url(url, None)
    except (requests.exceptions.RequestException, ValueError, UnicodeError) as e:
        raise refused(
            f"to an invalid URL ({e}): {shown}" if redirect else f"{shown!r} is not a valid URL ({e})"
        ) from None
    prepared = str(req.url)
    parts = urlsplit(prepared)
    host = parts.hostname or ""  # what requests picks the connection pool by
    connects_to = (urllib3.util.parse_url(prepared).host or "").strip("[]").lower()  # what urllib3 dials
    if not host or host != connects_to:
        raise refused(f"to a URL whose host is ambiguous: {shown}" if redirect else f"{shown!r}: ambiguous host")
    scheme = parts.scheme.lower()
    return _Target(
        url=prepared,
        scheme=scheme,
        host=host.rstrip("."),
        port=parts.port or DEFAULT_PORTS[scheme],
        netloc=parts.netloc,
        has_auth="@" in parts.netloc,
    )


def _host_and_port(host_or_url: str) -> tuple[str, int | None]:
    """("host", port or None) of a URL, "host:port", "[v6]:port" or "host"; ("", None) if neither."""
    text = host_or_url.strip()
    try:
        if "://" in text:
            parts = urlsplit(text)
            return _host_key(parts.hostname or ""), parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            return _host_key(host), int(rest[1:]) if rest.startswith(":") else None
        if text.count(":") == 1:
            host, _, port = text.partition(":")
            return _host_key(host), int(port)
        return _host_key(text), None
    except ValueError:
        return "", None


def _host_key(host: str) -> str:
    """A host as URLs name it once prepared: lower-case, IDNA, no trailing dot, no brackets."""
    host = host.strip().strip("[]").rstrip(".").lower()
    if not host or any(c in host for c in "/?#@ \\"):
        raise ValueError(f"not a host: {host!r}")
    if _literal_ip(host) or host.isascii():
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as e:
        raise ValueError(f"not a host: {host!r} ({e})") from None


def _same_site(a: _Target, b: _Target) -> bool:
    """Whether credentials meant for `a` may go to `b`: the same host and port, or http to https."""
    if a.host != b.host:
        return False
    return a.port == b.port or (a.scheme, a.port, b.scheme, b.port) == ("http", 80, "https", 443)


@dataclass(frozen=True)
class _Sending:
    """A fetch's headers; the caller's own (`extra`: tokens) only to the first URL's site."""

    headers: dict[str, str]
    extra: frozenset[str]
    first: _Target

    def headers_for(self, target: _Target) -> dict[str, str]:
        if not self.extra or _same_site(self.first, target):
            return self.headers
        return {k: v for k, v in self.headers.items() if k not in self.extra}


def _extra_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """The caller's headers, checked here so that requests never quotes a value in an error."""
    if not headers:
        return {}
    for name, value in headers.items():
        try:
            requests.utils.check_header_validity((name, value))
        except (requests.exceptions.InvalidHeader, TypeError, ValueError):
            raise FetchError(
                f"refused: the request header {str(name)[:100]!r} has an invalid name or value (not shown)",
                permanent=True,
            ) from None
    return dict(headers)


def _redacted(e: FetchError) -> FetchError:
    text = str(e)
    clean = redact_urls(text)
    if clean == text:
        return e
    return FetchError(clean, status=e.status, retry_after=e.retry_after, permanent=e.permanent)


# ---------------------------------------------------------------- pacing


class _Pacer:
    """At least `gap` seconds between the starts of two requests to one host (any port) or host:port.

    A request takes the next start time when it is about to be sent (so threads queue in order
    without holding a lock while they wait) and then waits for it.
    """

    def __init__(self, gaps: Mapping[str, float]):
        self._gaps: dict[tuple[str, int | None], float] = {}
        for key, seconds in gaps.items():
            host, port = _host_and_port(str(key))
            gap = float(seconds)
            if not host or not math.isfinite(gap) or gap < 0:
                raise ValueError(f"host_gaps: {key!r} = {seconds!r} is not a host with a gap of 0 seconds or more")
            self._gaps[(host, port)] = gap
        self._next: dict[tuple[str, int | None], float] = {}
        self._lock = threading.Lock()

    def _keys(self, host: str, port: int | None) -> list[tuple[tuple[str, int | None], float]]:
        if port is None:  # "host" alone: each of its keys
            return [(k, g) for k, g in self._gaps.items() if k[0] == host]
        return [(k, self._gaps[k]) for k in ((host, None), (host, port)) if k in self._gaps]

    def gap(self, host: str, port: int | None) -> float:
        return max((g for _, g in self._keys(host, port)), default=0.0)

    def reserve(self, host: str, port: int, now: float) -> float:
        """Take this host's next start time; the seconds to wait for it."""
        if not self._gaps:
            return 0.0
        keys = self._keys(host, port)
        if not keys:
            return 0.0
        with self._lock:
            start = max([now] + [self._next.get(k, now) for k, _ in keys])
            for k, gap in keys:
                self._next[k] = start + gap
        return start - now

    def next_allowed(self, host: str, port: int | None, now: float) -> float:
        with self._lock:
            return max([0.0] + [self._next.get(k, now) - now for k, _ in self._keys(host, port)])


# ---------------------------------------------------------------- the deadline


class _Guard:
    """One fetch (or robots.txt fetch within it): its deadline, what it is reading from (a
    connection, then the response) so the watchdog can cut it, and the address rule its
    connections are held to."""

    def __init__(self, deadline: float, scope: _Scope, outer: _Guard | None):
        self.deadline = deadline
        self.scope = scope
        self.outer = outer  # the fetch this robots.txt fetch runs within
        self.direct = True  # this hop connects to the host itself (not to a proxy)
        self.expired = False
        self._done = False
        self._target: Any = None
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def extend(self, seconds: float) -> None:
        """Push the deadline back (a wait that is not the server's fault), and that of the fetch
        this one runs within."""
        guard: _Guard | None = self
        while guard is not None:
            with guard._lock:
                guard.deadline += seconds
            guard = guard.outer

    def check_peer(self, sock: socket.socket, host: str) -> None:
        """The address a connection reached, held to the fetch's rule (it may differ from the one
        checked before: DNS rebinding, or a kept-alive connection opened for another source)."""
        if self.scope.private_ok or not self.direct:
            return  # through a proxy the peer is the proxy: its address says nothing of the host
        try:
            ip = str(sock.getpeername()[0])
        except OSError:
            return  # not connected: it will be, through _new_conn, and checked there
        if not self.scope.allows(ip):
            raise self.scope.refusal(host, ip, "connected")

    def attach(self, target: Any) -> None:
        with self._lock:
            self._target = target
            if self.expired and not self._done:
                _cut(target)

    def detach(self) -> None:
        with self._lock:
            self._target = None

    def disarm(self) -> None:
        with self._lock:
            self._done = True
            self._target = None

    def expire(self) -> float | None:
        """Cut the connection if the deadline has passed. Returns when to look again (the deadline
        was pushed back, or the fetch is still running after its cut), or None: it has finished."""
        with self._lock:
            if self._done:
                return None
            now = time.monotonic()
            if now < self.deadline:
                return self.deadline
            self.expired = True
            if self._target is not None:
                _cut(self._target)
            return now + _Watchdog.RECHECK


def _cut(target: Any) -> None:
    """Shut the socket down: a thread blocked reading it wakes at once (close() alone may not wake it)."""
    try:
        if isinstance(target, urllib3.HTTPResponse):
            target.shutdown()  # reading the body: http.client may already have let go of conn.sock
        elif getattr(target, "sock", None) is not None:
            target.sock.shutdown(socket.SHUT_RDWR)  # sending, or waiting for the headers
    except (OSError, ValueError, RuntimeError):
        pass  # already closed or released: nothing left to cut


class _Watchdog:
    """One thread per Fetcher that cuts the connection of any fetch past its deadline."""

    RECHECK = 0.25  # a fetch still running after its cut (e.g. it was connecting) is cut again

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Guard]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._closed = False

    def arm(self, timeout: float, scope: _Scope, outer: _Guard | None) -> _Guard:
        guard = _Guard(time.monotonic() + timeout, scope, outer)
        self._push(guard.deadline, guard)
        return guard

    def _push(self, when: float, guard: _Guard) -> None:
        with self._cond:
            earliest = not self._heap or when < self._heap[0][0]
            heapq.heappush(self._heap, (when, next(self._seq), guard))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fetch-watchdog", daemon=True)
                self._thread.start()
            elif earliest:
                self._cond.notify()  # only a new earliest deadline needs to wake the thread

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._cond.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                if self._closed:
                    return
                _, _, guard = heapq.heappop(self._heap)
            again = guard.expire()
            if again is not None:
                self._push(again, guard)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()


def _watched_pool(base: Any, local: threading.local) -> Any:
    """The one hook into urllib3, at connection time: a pool that tells the running fetch's guard
    which connection it is using (so the watchdog can cut it), takes it back before another fetch
    can pick it up, and holds the address each connection reached to the fetch's rule, both when
    it connects and when a kept-alive connection is taken up again."""
    connection: Any = base.ConnectionCls

    class WatchedConnection(connection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            guard = getattr(local, "guard", None)
            if guard is not None:
                try:
                    guard.check_peer(sock, self.host)
                except BaseException:
                    sock.close()
                    raise
            return sock

    class WatchedPool(base):
        ConnectionCls = WatchedConnection

        def _get_conn(self, timeout: float | None = None) -> Any:
            conn = super()._get_conn(timeout)
            guard = getattr(local, "guard", None)
            if guard is not None:
                if conn.sock is not None:
                    try:
                        guard.check_peer(conn.sock, self.host)
                    except BaseException:
                        conn.close()  # urlopen gives the pool back its place, empty
                        raise
                guard.attach(conn)
            return conn

        def _put_conn(self, conn: Any) -> None:
            guard = getattr(local, "guard", None)
            if guard is not None:
                guard.detach()
            super()._put_conn(conn)

    return WatchedPool


class _WatchedAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter with the watched pools (for direct connections and through a proxy)."""

    def __init__(self, local: threading.local, **kw: Any):
        self._pool_classes = {
            "http": _watched_pool(urllib3.HTTPConnectionPool, local),
            "https": _watched_pool(urllib3.HTTPSConnectionPool, local),
        }
        super().__init__(**kw)

    def init_poolmanager(self, *args: Any, **kw: Any) -> None:
        super().init_poolmanager(*args, **kw)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes

    def proxy_manager_for(self, proxy: str, **kw: Any) -> urllib3.ProxyManager:
        manager = super().proxy_manager_for(proxy, **kw)
        manager.pool_classes_by_scheme = self._pool_classes
        return manager


# ---------------------------------------------------------------- shared state


class _HostSlots:
    """At most `limit` requests in flight per host:port."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[str, threading.Semaphore] = {}

    def acquire(self, key: str, limit: int, timeout: float | None = None) -> threading.Semaphore:
        """Take a slot for host:port `key`; the caller releases the semaphore returned."""
        slots = self._slots.get(key)  # one dict read is atomic: only a new host takes the lock
        if slots is None:
            with self._lock:
                slots = self._slots.setdefault(key, threading.Semaphore(limit))
        if not slots.acquire(timeout=timeout):
            raise FetchError(f"no free connection slot for {key} within {timeout:g}s")
        return slots


class _OncePerKey(Generic[T]):
    """A cache whose value for each key is computed once (even when threads ask at the same time)
    and kept `keep` seconds."""

    def __init__(self, keep: float):
        self._keep = keep
        self._lock = threading.Lock()
        self._values: dict[str, tuple[T, float]] = {}
        self._locks: dict[str, threading.Lock] = {}

    def _fresh(self, key: str) -> tuple[T, float] | None:
        hit = self._values.get(key)
        return hit if hit is not None and hit[1] > time.monotonic() else None

    def get(self, key: str, compute: Callable[[], T]) -> T:
        with self._lock:
            hit = self._fresh(key)
            if hit is not None:
                return hit[0]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                hit = self._fresh(key)
                if hit is not None:
                    return hit[0]
            value = compute()
            with self._lock:
                self._values[key] = (value, time.monotonic() + self._keep)
            return value


# ---------------------------------------------------------------- responses


def _redirect_target(resp: requests.Response, current: str) -> str | None:
    location = resp.headers.get("Location")
    if resp.status_code not in REDIRECTS or not location:
        return None
    try:
        return urljoin(current, location.strip())
    except ValueError as e:  # a hostile Location such as "http://[::1" must end as this source's error
        raise FetchError(f"refused a redirect to an invalid URL ({e}): {location[:200]}", permanent=True) from None


def _too_slow(limits: Limits) -> FetchError:
    return FetchError(f"too slow: not finished within {limits.timeout:g}s (the server sends too slowly or not at all)")


def _request_error(e: Exception, host: str, guard: _Guard, limits: Limits) -> FetchError:
    if guard.expired:
        return _too_slow(limits)
    if isinstance(e, requests.exceptions.SSLError):
        return FetchError(f"TLS error: {_reason(e)}")
    if isinstance(e, requests.exceptions.ConnectTimeout):
        return FetchError(f"timed out connecting to {host}")
    if isinstance(e, requests.exceptions.ConnectionError):
        return FetchError(f"cannot connect to {host}: {_reason(e)}")
    return FetchError(f"request failed: {_reason(e)}")


def _reason(e: BaseException) -> str:
    """The innermost useful message of a requests/urllib3 exception chain."""
    while e.__context__ is not None and str(e.__context__):
        e = e.__context__
    text = str(e)
    return text.split(": ", 1)[-1] if "Max retries" in text else text


def _raise_for_status(resp: requests.Response, clock: Callable[[], datetime]) -> None:
    code = resp.status_code
    if code < 400:
        return
    if code in (404, 410):
        raise FetchError(f"HTTP {code}: the page is gone; check the source's URL", status=code, permanent=True)
    if code in (429, 503):
        raise FetchError(
            f"HTTP {code}: the server asked us to slow down",
            status=code,
            retry_after=retry_after_seconds(resp.headers.get("Retry-After"), now=clock()),
        )
    if code in (401, 403):
        raise FetchError(
            f"HTTP {code}: access refused (the site may block automated readers)", status=code, permanent=True
        )
    raise FetchError(f"HTTP {code}: {resp.reason or 'error'}", status=code)


def retry_after_seconds(value: str | None, cap: float = 24 * 3600, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds (delta, or HTTP date against `now`, default the current time), capped
    so a hostile server cannot park a source."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min((when - (now or _utc_now())).total_seconds(), cap))


def _read_capped(resp: requests.Response, limits: Limits, guard: _Guard) -> bytes:
    """Read the decoded body in small pieces; stop at the size cap or the deadline.

    urllib3 decompresses at most the requested amount per read, so a gzip bomb is counted as it
    inflates and never grows much past the cap; the watchdog cuts a drip-feeding server.
    """
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes and not resp.headers.get("Content-Encoding"):
        raise FetchError(f"body too large: {int(declared):,} bytes declared, the cap is {limits.max_bytes:,}")
    chunks, size = [], 0
    try:
        while chunk := resp.raw.read(CHUNK, decode_content=True):
            size += len(chunk)
            if size > limits.max_bytes:
                raise FetchError(f"body too large: over the cap of {limits.max_bytes:,} bytes (decoded)")
            chunks.append(chunk)
    except (urllib3.exceptions.HTTPError, OSError) as e:
        if guard.expired:
            raise _too_slow(limits) from None
        if isinstance(e, urllib3.exceptions.DecodeError):
            raise FetchError(
                f"could not decode the body ({resp.headers.get('Content-Encoding')}): {_reason(e)}"
            ) from None
        raise FetchError(f"connection broken while reading: {_reason(e)}") from None
    if guard.expired:
        raise _too_slow(limits)
    return b"".join(chunks)


def _declared_charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        k, _, v = part.strip().partition("=")
        if k.lower() == "charset" and v:
            return v.strip("\"' ")
    return None
