"""Bytes -> items (feedparser for feeds, BeautifulSoup for pages). Pure: no network, no database,
`now` passed in.

Rules:
- the parsers raise nothing but ParseError, and only for the whole source's fault (not a feed, a
  selector that is not CSS or matches nothing, a DOCTYPE with an internal subset);
- one bad field spoils only itself: a link, date, author... that cannot be read is dropped (the
  item notes it) and the item, and the items beside it, are kept;
- every text that becomes an item field is printable (no NUL, no control or bidi characters;
  newlines kept);
- work is linear in the body however it is built (nested items, repeated lines);
- whatever charset a server names, bytes are decoded by `body_text` / `_soup` without raising.
"""

from __future__ import annotations

import calendar
import codecs
import hashlib
import html
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
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
from monitor.text import printable

T = TypeVar("T")

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


_SPACING_CONTROLS = str.maketrans({"\xa0": " ", "\v": " ", "\f": " "})
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


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment; cheap for the common case of no markup."""
    if not fragment:
        return ""
    if "<" not in fragment:
        return _tidy(html.unescape(fragment))
    try:
        doc = lxml.html.fragment_fromstring(fragment.replace("\x00", ""), create_parent="div")
        for bad in doc.xpath(".//script|.//style|.//template"):
            bad.drop_tree()
        text = doc.text_content()
    except (lxml.etree.ParserError, ValueError):
        text = html.unescape(_TAG.sub(" ", fragment))
    return _tidy(text)


def _tidy(text: str) -> str:
    """Printable text (text.printable: no control or bidi characters), spaces collapsed, a line
    per line."""
    text = printable(text.translate(_SPACING_CONTROLS))
    return _LINES.sub("\n", _SPACE.sub(" ", text)).strip()


def clamp_date(when: datetime | None, now: datetime) -> tuple[datetime | None, tuple[str, ...]]:
    """A date in the future is clamped to now (first seen) and noted."""
    if when is not None and when > now + FUTURE_SLACK:
        return now, (f"future date {when.isoformat()} clamped to first seen",)
    return when, ()


def _field(notes: list[str], name: str, default: T, read: Callable[..., T], *args: Any) -> T:
    """One field of one item: what `read(*args)` gives, or, when it fails on what the server sent,
    `default` and a note. A ParseError (the source's configuration, e.g. a selector that is not
    CSS) is the whole source's and goes on up."""
    try:
        return read(*args)
    except ParseError:
        raise
    except Exception as e:
        notes.append(f"{name} dropped: {e.__class__.__name__}: {e}"[:300])
        return default


def _item(
    *,
    source: str,
    key: str,
    url: str,
    title: str,
    text: str,
    author: str = "",
    published: datetime | None = None,
    raw: str = "",
    notes: tuple[str, ...] | list[str] = (),
) -> Item:
    """Every item is made here: its text fields printable (a NUL aborts a PostgreSQL insert, a
    terminal escape or bidi override misleads a reader); the raw evidence as served, less NULs."""
    return Item(
        source=source,
        key=printable(key),
        url=printable(url),
        title=printable(title),
        text=printable(text),
        author=printable(author),
        published=published,
        raw=raw.replace("\x00", "\ufffd"),
        notes=tuple(printable(n) for n in notes),
    )


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
    skipped = _PROLOG_SKIP.match(head, 3 if head.startswith(b"\xef\xbb\xbf") else 0)
    pos = skipped.end() if skipped else 0
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

    An item inside another (a reply in a threaded discussion) is an item of its own, and no longer
    part of the one around it: each post has its own text, author, link and evidence.

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
    return _page_items(soup, elements, source, url, now)


def _page_items(
    soup: bs4.BeautifulSoup, elements: list[bs4.Tag], source: Source, url: str, now: datetime
) -> list[Item]:
    """The items of a page, in linear work however the page nests them: each field selector is
    run once over the page (soupsieve walks up to the root on every call, so a call per item was
    quadratic on deep pages), and each match belongs to its nearest enclosing item."""
    hidden, nested = _placement(elements)
    owners = _Owners(elements)
    selectors = {"text": source.text, "title": source.title, "author": source.author, "date": source.date}
    selectors["link"] = source.link
    found = {key: _matches_by_item(soup, elements, sel, key, owners) for key, sel in selectors.items() if sel}
    stop = frozenset(id(el) for el in elements)
    visible = [n for n, el in enumerate(elements) if not hidden[id(el)]]
    fields = {
        n: _page_fields(elements[n], {k: v.get(n, []) for k, v in found.items()}, source, url, now, stop)
        for n in visible
    }
    # The evidence of each item is its own markup: the items inside it are taken out (the later
    # first, so that the index of each in its parent, found once, still holds).
    positions: dict[int, dict[int, int]] = {}
    for n in reversed(visible):
        if nested[id(elements[n])]:
            _take_out(elements[n], positions)
    items = []
    for n in visible:
        item, notes = fields[n]
        raw = _field(notes, "raw", "", str, elements[n])
        items.append(_item(**item, raw=raw, notes=notes))
    return items


