"""The only module that touches the network (requests). Fetching returns data; it raises only for failures.

Every source goes through `Fetcher.get`, which assumes the server is hostile:

- a total deadline per fetch, enforced by a watchdog thread that cuts the connection (a server
  that drips one byte at a time defeats socket timeouts, which restart with every byte);
- a body cap counted on the decoded bytes, read in small pieces (a gzip bomb never inflates much
  past the cap); a declared Content-Length over the cap is refused before reading;
- redirects followed by hand, each hop checked: at most 5, no loops, http(s) only, and never from
  a public address to a private, loopback or link-local one (a router's admin page, a cloud
  metadata address);
- robots.txt fetched once per host and obeyed when the source asks for it;
- at most `per_host` requests in flight to one host (host:port), so many sources on one site
  never hammer it;
- no cookies kept: nothing one source sets is sent to another.
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import SplitResult, urljoin, urlsplit
from urllib.request import getproxies
from urllib.robotparser import RobotFileParser

import requests
import urllib3

from monitor import __version__
from monitor.errors import FetchError
from monitor.models import FetchResult

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


@dataclass(frozen=True)
class Limits:
    timeout: float = 20.0  # seconds for the whole fetch, not one socket read
    max_bytes: int = 5 * 1024**2  # decoded body cap
    per_host: int = 4  # requests in flight to one host at most
    robots: bool = False  # obey robots.txt


class Fetcher:
    """One requests adapter (connection reuse) shared by all fetches of a scan; thread-safe for GETs.

    Holds the per-scan caches: robots.txt per host, whether a host is public, the per-host slots.
    No Session: a monitor should not carry one source's cookies to another.
    """

    def __init__(self, user_agent: str = USER_AGENT, pool_size: int = 16):
        self._local = threading.local()  # the guard of the fetch running on this thread
        self._watchdog = _Watchdog()
        self._slots = _HostSlots()
        self._robots = _OncePerKey()
        self._addresses = _OncePerKey()
        # The headers a Session would send, with ours.
        self._headers = {
            "User-Agent": user_agent,
            "Accept-Encoding": "gzip, deflate",
            "Accept": "*/*",
            "Connection": "keep-alive",
        }
        self._adapter = _WatchedAdapter(self._local, pool_connections=pool_size, pool_maxsize=pool_size)
        # The CA bundle as a Session reads it from the environment, read once.
        self._verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        # Proxies from the environment (HTTP(S)_PROXY, NO_PROXY) are chosen per URL by requests'
        # own get_environ_proxies, as a Session would; without any, nothing is re-read per fetch.
        self._proxied = bool(getproxies())

    def close(self) -> None:
        self._watchdog.close()
        self._adapter.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def get(
        self,
        url: str,
        limits: Limits = Limits(),
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
    ) -> FetchResult:
        """GET a URL. Returns a FetchResult (status 304 when unchanged); raises FetchError on failure."""
        parts = _split_http(url)
        headers = self._headers.copy()
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if accept:
            headers["Accept"] = accept
        if limits.robots:
            self._check_robots(url, parts, limits)
        return self._get(url, parts, headers, limits, etag, last_modified)

    def _get(
        self,
        url: str,
        parts: SplitResult,
        headers: dict,
        limits: Limits,
        etag: str | None = None,
        last_modified: str | None = None,
        slot_wait: float | None = None,
    ) -> FetchResult:
        # The deadline starts once the host has a free slot: waiting politely is not the server's fault.
        slot = self._slots.acquire(parts.netloc.lower(), limits.per_host, slot_wait)
        try:
            guard = self._watchdog.arm(limits.timeout)
            outer, self._local.guard = getattr(self._local, "guard", None), guard
            try:
                return self._follow(url, parts, headers, limits, guard, etag, last_modified)
            finally:
                guard.disarm()
                self._local.guard = outer
        finally:
            slot.release()

    def _follow(
        self,
        url: str,
        parts: SplitResult,
        headers: dict,
        limits: Limits,
        guard: _Guard,
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResult:
        """Request, and follow redirects by hand so that every hop is checked."""
        seen = {url}
        current, current_parts = url, parts
        for hop in itertools.count(1):
            resp = self._request(current, current_parts.hostname, headers, limits, guard)
            try:
                target = _redirect_target(resp, current)
                if target is None:
                    result = self._result(resp, limits, guard, etag, last_modified)
                    resp.raw.release_conn()  # read to the end: the connection goes back for reuse
                    return result
            finally:
                resp.close()
            current_parts = self._check_redirect(parts, current, target, seen, hop, limits)
            seen.add(target)
            current = target

    def _check_redirect(
        self, origin: SplitResult, current: str, target: str, seen: set, hop: int, limits: Limits
    ) -> SplitResult:
        """The target's parts, once it passed every check."""
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https"):
            raise FetchError(f"refused a redirect to a non-http(s) URL: {target[:200]}", permanent=True)
        if target in seen:
            raise FetchError(f"redirect loop: {current} redirects back to {target}")
        if hop > MAX_REDIRECTS:
            raise FetchError(f"too many redirects (more than {MAX_REDIRECTS})")
        self._check_private(origin, parts, target)
        if limits.robots:
            self._check_robots(target, parts, limits)
        return parts

    def _check_private(self, origin: SplitResult, parts: SplitResult, target: str) -> None:
        """Only a source on a public address is held to it; one configured on a private address
        (and every test, on 127.0.0.1) may redirect within its network."""
        host = origin.hostname or ""
        from_ips = self._addresses.get(host, lambda: _resolve(host))
        if not from_ips or not all(is_public(ip) for ip in from_ips):
            return
        for ip in _resolve(parts.hostname):
            if not all(redirect_allowed(f, ip) for f in from_ips):
                raise FetchError(
                    f"refused a redirect from a public address to a private one ({ip}): {target[:200]}", permanent=True
                )

    def _request(self, url: str, host: str | None, headers: dict, limits: Limits, guard: _Guard) -> requests.Response:
        socket_timeout = min(10.0, max(0.1, guard.remaining()))
        try:
            # As a Session would prepare it (the URL quoted and IDNA-encoded, a user:password in it
            # sent as Basic auth), less cookies and hooks, which nothing uses.
            req = requests.PreparedRequest()
            req.prepare_method("GET")
            req.prepare_url(url, None)
            req.prepare_headers(headers)
            if "@" in url:
                req.prepare_auth(None, url)
            proxies = requests.utils.get_environ_proxies(url) if self._proxied else {}
            resp = self._adapter.send(req, stream=True, timeout=socket_timeout, verify=self._verify, proxies=proxies)
        except requests.exceptions.RequestException as e:
            raise _request_error(e, host, guard, limits) from None
        guard.attach(resp.raw)
        if resp.status_code not in REDIRECTS and resp.status_code != 304:
            try:
                _raise_for_status(resp)
            except FetchError:
                resp.close()
                raise
        return resp

    def _result(
        self, resp: requests.Response, limits: Limits, guard: _Guard, etag: str | None, last_modified: str | None
    ) -> FetchResult:
        if resp.status_code == 304:
            return FetchResult(url=resp.url, status=304, etag=etag, last_modified=last_modified, fetched_at=_now())
        body = _read_capped(resp, limits, guard)
        content_type = resp.headers.get("Content-Type", "")
        return FetchResult(
            url=resp.url,
            status=resp.status_code,
            body=body,
            content_type=content_type,
            encoding=_declared_charset(content_type),
            etag=resp.headers.get("ETag"),
            last_modified=resp.headers.get("Last-Modified"),
            fetched_at=_now(),
        )

    # ------------------------------------------------------------ robots.txt

    def _check_robots(self, url: str, parts: SplitResult, limits: Limits) -> None:
        root = f"{parts.scheme}://{parts.netloc}"
        rules = self._robots.get(root, lambda: self._load_robots(root, limits))
        if not rules.can_fetch(ROBOTS_AGENT, url):
            raise FetchError(
                f"disallowed by robots.txt ({root}/robots.txt); the site asks robots not to read this page",
                permanent=True,
            )

    def _load_robots(self, root: str, limits: Limits) -> RobotFileParser:
        """The host's robots.txt, as urllib.robotparser reads it: 401/403 forbid all, other errors allow all."""
        url = root + "/robots.txt"
        rules = RobotFileParser(url)
        timeout = min(limits.timeout, ROBOTS_TIMEOUT)
        robots_limits = Limits(timeout=timeout, max_bytes=ROBOTS_LIMIT, per_host=limits.per_host)
        try:
            # Its wait for a slot is bounded: a redirect to this host may hold one of them meanwhile.
            got = self._get(url, urlsplit(url), self._headers.copy(), robots_limits, slot_wait=timeout)
        except FetchError as e:
            if e.status in (401, 403):
                rules.disallow_all = True
            else:
                rules.allow_all = True
            return rules
        rules.parse(got.body.decode("utf-8", "replace").splitlines())
        return rules


