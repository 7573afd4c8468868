"""The only module that touches the network (requests). Fetching returns data; it raises only for failures.

Politeness and limits are built in: a descriptive User-Agent, (connect, read) timeouts plus a
total deadline per fetch, a body cap counted on the decoded bytes, conditional GET.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests

from monitor import __version__
from monitor.errors import FetchError
from monitor.models import FetchResult

USER_AGENT = (f"school-monitor/{__version__} (+https://github.com/school-monitor/school-monitor; "
              "a school's reputation monitor; contact: see the school's website)")
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Limits:
    timeout: float = 20.0         # seconds for the whole fetch, not one socket read
    max_bytes: int = 5 * 1024**2  # decoded body cap


class Fetcher:
    """One requests.Session (connection reuse) shared by all fetches of a scan; thread-safe for GETs."""

    def __init__(self, user_agent: str = USER_AGENT, pool_size: int = 16):
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self.session.headers["Accept-Encoding"] = "gzip, deflate"
        adapter = requests.adapters.HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def get(self, url: str, limits: Limits = Limits(), *, etag: str | None = None,
            last_modified: str | None = None, accept: str | None = None) -> FetchResult:
        """GET a URL. Returns a FetchResult (status 304 when unchanged); raises FetchError on failure."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise FetchError(f"refused: {url!r} is not an http(s) URL", permanent=True)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if accept:
            headers["Accept"] = accept
        deadline = time.monotonic() + limits.timeout
        socket_timeout = (min(10.0, limits.timeout), min(10.0, limits.timeout))
        try:
            resp = self.session.get(url, headers=headers, stream=True, timeout=socket_timeout)
        except requests.exceptions.TooManyRedirects:
            raise FetchError("too many redirects (a redirect loop?)")
        except requests.exceptions.SSLError as e:
            raise FetchError(f"TLS error: {_reason(e)}")
        except requests.exceptions.ConnectTimeout:
            raise FetchError(f"timed out connecting to {urlsplit(url).hostname}")
        except requests.exceptions.ConnectionError as e:
            raise FetchError(f"cannot connect to {urlsplit(url).hostname}: {_reason(e)}")
        except requests.exceptions.RequestException as e:
            raise FetchError(f"request failed: {_reason(e)}")
        with resp:
            if resp.status_code == 304:
                return FetchResult(url=resp.url, status=304, etag=etag, last_modified=last_modified,
                                   fetched_at=_now())
            _raise_for_status(resp)
            body = _read_capped(resp, limits, deadline)
            return FetchResult(
                url=resp.url, status=resp.status_code, body=body,
                content_type=resp.headers.get("Content-Type", ""),
                encoding=_declared_charset(resp.headers.get("Content-Type", "")),
                etag=resp.headers.get("ETag"), last_modified=resp.headers.get("Last-Modified"),
                fetched_at=_now(),
            )


def _now() -> datetime:
    return datetime.now(timezone.utc)


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
        raise FetchError(f"HTTP {code}: the server asked us to slow down", status=code,
                         retry_after=retry_after_seconds(resp.headers.get("Retry-After")))
    if code in (401, 403):
        raise FetchError(f"HTTP {code}: access refused (the site may block automated readers)",
                         status=code, permanent=True)
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
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, min((when - _now()).total_seconds(), cap))


def _read_capped(resp: requests.Response, limits: Limits, deadline: float) -> bytes:
    """Read the decoded body in chunks; stop at the size cap or the deadline (a drip-feeding server)."""
    declared = resp.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limits.max_bytes and \
            not resp.headers.get("Content-Encoding"):
        raise FetchError(f"body too large: {int(declared):,} bytes declared, the cap is {limits.max_bytes:,}")
    chunks, size = [], 0
    try:
        for chunk in resp.iter_content(CHUNK):  # decoded (gzip) bytes: a bomb is counted as it inflates
            size += len(chunk)
            if size > limits.max_bytes:
                raise FetchError(f"body too large: over the cap of {limits.max_bytes:,} bytes")
            if time.monotonic() > deadline:
                raise FetchError(f"too slow: not finished within {limits.timeout:g}s")
            chunks.append(chunk)
    except requests.exceptions.RequestException as e:
        raise FetchError(f"connection broken while reading: {_reason(e)}")
    return b"".join(chunks)


def _declared_charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        k, _, v = part.strip().partition("=")
        if k.lower() == "charset" and v:
            return v.strip("\"' ")
    return None