def _placement(elements: list[bs4.Tag]) -> tuple[dict[int, bool], dict[int, bool]]:
    """For each element (by id): whether it is hidden (itself or an ancestor), and whether it is
    nested inside another of `elements`. Each node on the way up is worked out once, from its
    parent: linear, where asking every element about all its ancestors was quadratic."""
    items = {id(el) for el in elements}
    hidden: dict[int, bool] = {}
    inside: dict[int, bool] = {}
    for el in elements:
        chain: list[bs4.Tag] = []
        node: bs4.Tag | None = el
        while node is not None and id(node) not in hidden:
            chain.append(node)
            node = node.parent
        if node is None:
            is_hidden, is_inside, parent_is_item = False, False, False
        else:
            is_hidden, is_inside, parent_is_item = hidden[id(node)], inside[id(node)], id(node) in items
        for n in reversed(chain):
            is_inside = is_inside or parent_is_item
            is_hidden = is_hidden or _hidden(n)
            hidden[id(n)], inside[id(n)] = is_hidden, is_inside
            parent_is_item = id(n) in items
    return hidden, inside


class _Owners:
    """The item (its index in `elements`) each node of the page belongs to: the nearest item among
    its ancestors, -1 for none. Worked out once per node on the way up."""

    def __init__(self, elements: list[bs4.Tag]):
        self._index = {id(el): n for n, el in enumerate(elements)}
        self._below: dict[int, int] = {}  # id(node) -> the item its descendants belong to

    def of(self, node: bs4.PageElement) -> int:
        chain: list[bs4.Tag] = []
        parent = node.parent
        while parent is not None and id(parent) not in self._below:
            chain.append(parent)
            parent = parent.parent
        owner = self._below[id(parent)] if parent is not None else -1
        for p in reversed(chain):
            owner = self._index.get(id(p), owner)
            self._below[id(p)] = owner
        return owner


def _matches_by_item(
    soup: bs4.BeautifulSoup, elements: list[bs4.Tag], selector: str, key: str, owners: _Owners
) -> dict[int, list[bs4.Tag]]:
    """The selector's matches in document order, grouped by the item each belongs to."""
    out: dict[int, list[bs4.Tag]] = {}
    if ":scope" in selector:  # relative to each item: asked of each (the one quadratic case left)
        for n, el in enumerate(elements):
            out[n] = [m for m in _select(el, selector, key) if owners.of(m) == n]
        return out
    for m in _select(soup, selector, key):
        out.setdefault(owners.of(m), []).append(m)
    return out


def _take_out(el: bs4.Tag, positions: dict[int, dict[int, int]]) -> None:
    """Remove an element from its parent, its index found once per parent (bs4 would look for it
    from the start each time)."""
    parent = el.parent
    if parent is None:
        return
    index = positions.get(id(parent))
    if index is None:
        index = positions[id(parent)] = {id(child): i for i, child in enumerate(parent.contents)}
    el.extract(_self_index=index[id(el)])


