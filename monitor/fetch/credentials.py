"""What a fetch sends of the caller's secrets, and what its errors let out: extra headers (API
tokens) are checked before requests sees them (it would quote a bad value in its error) and go to
the first URL's own site only; no password of a URL leaves in an error message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import requests

from monitor.errors import FetchError
from monitor.fetch.addresses import _Target
from monitor.text import redact_urls


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
