"""Bytes -> items (feedparser for feeds). Pure: no network, no database, `now` passed in.

The parsers never raise anything but ParseError: whatever a hostile body does to a parser
becomes a ParseError naming the exception, so the collector records it for that source.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser
import lxml.etree
import lxml.html

from monitor.errors import ParseError
from monitor.models import Item

# Query parameters that only track the click; removed so one post has one identity.
TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|_hsenc|_hsmi|"
                             r"yclid|ref_src|ref_url|cmpid|ocid)$", re.IGNORECASE)
FUTURE_SLACK = timedelta(minutes=10)  # clocks differ a little; past this a date is "in the future"
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"[ \t\r\f\v]+")
_LINES = re.compile(r"\s*\n\s*")


def canonical_link(url: str) -> str:
    """Lower-case scheme and host, no default port, no tracking parameters; the fragment is kept
    (on a forum it names the post)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    if parts.scheme not in ("http", "https"):
        return url.strip()
    host = (parts.hostname or "").lower()
    port = parts.port if parts.port and parts.port != {"http": 80, "https": 443}[parts.scheme] else None
    netloc = f"{host}:{port}" if port else host
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not TRACKING_PARAMS.match(k)])
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", query, parts.fragment))


def item_key(guid: str | None, link: str | None, title: str, text: str, extra: str = "") -> str:
    """The dedup ladder: guid, then canonical link, then a content hash."""
    if guid and guid.strip():
        return "guid:" + guid.strip()[:1000]
    if link and link.strip():
        return "link:" + canonical_link(link)[:1000]
    digest = hashlib.sha256(f"{extra}\x00{title}\x00{text}".encode("utf-8", "surrogatepass")).hexdigest()
    return "hash:" + digest


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment; cheap for the common case of no markup."""
    if not fragment:
        return ""
    if "<" not in fragment:
        return _tidy(html.unescape(fragment))
    try:
        doc = lxml.html.fragment_fromstring(fragment, create_parent="div")
        for bad in doc.xpath(".//script|.//style|.//template"):
            bad.drop_tree()
        text = doc.text_content()
    except (lxml.etree.ParserError, ValueError):
        text = html.unescape(_TAG.sub(" ", fragment))
    return _tidy(text)


def _tidy(text: str) -> str:
    text = text.replace("\xa0", " ")
    return _LINES.sub("\n", _SPACE.sub(" ", text)).strip()


def clamp_date(when: datetime | None, now: datetime) -> tuple[datetime | None, tuple[str, ...]]:
    """A date in the future is clamped to now (first seen) and noted."""
    if when is not None and when > now + FUTURE_SLACK:
        return now, (f"future date {when.isoformat()} clamped to first seen",)
    return when, ()


def _entry_date(entry) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _entry_html(entry) -> str:
    """The richest body the entry has: full content, else the summary."""
    for content in entry.get("content") or ():
        if content.get("value"):
            return content["value"]
    return entry.get("summary", "") or ""


def parse_feed(body: bytes, *, source: str, url: str, now: datetime,
               content_type: str = "") -> list[Item]:
    """Parse an RSS/Atom body into items. Raises ParseError when it is not a feed at all."""
    try:
        parsed = feedparser.parse(body, response_headers={"content-location": url,
                                                          "content-type": content_type or "application/xml"})
    except Exception as e:  # feedparser on hostile bytes: whatever it raises is this source's error
        raise ParseError(f"feed parser failed: {e.__class__.__name__}: {e}") from None
    entries = parsed.get("entries") or []
    if not entries and parsed.get("bozo"):
        raise ParseError(_not_a_feed(body, parsed))
    if not entries and not parsed.get("version") and not parsed.get("feed"):
        raise ParseError(_not_a_feed(body, parsed))
    raws = raw_fragments(body, len(entries))
    out = []
    for n, entry in enumerate(entries):
        title = html_to_text(entry.get("title", "") or "")
        body_html = _entry_html(entry)
        text = html_to_text(body_html)
        link = entry.get("link") or ""
        if link and urlsplit(link).scheme not in ("http", "https"):
            link = ""  # a javascript: or data: link is never a post's address
        published, notes = clamp_date(_entry_date(entry), now)
        out.append(Item(
            source=source,
            key=item_key(entry.get("id"), link, title, text),
            url=canonical_link(link) if link else "",
            title=title,
            text=text,
            author=html_to_text(entry.get("author", "") or ""),
            published=published,
            raw=raws[n] if raws else body_html,
            notes=notes,
        ))
    return out


def _not_a_feed(body: bytes, parsed) -> str:
    head = body[:512].lstrip().lower()
    if not head:
        return "empty body: the server sent nothing"
    if head.startswith(b"<!doctype html") or head.startswith(b"<html") or b"<html" in head:
        return "not a feed: the server sent an HTML page (has the feed moved, or is it a login page?)"
    reason = parsed.get("bozo_exception")
    detail = f"{reason.__class__.__name__}: {reason}" if reason else "no RSS or Atom found"
    return f"not a feed: {detail}"


def raw_fragments(body: bytes, expected: int) -> list[str]:
    """The XML of each entry, in document order, for evidence; [] when they cannot be lined up.

    Entities are not resolved and nothing is fetched (resolve_entities/no_network), so this
    second look at the bytes is as safe as the first.
    """
    if not expected:
        return []
    try:
        parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, recover=True,
                                      huge_tree=False, load_dtd=False)
        root = lxml.etree.fromstring(body, parser)
    except (lxml.etree.XMLSyntaxError, ValueError):
        return []
    if root is None:
        return []
    nodes = [el for el in root.iter() if isinstance(el.tag, str)
             and lxml.etree.QName(el).localname in ("item", "entry")]
    if len(nodes) != expected:
        return []
    return [lxml.etree.tostring(el, encoding="unicode", with_tail=False) for el in nodes]