# ---------------------------------------------------------------- addresses


def is_public(ip: str) -> bool:
    """A global unicast address: not private, loopback, link-local, CGNAT, multicast or reserved."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return addr.is_global and not addr.is_multicast


def redirect_allowed(from_ip: str, to_ip: str) -> bool:
    """A redirect may not lead from a public address to a non-public one (SSRF into the LAN)."""
    return not (is_public(from_ip) and not is_public(to_ip))


def _resolve(host: str | None) -> tuple[str, ...]:
    """The addresses of a host; a literal IP without a DNS lookup; () when it does not resolve."""
    if not host:
        return ()
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return (host,)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return ()
    return tuple(dict.fromkeys(info[4][0] for info in infos))


# ---------------------------------------------------------------- the deadline


class _Guard:
    """The deadline of one fetch and what it is reading from (a connection, then the response),
    so the watchdog can cut it."""

    def __init__(self, deadline: float):
        self.deadline = deadline
        self.expired = False
        self._done = False
        self._target = None
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def attach(self, target) -> None:
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

    def expire(self) -> bool:
        """Cut the connection; True while the fetch is still running (the watchdog checks again)."""
        with self._lock:
            if self._done:
                return False
            self.expired = True
            if self._target is not None:
                _cut(self._target)
            return True


def _cut(target) -> None:
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

    def __init__(self):
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Guard]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._closed = False

    def arm(self, timeout: float) -> _Guard:
        guard = _Guard(time.monotonic() + timeout)
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
            if guard.expire():
                self._push(time.monotonic() + self.RECHECK, guard)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()


def _watched_pool(base: type, local: threading.local) -> type:
    """A urllib3 pool that tells the running fetch's guard which connection it is using, and
    takes it back from the guard before another fetch can pick it up."""

    class WatchedPool(base):
        def _get_conn(self, timeout=None):
            conn = super()._get_conn(timeout)
            guard = getattr(local, "guard", None)
            if guard is not None:
                guard.attach(conn)
            return conn

        def _put_conn(self, conn):
            guard = getattr(local, "guard", None)
            if guard is not None:
                guard.detach()
            super()._put_conn(conn)

    return WatchedPool


class _WatchedAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter with the watched pools (for direct connections and through a proxy)."""

    def __init__(self, local: threading.local, **kw):
        self._pool_classes = {
            "http": _watched_pool(urllib3.HTTPConnectionPool, local),
            "https": _watched_pool(urllib3.HTTPSConnectionPool, local),
        }
        super().__init__(**kw)

    def init_poolmanager(self, *args, **kw):
        super().init_poolmanager(*args, **kw)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes

    def proxy_manager_for(self, proxy, **kw):
        manager = super().proxy_manager_for(proxy, **kw)
        manager.pool_classes_by_scheme = self._pool_classes
        return manager


