"""HTML pages -> items (BeautifulSoup, soupsieve): a forum's posts by CSS selectors, or a watched
page's main content as one item, and what a change of a watched page added.

Rules: an item inside another (a reply) is an item of its own; hidden elements are never items or
text; work is linear in the page however deeply it nests; a selector that is not CSS, an item
selector that matches nothing or a watched page with no visible text is the whole source's
ParseError.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import bs4
import soupsieve

from monitor.config import Source
from monitor.errors import ParseError
from monitor.models import Item
from monitor.parse.charsets import _soup
from monitor.parse.dates import _relative_date, clamp_date, parse_date_text
from monitor.parse.doctype import check_doctype
from monitor.parse.identity import _http_link, canonical_link, item_key
from monitor.parse.items import _field, _item
from monitor.parse.text import _hidden, _text_of, _tidy

# Around the main content of a watched page: menus, banners and sidebars change for other reasons.
_OUTSIDE_MAIN = frozenset({"nav", "header", "footer", "aside"})
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


def _select(el: bs4.Tag, selector: str, key: str) -> list[bs4.Tag]:
    try:
        return list(el.select(selector))
    except soupsieve.SelectorSyntaxError as e:
        raise ParseError(f"selector {selector!r} ({key}) is not valid CSS: {str(e).splitlines()[0]}") from None


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
        # Without a link or anchor: a hash of author, date (as written) and text (the dedup ladder).
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