# Codecs Python has that are not a page's charset: they rewrite what they decode (UTF-7 turns
# "+ADw-" into "<"; the escape codecs read backslashes), so a server naming one is not believed.
_NOT_CHARSETS = frozenset({"utf-7", "unicode-escape", "raw-unicode-escape", "punycode", "idna", "undefined"})
_NOT_CHARSET_NAMES = sorted(
    _NOT_CHARSETS | {n.replace("-", "_") for n in _NOT_CHARSETS} | {"utf7", "x-unicode20utf7", "unicode-1-1-utf-7"}
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _charset(name: str | None) -> str | None:
    """The Python codec for a declared charset, or None when it names none (x-bogus, utf8mb4) or
    one no page is written in (base64, rot13, UTF-7, unicode_escape)."""
    if not name:
        return None
    try:
        info = codecs.lookup(name.strip().strip("\"'"))
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return info.name


def _soup(body: bytes, encoding: str | None) -> bs4.BeautifulSoup:
    """The declared charset when it is one and the bytes really are in it; else the page's own
    (BOM, <meta>) or a guess."""
    codec = _charset(encoding)
    if codec:
        try:
            return bs4.BeautifulSoup(body.decode(codec), "lxml")
        except UnicodeDecodeError:
            pass
    return bs4.BeautifulSoup(body, "lxml", exclude_encodings=_NOT_CHARSET_NAMES)


def _decode(body: bytes, encoding: str | None) -> str:
    """Text that is not HTML: the declared charset if the bytes fit it, a BOM's, UTF-8, or a guess."""
    codec = _charset(encoding)
    tried = [codec] if codec else []
    tried += [c for bom, c in _BOMS if body.startswith(bom)] + ["utf-8"]
    for c in tried:
        try:
            return body.decode(c)
        except UnicodeDecodeError:
            continue
    guessed = bs4.UnicodeDammit(body, exclude_encodings=_NOT_CHARSET_NAMES).unicode_markup
    return guessed if guessed is not None else body.decode("utf-8", "replace")


def _is_markup(body: bytes, content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind:
        return "html" in kind or "xml" in kind
    return body[:1024].lstrip(b" \t\r\n\xef\xbb\xbf").startswith(b"<")


def body_text(body: bytes, encoding: str | None, content_type: str = "") -> str:
    """The readable text of any fetched body, whatever charset the server names. Never raises.

    HTML (by its Content-Type, or a body that starts with "<" when there is none) gives its visible
    text, a line per block (no scripts, styles or hidden elements); other bodies their text. The
    bytes are read in the declared charset when it is a real one and they fit it, else in the
    document's own (BOM, <meta>), else a guess.
    """
    try:
        if _is_markup(body, content_type):
            return _text_of(_soup(body, encoding))
        return _tidy(_decode(body, encoding))
    except Exception:  # whatever the parser makes of hostile bytes, the caller gets text
        return _tidy(body.decode("utf-8", "replace"))


def added_text(old: str, new: str) -> str:
    """The lines of `new` that are not in `old`, in order: what a change added. A line counts once
    for each time it appears (a line repeated is a line added); a line moved is not new."""
    remaining = Counter(old.splitlines())
    out = []
    for line in new.splitlines():
        if remaining[line] > 0:
            remaining[line] -= 1
        else:
            out.append(line)
    return "\n".join(out)


def _select(el: bs4.Tag, selector: str, key: str) -> list[bs4.Tag]:
    try:
        return list(el.select(selector))
    except soupsieve.SelectorSyntaxError as e:
        raise ParseError(f"selector {selector!r} ({key}) is not valid CSS: {str(e).splitlines()[0]}") from None


def _hidden(tag: bs4.Tag) -> bool:
    """Not shown to a reader: a script or style, a template, or hidden by attribute or inline style."""
    if tag.name in _NEVER_TEXT:
        return True
    attrs = tag.attrs
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).strip().lower() == "true":
        return True
    style = attrs.get("style")
    return isinstance(style, str) and _HIDDEN_STYLE.search(style) is not None


def _text_of(el: bs4.Tag, skip: frozenset[str] = frozenset(), stop: frozenset[int] = frozenset()) -> str:
    """The visible text of an element, a line per block, less the elements in `stop` (other items)
    inside it; iterative, so deep nesting cannot overflow."""
    parts: list[str] = []
    stack: list[bs4.PageElement | None] = [el]
    while stack:
        node = stack.pop()
        if node is None:
            parts.append("\n")
        elif isinstance(node, bs4.NavigableString):
            if not isinstance(node, bs4.element.PreformattedString):  # comments, doctypes, CDATA
                parts.append(node)
        elif isinstance(node, bs4.Tag) and not (
            _hidden(node) or node.name in skip or (id(node) in stop and node is not el)
        ):
            if node.name in _BLOCK:
                parts.append("\n")
                stack.append(None)
            stack.extend(reversed(node.contents))
    return _tidy("".join(parts))


def _page_fields(
    el: bs4.Tag, found: dict[str, list[bs4.Tag]], source: Source, page_url: str, now: datetime, stop: frozenset[int]
) -> tuple[dict[str, Any], list[str]]:
    """An item's fields from what each selector found in it; a field that cannot be read is dropped
    and noted."""
    notes: list[str] = []

    def texts(key: str, every: bool = False) -> str:
        matches = found.get(key, [])
        return "\n".join(_text_of(m, stop=stop) for m in (matches if every else matches[:1]))

    if source.text:
        text = _field(notes, "text", "", texts, "text", True)
    else:
        text = _field(notes, "text", "", _text_of, el, frozenset(), stop)
    title = _field(notes, "title", "", texts, "title")
    author = _field(notes, "author", "", texts, "author")
    undated: tuple[str, datetime | None] = ("", None)
    date_text, when = _field(notes, "date", undated, _element_date, found.get("date", []), now, stop)
    published, clamped = clamp_date(when, now)
    notes[:0] = clamped
    link = _element_link(el, found.get("link", []), page_url, notes, stop)
    item = {
        "source": source.name,
        # Without a link or anchor: a hash of author, date (as written) and text, the brief's ladder.
        "key": item_key(None, link, title, text, extra=f"{author}\x00{date_text}"),
        "url": canonical_link(link or page_url),
        "title": title,
        "text": text,
        "author": author,
        "published": published,
    }
    return item, notes


def _watched_page(soup: bs4.BeautifulSoup, source: str, url: str) -> Item:
    main = soup.find("main") or soup.find("article") or soup.find(None, {"role": "main"})
    root = main or soup.body or soup
    text = _text_of(root, skip=frozenset() if main else _OUTSIDE_MAIN)
    if not text:
        raise ParseError("the page has no visible text (is it built by JavaScript, or a login page?)")
    title = _tidy(soup.title.get_text()) if soup.title else ""
    return _item(
        source=source,
        key=item_key(None, url, title, text),
        url=canonical_link(url),
        title=title,
        text=text,
        raw=str(root),
    )


def _element_link(el: bs4.Tag, found: list[bs4.Tag], page_url: str, notes: list[str], stop: frozenset[int]) -> str:
    """The post's own address: the link selector's href, else the page URL plus the item's id
    anchor. An href that is not a URL is dropped (and noted), and the anchor used."""
    for match in found[:1]:
        a = match if match.get("href") else _first_link(match, stop)
        href = a.get("href") if a is not None else None
        if isinstance(href, str) and href.strip():
            link = _field(notes, "link", "", _joined_link, page_url, href)
            if link:
                return link
    anchor = el.get("id")
    if isinstance(anchor, str) and anchor.strip():
        return _field(notes, "link", "", _anchor_link, page_url, anchor)
    return ""


def _first_link(el: bs4.Tag, stop: frozenset[int]) -> bs4.Tag | None:
    """The first <a href> inside an element, not looking inside other items."""
    stack: list[bs4.PageElement] = list(reversed(el.contents))
    while stack:
        node = stack.pop()
        if isinstance(node, bs4.Tag) and id(node) not in stop:
            if node.name == "a" and node.get("href"):
                return node
            stack.extend(reversed(node.contents))
    return None


def _joined_link(page_url: str, href: str) -> str:
    return _http_link(urljoin(page_url, href.strip()))


def _anchor_link(page_url: str, anchor: str) -> str:
    return urlsplit(page_url)._replace(fragment=anchor.strip()).geturl()


def _element_date(found: list[bs4.Tag], now: datetime, stop: frozenset[int]) -> tuple[str, datetime | None]:
    """(the date as written, when it is absolute; "" for a relative one) and its UTC datetime."""
    if not found:
        return "", None
    d = found[0]
    value = next(
        (v for v in (d.get(a) for a in ("datetime", "content", "title")) if isinstance(v, str) and v.strip()), None
    ) or _text_of(d, stop=stop)
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
    n = 1 if m.group(1).lower() in ("a", "an", "one") else int(m.group(1)[:12])
    try:
        return now - timedelta(seconds=n * _RELATIVE_UNITS[m.group(2).lower()])
    except OverflowError:  # "99999999999 weeks ago": before the calendar begins
        return None


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
        except (ValueError, OverflowError, TypeError):
            return None
    try:
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except (ValueError, OverflowError):  # 9999-12-31T23:59:59-05:00 is in the year 10000 in UTC
        return None
