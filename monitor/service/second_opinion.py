"""The optional AI second opinion ([scoring.ai], off by default): which new mentions to ask about,
the cache, the daily budget, and the labels its answers raise.

Rules:
- Only mentions the rules did not call extremism or abuse and no person judged (corrected, or
  labelled after a near-duplicate they corrected) are asked about; the likeliest to matter
  first (criticism, praise, neutral), one at a time (a local model answers one at a time
  anyway: several at once would only time out in its queue).
- An answer may raise a label (flag `ai:LABEL: reason`; its instant alerts decided again); it
  never lowers one, so a post that says "ignore your instructions" cannot talk itself down.
- Answers are cached by the SHA-256 of the normalised title and text: a text answered before by
  the same model costs no request.
- Every request sent counts toward max_per_day, answered or not, counted before it is sent; once
  the day's budget is spent nothing more is asked until the next UTC day (logged once a day).
- Timeouts, HTTP errors (429 included) and malformed answers leave the rules' label and never fail
  the caller; one warning per pass sums them up. A failure that would repeat (nothing listening,
  rate limited, the key refused) or MAX_FAILURES_IN_A_ROW end the pass: the rest keep the rules' label.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from monitor import ai, store
from monitor.config import Config
from monitor.models import LABEL_RANK, LABELS, OFFTOPIC, StoredItem
from monitor.text import redact_url

log = logging.getLogger("monitor")

SETTLED = ("extremism", "abuse")  # the rules' gravest labels: nothing to raise them to that matters
EXAMPLE_FLAG = "example:"  # [scoring] learn_from_corrections: the label of a text a person corrected
MAX_FAILURES_IN_A_ROW = 3  # a server that fails three times running is not asked more this pass

_spent_logged: set[str] = set()  # the UTC days this process has said the budget is spent
_spent_lock = threading.Lock()


@dataclass(frozen=True)
class SecondOpinion:
    """What one pass did."""

    candidates: int = 0  # mentions it could ask about
    asked: int = 0  # requests sent (each counted in the day's budget)
    cached: int = 0  # answers taken from the cache
    failed: int = 0  # requests that gave no usable answer
    not_asked: int = 0  # the budget was spent, or the pass stopped after failures
    raised: tuple[int, ...] = ()  # the mentions whose label it raised


def text_hash(title: str, text: str) -> str:
    """The cache key: the title and text with Unicode forms and whitespace normalised."""

    def norm(s: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", s).split())

    return hashlib.sha256(f"{norm(title)}\n{norm(text)}".encode("utf-8", "surrogatepass")).hexdigest()


def wanted(item: StoredItem) -> bool:
    """Whether to ask about a mention: not already extremism or abuse, and not judged by a person,
    either corrected or labelled after a near-duplicate they corrected (flag `example:#ID`)."""
    return (
        item.label in LABELS
        and item.label not in SETTLED
        and item.corrected_by is None
        and not any(f.startswith(EXAMPLE_FLAG) for f in item.flags)
    )


def run(cfg: Config, engine: Engine, item_ids: Sequence[int], now: datetime) -> SecondOpinion:
    """Ask about these mentions (those `wanted`) and raise the labels the answers call graver.
    Never raises for the endpoint's failures; an internal error is logged and the pass ends."""
    try:
        return _run(cfg, engine, item_ids, now)
    except Exception:  # a second opinion must never cost the scan its alerts
        log.exception("AI second opinion: internal error; the rules' labels stand")
        return SecondOpinion()


def _run(cfg: Config, engine: Engine, item_ids: Sequence[int], now: datetime) -> SecondOpinion:
    settings = cfg.scoring.ai
    if settings is None or not item_ids:
        return SecondOpinion()
    ids = list(dict.fromkeys(item_ids))
    found = [i for n in range(0, len(ids), 500) for i in store.list_items(engine, ids=ids[n : n + 500])]
    todo = sorted((i for i in found if wanted(i)), key=lambda i: (LABEL_RANK[i.label], i.id))
    if not todo:
        return SecondOpinion()
    where = redact_url(settings.url)
    try:
        key = ai.api_key(settings)
    except ai.AIError as e:
        log.warning("AI second opinion (%s): %s; %d mention(s) not asked", where, e.kind, len(todo))
        return SecondOpinion(candidates=len(todo), not_asked=len(todo))

    hashes = {i.id: text_hash(i.title, i.text) for i in todo}
    cache = {h: a for h, a in store.cached_answers(engine, hashes.values()).items() if a.model == settings.model}
    day = now.astimezone(UTC).date().isoformat()
    asked = cached = not_asked = in_a_row = 0
    failures: Counter[str] = Counter()
    raised: list[int] = []
    stopped = spent = False
    for item in todo:
        h = hashes[item.id]
        answer = cache.get(h)
        if answer is not None:
            cached += 1
        elif stopped or spent:
            not_asked += 1
            continue
        elif not store.claim_request(engine, day, settings.max_per_day):
            spent = True
            not_asked += 1
            continue
        else:
            asked += 1
            try:
                verdict = ai.ask(settings, cfg.school, item.title, item.text, key)
            except ai.AIError as e:
                failures[e.kind] += 1
                in_a_row += 1
                stopped = e.stop or in_a_row >= MAX_FAILURES_IN_A_ROW
                continue
            in_a_row = 0
            answer = store.AIAnswer(h, verdict.label, verdict.reason, settings.model, now)
            store.save_answer(engine, answer)
            cache[h] = answer  # the same text twice in one pass (a cross-post) is asked once
        if _graver(answer.label, item.label):
            flag = f"ai:{answer.label}: {answer.reason}" if answer.reason else f"ai:{answer.label}"
            if store.raise_label(engine, item.id, answer.label, flag):
                raised.append(item.id)

    failed = sum(failures.values())
    if failed:
        kinds = "; ".join(kind + (f" (×{n})" if n > 1 else "") for kind, n in failures.most_common())
        left = f"; {not_asked} mention(s) not asked this time" if stopped and not_asked else ""
        log.warning(
            "AI second opinion (%s): %d of %d request(s) failed: %s%s; the rules' labels stand",
            where,
            failed,
            asked,
            kinds,
            left,
        )
    if spent:
        _log_spent(day, settings.max_per_day, not_asked)
    log.info(
        "AI second opinion: %d mention(s): %d asked, %d from the cache, %d raised%s",
        len(todo),
        asked,
        cached,
        len(raised),
        f" (#{', #'.join(map(str, raised))})" if raised else "",
    )
    return SecondOpinion(len(todo), asked, cached, failed, not_asked, tuple(raised))


def _graver(label: str, than: str) -> bool:
    """An answer raises only to a graver label (offtopic, the same or a milder one changes nothing)."""
    return label != OFFTOPIC and label in LABEL_RANK and LABEL_RANK[label] < LABEL_RANK.get(than, len(LABEL_RANK))


def _log_spent(day: str, budget: int, waiting: int) -> None:
    """Once a day per process: the daemon's many passes would otherwise say it again and again."""
    with _spent_lock:
        if day in _spent_logged:
            return
        _spent_logged.add(day)
    log.warning(
        "AI second opinion: today's budget of %d request(s) ([scoring.ai] max_per_day) is spent; "
        "%d mention(s) keep the rules' label; asking again from 00:00 UTC",
        budget,
        waiting,
    )
