"""Take-down follow-ups: re-check the posts whose deletion was requested or which were reported.

Gone (HTTP 404/410, or the page no longer contains the post's text where it was once seen): a
`removed` entry is appended to the review log by "school-monitor". Otherwise checked again
FOLLOW_UP_EVERY later. Each re-check is its own error boundary: one strange page never stops the
others, the scan, or its alerts.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from monitor import fetch, store
from monitor.config import Config, Source
from monitor.errors import FetchError
from monitor.models import Review, StoredItem
from monitor.text import http_url

log = logging.getLogger("monitor")

FOLLOW_UP_EVERY = timedelta(hours=6)
FOLLOW_UP_WORDS = 12  # the post counts as present while the page still has its first words
STILL_THERE = "the post is still there"
CHECKER = "school-monitor"


def run(cfg: Config, engine: Engine, fetcher: fetch.Fetcher, now: datetime) -> list[Review]:
    """Re-check every post whose follow-up is due; the `removed` entries added."""
    added = []
    sources = {s.name: s for s in cfg.sources}
    for item, last_result in store.due_follow_ups(engine, now):
        try:
            seen = bool(last_result and last_result.endswith(STILL_THERE)) or _in_own_evidence(engine, item)
            gone, result = _recheck(fetcher, item, seen, sources.get(item.source))
        except Exception as e:  # a bug or a strange page: this post's result, not the scan's
            log.exception("item #%d: re-check failed", item.id)
            gone, result = False, f"could not re-check: {e.__class__.__name__}: {e}"
        if gone:
            note = f"re-checked {item.url} on {now:%Y-%m-%d %H:%M} UTC: {result}"
            added.append(
                store.add_review(
                    engine,
                    Review(item_id=item.id, at=now, by=CHECKER, status="actioned", action="removed", note=note),
                )
            )
            log.info("item #%d: removed (%s)", item.id, result)
        else:
            store.set_follow_up(engine, item.id, checked=now, next_check=now + FOLLOW_UP_EVERY, result=result)
    return added


def _recheck(fetcher: fetch.Fetcher, item: StoredItem, seen: bool, source: Source | None) -> tuple[bool, str]:
    """(gone?, what was found). The text's absence counts only when it was once seen on that page:
    a feed's summary of an article need not appear in the article's page at all."""
    if not http_url(item.url):
        return False, "no web address to re-check"
    # The post's link is held to its source's address: a public feed cannot make the monitor
    # fetch an address in the school's network. One added by hand, or whose source has gone from
    # the config, must be public.
    limits = fetch.Limits.of(source) if source is not None else fetch.Limits()
    try:
        if source is not None:
            page = fetcher.get(item.url, limits, origin=source.url)
        else:
            page = fetcher.get(item.url, limits, public_only=True)
    except FetchError as e:
        if e.status in (404, 410):
            return True, f"HTTP {e.status}: the page is gone"
        return False, f"could not re-check: {e}"
    if _contains_post(page.body, page.encoding, item, page.content_type):
        return False, f"HTTP {page.status}: {STILL_THERE}"
    if seen:
        return True, f"HTTP {page.status}, but the page no longer contains the post's text"
    return False, (
        f"HTTP {page.status}: the post's text was never seen on this page, so only a 404 or 410 will show it has gone"
    )


def _contains_post(body: bytes, encoding: str | None, item: StoredItem, content_type: str = "") -> bool:
    post = " ".join(_words(item.text or item.title)[:FOLLOW_UP_WORDS])
    from monitor.parse import text as parse_text  # the parsers: only when a take-down is re-checked

    text = parse_text.body_text(body, encoding, content_type)
    # A plain substring: the page's text may run one block's last word into the next one's first.
    return not post or post in " ".join(_words(text))


def _in_own_evidence(engine: Engine, item: StoredItem) -> bool:
    """The post was collected from its own page (a page source, or added by hand from its URL)."""
    return any(
        ev.body is not None
        and "html" in ev.body_content_type
        and ev.body_url == item.url.split("#")[0]
        and _contains_post(ev.body, None, item, ev.body_content_type)
        for ev in store.list_evidence(engine, item.id)
    )


def _words(text: str) -> list[str]:
    return "".join(c if c.isalnum() else " " for c in text.casefold()).split()
