"""Small text helpers every front end shares (emails, reports, the desk, the terminal). No business logic.

Whatever came from the internet passes through here before it is shown: `printable` drops control
characters (terminal escapes, NULs), `redact_url` drops a password from an address, `http_url`
keeps only addresses that are safe to make a link of.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, tzinfo
from urllib.parse import urlsplit, urlunsplit

EXCERPT_CHARS = 200
LOCAL_FORMAT = "%Y-%m-%d %H:%M %Z"

# C0 and C1 control characters and DEL, but tab and newline (text keeps its lines).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidirectional overrides and isolates: they make a text display in another order than it reads.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
# Up to the authority's last @, as urlsplit reads it (a password may hold an unescaped @).
_USERINFO = re.compile(r"(?<=://)[^/?#\s]*@")


def printable(text: str) -> str:
    """The text without control characters (an ESC starts a terminal escape; a NUL breaks a
    database; CR rewrites a line), bidi overrides, or lone surrogates. Tabs and newlines stay."""
    text = _BIDI.sub("", _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n")))
    return text.encode("utf-8", "replace").decode("utf-8") if _has_surrogates(text) else text


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def one_line(text: str, limit: int | None = None) -> str:
    """Text fit for a header or a one-line listing: no control characters or line breaks, spaces
    collapsed, capped at `limit` characters with an ellipsis."""
    text = "".join(" " if unicodedata.category(c)[0] in "CZ" and c != " " else c for c in str(text))
    text = " ".join(text.split())
    return text if limit is None or len(text) <= limit else text[: limit - 1].rstrip() + "…"


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of a text on one line, at most `limit` characters."""
    return one_line(text, limit)


def http_url(url: str | None) -> str:
    """The URL when it is http(s) with a host (safe to put in an href), else ""."""
    try:
        parts = urlsplit((url or "").strip())
    except ValueError:
        return ""
    return url.strip() if url and parts.scheme.lower() in ("http", "https") and parts.netloc else ""


def redact_url(url: str) -> str:
    """The URL without a `user:password@` part, for anything shown or logged."""
    if "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return _USERINFO.sub("", url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def redact_urls(text: str) -> str:
    """Every `scheme://user:password@` in a message, without the user and password."""
    return _USERINFO.sub("", text) if "@" in text else text


def local_time(when: datetime | None, tz: tzinfo, fmt: str = LOCAL_FORMAT, missing: str = "-") -> str:
    """A time in the school's zone, with the zone's name (one format everywhere people read times)."""
    return when.astimezone(tz).strftime(fmt) if when else missing
