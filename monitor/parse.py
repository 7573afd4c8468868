"""Bytes -> items (feedparser for feeds, BeautifulSoup for pages). Pure: no network, no database,
`now` passed in.

The parsers never raise anything but ParseError: whatever a hostile body does to a parser
becomes a ParseError naming the exception, so the collector records it for that source.
"""

from __future__ import annotations

import calendar
import difflib
import hashlib
import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import bs4
import dateutil.parser
import feedparser
import lxml.etree
import lxml.html
import soupsieve

from monitor.config import Source
from monitor.errors import ParseError
from monitor.models import Item

# Query parameters that only track the click; removed so one post has one identity.
TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|_hsenc|_hsmi|"
    r"yclid|ref_src|ref_url|cmpid|ocid)$",
    re.IGNORECASE,
)
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
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAMS.match(k)]
    )
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
                return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _entry_html(entry) -> str:
    """The richest body the entry has: full content, else the summary."""
    for content in entry.get("content") or ():
        if content.get("value"):
            return content["value"]
    return entry.get("summary", "") or ""


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
        title = html_to_text(entry.get("title", "") or "")
        body_html = _entry_html(entry)
        text = html_to_text(body_html)
        link = entry.get("link") or ""
        if link and urlsplit(link).scheme not in ("http", "https"):
            link = ""  # a javascript: or data: link is never a post's address
        published, notes = clamp_date(_entry_date(entry), now)
        out.append(
            Item(
                source=source,
                key=item_key(entry.get("id"), link, title, text),
                url=canonical_link(link) if link else "",
                title=title,
                text=text,
                author=html_to_text(entry.get("author", "") or ""),
                published=published,
                raw=raws[n] if raws else body_html,
                notes=notes,
            )
        )
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


# ---------------------------------------------------------------- entity bombs

# Encodings in which "<!DOCTYPE" is not plain ASCII bytes (feedparser reads them all).
_WIDE_ENCODINGS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),
)
_PROLOG_HEAD = 1024 * 1024
_PROLOG_SKIP = re.compile(rb"(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.S)
_DOCTYPE = re.compile(rb"""<!DOCTYPE\s+[^\s\[>]+(?:\s+(?:SYSTEM|PUBLIC)(?:\s*(?:"[^"]*"|'[^']*'))+)?\s*([\[>])""", re.I)


def check_doctype(body: bytes) -> None:
    """Refuse a document whose DOCTYPE has an internal subset, before any parser sees it.

    That subset is where entities are declared: a "billion laughs" or quadratic-blowup bomb, or
    an external entity naming a local file or another URL (XXE). feedparser keeps entities it
    thinks safe, and a quadratic blowup of them took it 44 s and 3.9 GB. Feeds and pages have no
    use for an internal subset, so it is refused rather than stripped: stripping would leave
    undefined references and a silently different text. A plain `<!DOCTYPE html>` or an external
    DTD reference (`<!DOCTYPE rss PUBLIC ...>`, never loaded) passes.
    """
    head = body[:_PROLOG_HEAD]
    for lead, codec in _WIDE_ENCODINGS:
        if head.startswith(lead):
            head = head.decode(codec, "replace").encode("utf-8")
            break
    pos = _PROLOG_SKIP.match(head, 3 if head.startswith(b"\xef\xbb\xbf") else 0).end()
    if head[pos : pos + 9].upper() != b"<!DOCTYPE":
        return
    m = _DOCTYPE.match(head, pos)
    if m is None or m.group(1) == b"[":
        raise ParseError(
            "refused: the document's DOCTYPE declares an internal subset, where XML entities "
            "hide (an entity-expansion bomb or an external entity); it is not parsed"
        )


# ---------------------------------------------------------------- pages

# Elements whose content is never part of what a reader sees.
_NEVER_TEXT = frozenset({"script", "style", "template", "noscript", "head", "iframe", "object", "svg"})
# Around the main content of a watched page: menus, banners and sidebars change for other reasons.
_OUTSIDE_MAIN = frozenset({"nav", "header", "footer", "aside"})
_BLOCK = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    }
)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_RELATIVE = re.compile(
    r"^\s*(?:(\d+|an?|one)\s+(second|minute|min|hour|hr|day|week)s?\s+ago|(just now|now|today|"
    r"yesterday))\b",
    re.I,
)
_RELATIVE_UNITS = {"second": 1, "minute": 60, "min": 60, "hour": 3600, "hr": 3600, "day": 86400, "week": 7 * 86400}
_UK_ZONES = {"GMT": 0, "UTC": 0, "Z": 0, "BST": 3600}
_MAX_DATE_TEXT = 200


def parse_page(body: bytes, *, source: Source, url: str, now: datetime, encoding: str | None = None) -> list[Item]:
    """Parse an HTML page into items: one per element matching `source.item` (a forum's posts),
    or, with no `item` selector, the page's main content as one item (a watched page).

    Raises ParseError when the item selector matches nothing (the layout has changed), a
    selector is not valid CSS, or a watched page has no text.
    """
    check_doctype(body)
    soup = _soup(body, encoding)
    if not source.item:
        return [_watched_page(soup, source.name, url)]
    elements = _select(soup, source.item, "item")
    if not elements:
        raise ParseError(f"selector {source.item} matched nothing; the page layout may have changed")
    return [_page_item(el, source, url, now) for el in elements if not _hidden_in_page(el)]


def _soup(body: bytes, encoding: str | None):
    """The declared charset when the bytes really are in it; else the page's own <meta> or a guess."""
    if encoding:
        try:
            return bs4.BeautifulSoup(body.decode(encoding), "lxml")
        except (UnicodeDecodeError, LookupError):
            pass
    return bs4.BeautifulSoup(body, "lxml")