# ---------------------------------------------------------------- per-scan caches


class _HostSlots:
    """At most `limit` requests in flight per host:port."""

    def __init__(self):
        self._lock = threading.Lock()
        self._slots: dict[str, threading.Semaphore] = {}

    def acquire(self, key: str, limit: int, timeout: float | None = None) -> threading.Semaphore:
        """Take a slot for host:port `key`; the caller releases the semaphore returned."""
        with self._lock:
            slots = self._slots.setdefault(key, threading.Semaphore(limit))
        if not slots.acquire(timeout=timeout):
            raise FetchError(f"no free connection slot for {key} within {timeout:g}s")
        return slots


class _OncePerKey:
    """A cache whose value for each key is computed once, even when threads ask at the same time."""

    def __init__(self):
        self._lock = threading.Lock()
        self._values: dict = {}
        self._locks: dict = {}

    def get(self, key, compute):
        with self._lock:
            if key in self._values:
                return self._values[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                if key in self._values:
                    return self._values[key]
            value = compute()
            with self._lock:
                self._values[key] = value
            return value


# ---------------------------------------------------------------- responses


def _now() -> datetime:
    return datetime.now(UTC)


def _split_http(url: str) -> SplitResult:
    """The URL's parts, split once per fetch; refused unless http(s)."""
    try:
        parts = urlsplit(url)
    except ValueError as e:  # e.g. "Invalid IPv6 URL"
        raise FetchError(f"refused: {url[:200]!r} is not a valid URL ({e})", permanent=True) from None
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"refused: {url!r} is not an http(s) URL", permanent=True)
    return parts


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


def _request_error(e: Exception, host: str | None, guard: _Guard, limits: Limits) -> FetchError:
    if guard.expired:
        return _too_slow(limits)
    if isinstance(e, requests.exceptions.SSLError):
        return FetchError(f"TLS error: {_reason(e)}")
    if isinstance(e, requests.exceptions.ConnectTimeout):
        return FetchError(f"timed out connecting to {host}")
    if isinstance(e, requests.exceptions.ConnectionError):
        return FetchError(f"cannot connect to {host}: {_reason(e)}")
    return FetchError(f"request failed: {_reason(e)}")


def _reason(e: Exception) -> str:
    """The innermost useful message of a requests/urllib3 exception chain."""
    while e.__context__ is not None and str(e.__context__):
        e = e.__context__
    text = str(e)
    return text.split(": ", 1)[-1] if "Max retries" in text else text


def _raise_for_status(resp: requests.Response) -> None:
    code = resp.status_code
    if code < 400:
        return
    if code in (404, 410):
        raise FetchError(f"HTTP {code}: the page is gone; check the source's URL", status=code, permanent=True)
    if code in (429, 503):
        raise FetchError(
            f"HTTP {code}: the server asked us to slow down",
            status=code,
            retry_after=retry_after_seconds(resp.headers.get("Retry-After")),
        )
    if code in (401, 403):
        raise FetchError(
            f"HTTP {code}: access refused (the site may block automated readers)", status=code, permanent=True
        )
    raise FetchError(f"HTTP {code}: {resp.reason or 'error'}", status=code)


def retry_after_seconds(value: str | None, cap: float = 24 * 3600) -> float | None:
    """Retry-After as seconds (delta or HTTP date), capped so a hostile server cannot park a source."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min((when - _now()).total_seconds(), cap))


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
