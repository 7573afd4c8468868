"""An item's identity and address: its key (the dedup ladder: guid, then canonical link, then a
content hash), its canonical link (no tracking parameters), and whether a link is http(s) at all.
Stdlib only; never raises on a URL it cannot read, except `_http_link`, whose ValueError drops the
field it was reading.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only track the click; removed so one post has one identity.
TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|_hsenc|_hsmi|"
    r"yclid|ref_src|ref_url|cmpid|ocid)$",
    re.IGNORECASE,
)
_BAD_HOST = re.compile(r"[\s\\<>\"'`{}|^]|[\x00-\x1f\x7f]")


def canonical_link(url: str) -> str:
    """Lower-case scheme and host, no default port, no tracking parameters; the fragment is kept
    (on a forum it names the post). Never raises: a URL it cannot read is returned stripped."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    if parts.scheme not in ("http", "https"):
        return url.strip()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = port if port and port != {"http": 80, "https": 443}[parts.scheme] else None
    netloc = f"{host}:{port}" if port else host
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAMS.match(k)]
    )
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", query, parts.fragment))


def _http_link(url: str) -> str:
    """The link when it is http(s); "" for another scheme (javascript:, data:...) or none;
    ValueError when it is not a URL at all (a port out of range, a broken IPv6 address, no host)."""
    url = url.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return ""
    parts.port  # noqa: B018  (raises ValueError when out of range)
    if not parts.hostname or _BAD_HOST.search(parts.netloc):
        raise ValueError(f"no valid host in {url[:100]!r}")
    return url


def item_key(guid: str | None, link: str | None, title: str, text: str, extra: str = "") -> str:
    """The dedup ladder: guid, then canonical link, then a content hash."""
    if guid and guid.strip():
        return "guid:" + guid.strip()[:1000]
    if link and link.strip():
        return "link:" + canonical_link(link)[:1000]
    digest = hashlib.sha256(f"{extra}\x00{title}\x00{text}".encode("utf-8", "surrogatepass")).hexdigest()
    return "hash:" + digest
