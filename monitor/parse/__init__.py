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

Callers import the module they need (`from monitor.parse import feeds`): this file imports none,
so `check`, compiling a JSON source's expressions (`json_api`), loads no feedparser, lxml or
BeautifulSoup.
"""
