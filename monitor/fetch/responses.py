"""What a response means: a redirect and where to, an error status worded (gone, slow down with
its Retry-After, refused), a failed request worded, the body read under its cap and the deadline
(a declared Content-Length over the cap refused before reading), and the charset it declares.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import urljoin

import requests
import urllib3

from monitor.errors import FetchError
from monitor.fetch.deadline import _Guard

if TYPE_CHECKING:
    from monitor.fetch import Limits

CHUNK = 64 * 1024
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)


def _utc_now() -> datetime:
    return datetime.now(UTC)


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
