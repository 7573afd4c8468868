"""The only package that touches the network (requests). Fetching returns data; it raises only FetchError.

Every request goes through `Fetcher.get`, which assumes the server is hostile:

- a total deadline per fetch, enforced by a watchdog thread that cuts the connection (a server
  that drips one byte at a time defeats socket timeouts, which restart with every byte):
  `deadline.py`;
- a body cap counted on the decoded bytes, read in small pieces (a gzip bomb never inflates much
  past the cap); a declared Content-Length over the cap is refused before reading: `responses.py`;
- redirects followed by hand: at most 5, no loops, http(s) only: `Fetcher._follow` below;
- addresses: a URL is judged by the host the HTTP library will connect to (a backslash in the host
  part, where parsers disagree, is refused), and so is the address each connection reached. A
  fetch may reach a private, loopback or link-local address only when its origin is on one (a
  source configured inside the school's network); `origin=` judges a URL by the source that linked
  to it, `public_only=True` allows public addresses alone: `addresses.py`;
- robots.txt fetched once per host (kept a day) and obeyed when the source asks for it: `robots.py`;
- at most `per_host` requests in flight to one host:port, and with `host_gaps`, at least that many
  seconds between the starts of two requests to one host (or host:port): `pacing.py`;
- no cookies kept; extra headers (API tokens) go to the URL's own host only, never into a message;
  no password of a URL in any error message or result: `credentials.py`.

This module is the route a request takes, top to bottom: `get` → `_clear` (address rule,
robots.txt) → `_get` (a slot, the deadline) → `_follow` (each hop) → `_request` (the gap, the
send, the status) → `_result` (the body).
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.request import getproxies
from urllib.robotparser import RobotFileParser

import requests

from monitor import __version__
from monitor.config import Source, source_default
from monitor.errors import FetchError
from monitor.fetch import robots
from monitor.fetch.addresses import (
    ADDRESSES_KEEP,
    DEFAULT_PORTS,
    _host_and_port,
    _literal_ip,
    _resolve,
    _Scope,
    _Target,
    _target,
    is_public,
)
from monitor.fetch.cache import _OncePerKey
from monitor.fetch.credentials import _extra_headers, _redacted, _Sending
from monitor.fetch.deadline import _Guard, _Watchdog, _WatchedAdapter
from monitor.fetch.pacing import _HostSlots, _Pacer
from monitor.fetch.responses import (
    CHUNK,
    MAX_REDIRECTS,
    REDIRECTS,
    _declared_charset,
    _raise_for_status,
    _read_capped,
    _redirect_target,
    _request_error,
    _utc_now,
    retry_after_seconds,
)
from monitor.fetch.robots import ROBOTS_AGENT, ROBOTS_KEEP, ROBOTS_LIMIT, ROBOTS_TIMEOUT
from monitor.models import FetchResult
from monitor.text import redact_url

__all__ = [
    "ADDRESSES_KEEP",
    "CHUNK",
    "DEFAULT_PORTS",
    "MAX_REDIRECTS",
    "REDIRECTS",
    "ROBOTS_AGENT",
    "ROBOTS_KEEP",
    "ROBOTS_LIMIT",
    "ROBOTS_TIMEOUT",
    "USER_AGENT",
    "Fetcher",
    "Limits",
    "is_public",
    "retry_after_seconds",
]

log = logging.getLogger(__name__)

USER_AGENT = (
    f"school-monitor/{__version__} (+https://github.com/school-monitor/school-monitor; "
    "a school's reputation monitor; contact: see the school's website)"
)


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
        return _Scope.judged_by(self._addresses_of(source), source.host if origin else "")

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
        robots.check(rules, target.url, root)

    def _load_robots(self, root: str, limits: Limits, scope: _Scope) -> RobotFileParser:
        """The host's robots.txt, fetched along this route (its slots, deadline and address rule)."""
        target = _target(root + "/robots.txt")
        robots_limits = robots.limits_for(limits)
        try:
            # Its wait for a slot is bounded: a redirect to this host may hold one of them meanwhile.
            sending = _Sending(self._headers.copy(), frozenset(), target)
            got = self._get(target, sending, robots_limits, scope, slot_wait=robots_limits.timeout)
        except FetchError as e:
            return robots.unread(target.url, e.status)
        return robots.read(target.url, got.body)
