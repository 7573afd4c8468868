"""One fetched body -> the mentions in it, scored: parse, keep the mentions, score them.

Never raises: whatever a hostile body does to a parser is this source's error, not the scan's.
Analysis is bounded by the source's own timeout, as its fetch is: a body whose posts take longer
than that to read is that source's error, so a hostile feed cannot hold a daemon worker for hours.
Runs in a scan's thread or in a parsing process (parsing_pool.py); touches no database.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from monitor.config import Source
from monitor.errors import ParseError
from monitor.models import FetchResult, Item, Scored
from monitor.parse import feeds, json_api, pages
from monitor.service.classify import Classifier

log = logging.getLogger("monitor")


@dataclass(frozen=True)
class Analysed:
    """What parsing and scoring one body gave: the mentions, or the source's error."""

    scored: tuple[Scored, ...] = ()
    seen: int = 0
    page_text: str | None = None  # a watched page's text now, kept to diff the next fetch against
    error: ParseError | None = None


def analyse(
    classifier: Classifier,
    src: Source,
    fetched: FetchResult,
    previous_page: str | None,
    keep_from: datetime,
    now: datetime,
    clock: Callable[[], float] = time.monotonic,
) -> Analysed:
    """Parse a body, keep the mentions published since `keep_from` and score them."""
    budget = src.timeout.total_seconds()
    deadline = clock() + budget
    page_text = None
    try:
        items = _parse(src, fetched, now)
        if src.type == "page" and not src.item:
            items, page_text = _watched_change(items[0], previous_page)
    except ParseError as e:
        return Analysed(error=e)
    except Exception as e:
        log.exception("unexpected error on source %s", src.name)
        return Analysed(error=ParseError(f"{e.__class__.__name__}: {e}"))
    scored = []
    for item in items:
        if clock() > deadline:
            return Analysed(
                error=ParseError(f"too much to read: its posts took over {budget:g}s to analyse (the source's timeout)")
            )
        if item.published is None:
            item = replace(item, published=now)
        if item.published is not None and item.published < keep_from:
            continue
        match = classifier.finder.find(item.text, item.title, all_mentions=src.all_mentions)
        if match.is_mention:  # only mentions are scored: most items of a busy feed are not
            scored.append(Scored(item, classifier.scorer.score(item.text, item.title, match)))
    return Analysed(tuple(scored), len(items), page_text)


def _parse(src: Source, fetched: FetchResult, now: datetime) -> list[Item]:
    if src.type == "json":
        return json_api.parse_json(fetched.body, source=src, url=fetched.url, now=now)
    if src.type == "page":
        return pages.parse_page(fetched.body, source=src, url=fetched.url, now=now, encoding=fetched.encoding)
    return feeds.parse_feed(fetched.body, source=src.name, url=fetched.url, now=now, content_type=fetched.content_type)


def _watched_change(page: Item, previous: str | None) -> tuple[list[Item], str]:
    """A watched page (no item selector) is one item; once seen, it is scored on the text a change
    added, not on the whole page again. Unchanged, or only text removed: nothing to score."""
    if previous is None:
        return [page], page.text
    added = pages.added_text(previous, page.text)
    return ([replace(page, text=added)] if added else []), page.text