def added_text(old: str, new: str) -> str:
    """The lines of `new` that are not in `old` (inserted or rewritten), in order: what a change added."""
    a, b = old.splitlines(), new.splitlines()
    out = []
    for tag, _, _, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag in ("insert", "replace"):
            out.extend(b[j1:j2])
    return "\n".join(out)


def _select(el, selector: str, key: str) -> list:
    try:
        return el.select(selector)
    except soupsieve.SelectorSyntaxError as e:
        raise ParseError(f"selector {selector!r} ({key}) is not valid CSS: {str(e).splitlines()[0]}") from None


def _hidden(tag) -> bool:
    """Not shown to a reader: a script or style, a template, or hidden by attribute or inline style."""
    if tag.name in _NEVER_TEXT:
        return True
    attrs = tag.attrs
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).strip().lower() == "true":
        return True
    style = attrs.get("style")
    return isinstance(style, str) and _HIDDEN_STYLE.search(style) is not None


def _hidden_in_page(el) -> bool:
    return _hidden(el) or any(_hidden(p) for p in el.parents)


def _text_of(el, skip: frozenset = frozenset()) -> str:
    """The visible text of an element, a line per block; iterative, so deep nesting cannot overflow."""
    parts: list[str] = []
    stack = [el]
    while stack:
        node = stack.pop()
        if node is None:
            parts.append("\n")
        elif isinstance(node, bs4.NavigableString):
            if not isinstance(node, bs4.element.PreformattedString):  # comments, doctypes, CDATA
                parts.append(node)
        elif not (_hidden(node) or node.name in skip):
            if node.name in _BLOCK:
                parts.append("\n")
                stack.append(None)
            stack.extend(reversed(node.contents))
    return _tidy("".join(parts))


def _selected_text(el, selector: str | None, key: str, every: bool = False) -> str:
    if not selector:
        return ""
    found = _select(el, selector, key)
    return "\n".join(_text_of(f) for f in (found if every else found[:1]))


def _page_item(el, source: Source, page_url: str, now: datetime) -> Item:
    text = _selected_text(el, source.text, "text", every=True) if source.text else _text_of(el)
    title = _selected_text(el, source.title, "title")
    author = _selected_text(el, source.author, "author")
    date_text, when = _element_date(el, source.date, now)
    published, notes = clamp_date(when, now)
    link = _element_link(el, source.link, page_url)
    return Item(
        source=source.name,
        # Without a link or anchor: a hash of author, date (as written) and text, the brief's ladder.
        key=item_key(None, link, title, text, extra=f"{author}\x00{date_text}"),
        url=canonical_link(link or page_url),
        title=title,
        text=text,
        author=author,
        published=published,
        raw=str(el),
        notes=notes,
    )


def _watched_page(soup, source: str, url: str) -> Item:
    main = soup.find("main") or soup.find("article") or soup.find(attrs={"role": "main"})
    root = main or soup.body or soup
    text = _text_of(root, skip=frozenset() if main else _OUTSIDE_MAIN)
    if not text:
        raise ParseError("the page has no visible text (is it built by JavaScript, or a login page?)")
    title = _tidy(soup.title.get_text()) if soup.title else ""
    return Item(
        source=source,
        key=item_key(None, url, title, text),
        url=canonical_link(url),
        title=title,
        text=text,
        raw=str(root),
    )


def _element_link(el, selector: str | None, page_url: str) -> str:
    """The post's own address: the link selector's href, else the page URL plus the item's id anchor."""
    if selector:
        for found in _select(el, selector, "link")[:1]:
            a = found if found.get("href") else found.find("a", href=True)
            href = a.get("href") if a is not None else None
            if isinstance(href, str) and href.strip():
                link = urljoin(page_url, href.strip())
                if urlsplit(link).scheme in ("http", "https"):
                    return link
    anchor = el.get("id")
    if isinstance(anchor, str) and anchor.strip():
        return urlsplit(page_url)._replace(fragment=anchor.strip()).geturl()
    return ""


def _element_date(el, selector: str | None, now: datetime) -> tuple[str, datetime | None]:
    """(the date as written, when it is absolute; "" for a relative one) and its UTC datetime."""
    if not selector:
        return "", None
    found = _select(el, selector, "date")
    if not found:
        return "", None
    d = found[0]
    value = next(
        (d.get(a) for a in ("datetime", "content", "title") if isinstance(d.get(a), str) and d.get(a).strip()), None
    ) or _text_of(d)
    value = value.strip()[:_MAX_DATE_TEXT]
    when = _relative_date(value, now)
    if when is not None:
        return "", when
    return value, parse_date_text(value, now)


def _relative_date(value: str, now: datetime) -> datetime | None:
    m = _RELATIVE.match(value)
    if not m:
        return None
    if m.group(3):
        word = m.group(3).lower()
        return now - timedelta(days=1) if word == "yesterday" else now
    n = 1 if m.group(1).lower() in ("a", "an", "one") else int(m.group(1))
    return now - timedelta(seconds=n * _RELATIVE_UNITS[m.group(2).lower()])


def parse_date_text(value: str, now: datetime) -> datetime | None:
    """ISO 8601, RFC 2822 or a date as people write it ("12 March 2026, 10:33", "Fri 12-Mar-21");
    day first, as in the UK; a date without a zone is UTC. None when it is not a date."""
    value = value.strip()
    if not any(c.isdigit() for c in value):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        try:
            when = dateutil.parser.parse(
                value, dayfirst=True, fuzzy=True, tzinfos=_UK_ZONES, default=datetime(now.year, now.month, now.day)
            )
        except (ValueError, OverflowError):
            return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
