"""Bytes -> items (feedparser for feeds, BeautifulSoup for pages, JMESPath for JSON). Pure: no
network, no database, `now` passed in.

Rules:
- the parsers raise nothing but ParseError, and only for the whole source's fault (not a feed, a
  selector that is not CSS or matches nothing, a DOCTYPE with an internal subset);
- one bad field spoils only itself: a link, date, author... that cannot be read is dropped (the
  item notes it) and the item, and the items beside it, are kept;
- every text that becomes an item field is printable (no NUL, no control or bidi characters;
  newlines kept);
- work is linear in the body however it is built (nested items, repeated lines);
- whatever charset a server names, bytes are decoded by `body_text` / `_soup` without raising.

Where each thing is decided: `feeds.py` (RSS/Atom), `pages.py` (HTML pages by selectors, watched
pages), `json_api.py` (JSON by JMESPath), `text.py` (the text a reader sees), `charsets.py`
(bytes -> text), `dates.py`, `identity.py` (item keys, canonical links), `items.py` (making items
and fields), `doctype.py` (entity bombs).

The names below are imported from their modules at first use, so that importing a module of this
package loads only what that module needs: `check` compiles a JSON source's expressions
(`json_api`) without loading feedparser, lxml or BeautifulSoup.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.parse.dates import FUTURE_SLACK, clamp_date, parse_date_text
    from monitor.parse.doctype import check_doctype
    from monitor.parse.feeds import parse_feed, raw_fragments
    from monitor.parse.identity import TRACKING_PARAMS, canonical_link, item_key
    from monitor.parse.json_api import parse_json
    from monitor.parse.pages import added_text, parse_page
    from monitor.parse.text import body_text, html_to_text

__all__ = [
    "FUTURE_SLACK",
    "TRACKING_PARAMS",
    "added_text",
    "body_text",
    "canonical_link",
    "check_doctype",
    "clamp_date",
    "html_to_text",
    "item_key",
    "parse_date_text",
    "parse_feed",
    "parse_json",
    "parse_page",
    "raw_fragments",
]

# Each public name and its module. A new name goes here, in __all__ and in the imports above (for
# the type checker); tests/test_packages.py checks that the three agree.
_HOMES = {
    "FUTURE_SLACK": "dates",
    "clamp_date": "dates",
    "parse_date_text": "dates",
    "check_doctype": "doctype",
    "parse_feed": "feeds",
    "raw_fragments": "feeds",
    "TRACKING_PARAMS": "identity",
    "canonical_link": "identity",
    "item_key": "identity",
    "parse_json": "json_api",
    "added_text": "pages",
    "parse_page": "pages",
    "body_text": "text",
    "html_to_text": "text",
}


def __getattr__(name: str) -> Any:
    """A public name, imported from its module the first time it is asked for, then kept here."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
