"""How the parsers make items: every item through `_item` (its text fields printable, the raw
evidence as served less NULs), every field through `_field` (one bad field spoils only itself: it
is dropped with a note, the item is kept).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from monitor.errors import ParseError
from monitor.models import Item
from monitor.text import printable

T = TypeVar("T")


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
