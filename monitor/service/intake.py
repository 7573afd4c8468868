"""What people do to mentions: review steps, label corrections, and mentions added by hand.

Every step lands in the append-only review log with the name of who did it; nothing is
overwritten. A correction keeps the old label in its log entry. A mention added by hand is
scored as being about the school (a person says it is) and alerted like a scanned one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine

from monitor import fetch, store
from monitor.config import check_http_url
from monitor.errors import AddressRefused, FetchError, InvalidChoice, InvalidInput, ItemNotFound, NothingToFetch
from monitor.models import (
    ACTIONS,
    LABEL_RANK,
    LABELS,
    REVIEW_STATUSES,
    Evidence,
    FetchResult,
    Item,
    Review,
    Scored,
    StoredItem,
    severity_of,
)
from monitor.parse import identity
from monitor.parse import text as parse_text
from monitor.service.classify import Classifier

SCREENSHOT_MAX = 10 * 1024**2
SCREENSHOT_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


@dataclass(frozen=True)
class Mention:
    """One mention with its whole story: the review log and the evidence versions."""

    item: StoredItem
    reviews: tuple[Review, ...]
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class Added:
    item: StoredItem
    new: bool  # False: the same post was stored already
    fetch_error: str | None = None  # the address could not be read (the text given was kept)


def mention(engine: Engine, item_id: int) -> Mention:
    item = store.get_item(engine, item_id)
    if item is None:
        raise ItemNotFound(item_id)
    return Mention(item, tuple(store.list_reviews(engine, [item_id])), tuple(store.list_evidence(engine, item_id)))


def review(
    engine: Engine, item_id: int, *, status: str, action: str | None, note: str, by: str, now: datetime
) -> Review:
    """Append one step to a mention's review log."""
    if status not in REVIEW_STATUSES[1:]:
        raise InvalidChoice("status", status, REVIEW_STATUSES[1:])
    if action is not None and action not in ACTIONS:
        raise InvalidChoice("action", action, ACTIONS)
    if store.get_item(engine, item_id) is None:
        raise ItemNotFound(item_id)
    return store.add_review(
        engine, Review(item_id=item_id, at=now, by=by, status=status, action=action, note=note.strip())
    )


def correct_label(engine: Engine, item_id: int, *, label: str, note: str, by: str, now: datetime) -> Review:
    """A person's correction of a mention's label. A graver label is alerted as that label says
    (a manager who finds extremism the scorer missed tells the safeguarding lead through its route)."""
    if label not in LABELS:
        raise InvalidChoice("label", label, LABELS)
    item = store.get_item(engine, item_id)
    if item is None:
        raise ItemNotFound(item_id)
    graver = LABEL_RANK[label] < LABEL_RANK.get(item.label, len(LABELS))
    entry = store.relabel(
        engine,
        item_id,
        label=label,
        severity=severity_of(label, item.mentions_staff),
        by=by,
        note=note.strip(),
        at=now,
        alert=graver,
    )
    if entry is None:  # deleted meanwhile
        raise ItemNotFound(item_id)
    return entry


def add(
    engine: Engine,
    classifier: Classifier,
    fetcher: fetch.Fetcher,
    url: str,
    *,
    text: str,
    title: str,
    seen_on: str,
    note: str,
    by: str,
    now: datetime,
    screenshot: bytes | None = None,
    public_only: bool = False,
) -> Added:
    """Store a mention staff saw themselves (a private group, TikTok...), scored like any other.

    The URL is fetched for evidence when it can be; a failed fetch is only an error when no text
    was given. A screenshot (PNG or JPEG, checked by its content) is kept as evidence. The first
    entry of its review log (status new) says who added it and why. `public_only` (the desk): an
    address that is private, loopback or link-local is refused outright, before anything is
    fetched, so a desk account cannot make the server read the school's own network.
    """
    try:
        url = check_http_url(url)
    except ValueError as e:
        raise InvalidInput("url", str(e)) from None
    image_type = _screenshot_type(screenshot) if screenshot else None
    fetched, error = None, None
    try:
        fetched = fetcher.get(url, fetch.Limits(), public_only=public_only)
    except AddressRefused as e:  # checked where it connects too: no name can turn private meanwhile
        detail = str(e).removeprefix("refused: ")
        raise InvalidInput("url", f"a private, loopback or link-local address is never read here ({detail})") from None
    except FetchError as e:
        error = str(e)
    if not text.strip():
        if fetched is None:
            raise NothingToFetch(url, error or "no answer")
        text = parse_text.body_text(fetched.body, fetched.encoding, fetched.content_type)
    platform = seen_on.strip() or urlsplit(url).hostname or "web"
    item = Item(
        source=f"added by hand: {platform}",
        key=identity.item_key(None, url, title, text),
        url=url,
        title=title.strip(),
        text=text.strip(),
        published=now,
        raw=text.strip(),
    )
    saved = store.save_items(engine, [Scored(item, classifier.classify_confirmed(item.text, item.title))], now, fetched)
    item_id = (saved.new_ids or saved.updated_ids or (store.find_item_id(engine, item.source, item.key),))[0]
    assert item_id is not None, "the item was just saved"
    if saved.new_ids:
        store.add_review(
            engine,
            Review(
                item_id=item_id,
                at=now,
                by=by,
                status="new",
                note=f"added by hand (seen on {platform})" + (f": {note.strip()}" if note.strip() else ""),
            ),
        )
    if screenshot and image_type:
        shot = FetchResult(url=url, status=200, body=screenshot, content_type=image_type, fetched_at=now)
        store.add_evidence(engine, item_id, item, shot, now)
    stored = store.get_item(engine, item_id)
    assert stored is not None
    return Added(stored, bool(saved.new_ids), error)


def _screenshot_type(data: bytes) -> str:
    """The image type of a screenshot, told by its first bytes (never by its name or a browser's word)."""
    if len(data) > SCREENSHOT_MAX:
        raise InvalidInput("screenshot", f"over {SCREENSHOT_MAX // 1024**2} MB")
    for magic, kind in SCREENSHOT_TYPES.items():
        if data.startswith(magic):
            return kind
    raise InvalidInput("screenshot", "not a PNG or JPEG image")
