"""RSS/Atom bytes -> items (feedparser), each with its own XML as evidence (lxml, entities never
resolved). The whole source fails (ParseError) only when the body is not a feed at all.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import Any

import feedparser
import lxml.etree

from monitor.errors import ParseError
from monitor.models import Item
from monitor.parse.dates import clamp_date
from monitor.parse.doctype import check_doctype
from monitor.parse.identity import _http_link, canonical_link, item_key
from monitor.parse.items import _field, _item
from monitor.parse.text import html_to_text


def _entry_date(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _entry_html(entry: Any) -> str:
    """The richest body the entry has: full content, else the summary."""
    for content in entry.get("content") or ():
        if content.get("value"):
            return str(content["value"])
    return str(entry.get("summary", "") or "")


def _entry_text(entry: Any, key: str) -> str:
    return html_to_text(str(entry.get(key, "") or ""))


def parse_feed(body: bytes, *, source: str, url: str, now: datetime, content_type: str = "") -> list[Item]:
    """Parse an RSS/Atom body into items. Raises ParseError when it is not a feed at all."""
    check_doctype(body)
    try:
        # No HTML sanitising or URI rewriting: half of feedparser's time, and not needed, since
        # html_to_text keeps only the text (scripts and styles dropped) and every page escapes it.
        parsed = feedparser.parse(
            body,
            sanitize_html=False,
            resolve_relative_uris=False,
            response_headers={"content-location": url, "content-type": content_type or "application/xml"},
        )
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
        notes: list[str] = []
        title = _field(notes, "title", "", _entry_text, entry, "title")
        body_html = _field(notes, "text", "", _entry_html, entry)
        text = _field(notes, "text", "", html_to_text, body_html)
        link = _field(notes, "link", "", _http_link, str(entry.get("link") or ""))
        published, clamped = clamp_date(_field(notes, "date", None, _entry_date, entry), now)
        guid = entry.get("id")
        out.append(
            _item(
                source=source,
                key=item_key(guid if isinstance(guid, str) else None, link, title, text),
                url=canonical_link(link) if link else "",
                title=title,
                text=text,
                author=_field(notes, "author", "", _entry_text, entry, "author"),
                published=published,
                raw=raws[n] if raws else body_html,
                notes=(*clamped, *notes),
            )
        )
    return out


def _not_a_feed(body: bytes, parsed: Any) -> str:
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
        parser = lxml.etree.XMLParser(
            resolve_entities=False, no_network=True, recover=True, huge_tree=False, load_dtd=False
        )
        root = lxml.etree.fromstring(body, parser)
    except (lxml.etree.XMLSyntaxError, ValueError):
        return []
    if root is None:
        return []
    nodes = [
        el for el in root.iter() if isinstance(el.tag, str) and lxml.etree.QName(el).localname in ("item", "entry")
    ]
    if len(nodes) != expected:
        return []
    return [lxml.etree.tostring(el, encoding="unicode", with_tail=False) for el in nodes]
