"""Markup -> the text a reader sees: `html_to_text` for a fragment (a feed's entry, a JSON post's
field; lxml), `body_text` for any fetched body and `_text_of` for an element of a page
(BeautifulSoup). Scripts, styles and hidden elements are never text; a line per block; every
text printable (no control or bidi characters), spaces collapsed. `body_text` never raises.
"""

from __future__ import annotations

import html
import re

import bs4
import lxml.etree
import lxml.html

from monitor.parse.charsets import _decode, _soup
from monitor.text import printable

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"[ \t\r\f\v]+")
_LINES = re.compile(r"\s*\n\s*")
_SPACING_CONTROLS = str.maketrans({"\xa0": " ", "\v": " ", "\f": " "})
# Elements whose content is never part of what a reader sees.
_NEVER_TEXT = frozenset({"script", "style", "template", "noscript", "head", "iframe", "object", "svg"})
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
