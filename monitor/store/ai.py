"""The AI second opinion's records: answers cached by the text's hash, requests counted per UTC
day, and a mention's label raised by an answer.

A request is counted before it is sent, in a transaction that also checks the budget, so a crash
after sending never gives a free request and two scans at once never overspend it. A label only
ever rises, and never on a mention a person corrected: both are checked in the transaction that
changes it, against the row as it is then.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from monitor.models import LABEL_RANK, severity_of
from monitor.store.schema import ai_answers, ai_usage, chunks, insert_or_ignore, items, upsert, writing


@dataclass(frozen=True)
class AIAnswer:
    """A cached answer: what the model said about one text."""

    text_hash: str
    label: str
    reason: str
    model: str
    at: datetime


def cached_answers(engine: Engine, hashes: Iterable[str]) -> dict[str, AIAnswer]:
    """The cached answers for these text hashes, by hash."""
    out = {}
    with engine.connect() as conn:
        for chunk in chunks(list(dict.fromkeys(hashes))):
            for r in conn.execute(select(ai_answers).where(ai_answers.c.text_hash.in_(chunk))):
                out[r.text_hash] = AIAnswer(r.text_hash, r.label, r.reason, r.model, r.at)
    return out


def save_answer(engine: Engine, answer: AIAnswer) -> None:
    """Cache an answer (replacing an older one for the same text, e.g. from another model)."""
    row = dict(text_hash=answer.text_hash, label=answer.label, reason=answer.reason, model=answer.model, at=answer.at)
    with writing(engine) as conn:
        conn.execute(upsert(conn, ai_answers, ("text_hash",)), [row])


def claim_request(engine: Engine, day: str, limit: int) -> bool:
    """Count one request against `day`'s budget (YYYY-MM-DD, UTC) before it is sent; False when
    the day's `limit` is spent (nothing counted)."""
    with writing(engine) as conn:
        conn.execute(insert_or_ignore(conn, ai_usage, ("day",)).values(day=day, requests=0))
        done = conn.execute(
            update(ai_usage)
            .where(ai_usage.c.day == day, ai_usage.c.requests < limit)
            .values(requests=ai_usage.c.requests + 1)
        )
    return done.rowcount == 1


def requests_on(engine: Engine, day: str) -> int:
    """The requests counted on one UTC day."""
    with engine.connect() as conn:
        return conn.execute(select(ai_usage.c.requests).where(ai_usage.c.day == day)).scalar() or 0


def raise_label(engine: Engine, item_id: int, label: str, flag: str) -> bool:
    """Give a mention a graver label (its severity follows; `flag` appended; its instant alerts
    decided again), in one transaction. Nothing changes, and False is returned, when the mention
    is gone, a person corrected its label, or its label is already as grave or graver."""
    with writing(engine) as conn:
        row = conn.execute(
            select(items.c.label, items.c.corrected_by, items.c.flags, items.c.mentions_staff).where(
                items.c.id == item_id
            )
        ).first()
        if row is None or row.corrected_by is not None:
            return False
        if LABEL_RANK.get(label, len(LABEL_RANK)) >= LABEL_RANK.get(row.label, len(LABEL_RANK)):
            return False
        flags = [*json.loads(row.flags or "[]"), flag]
        conn.execute(
            update(items)
            .where(items.c.id == item_id)
            .values(
                label=label,
                severity=severity_of(label, bool(row.mentions_staff)),
                flags=json.dumps(flags),
                alert_pending=True,
            )
        )
    return True


def delete_old_ai_records(engine: Engine, before: datetime, before_day: str) -> int:
    """Forget answers cached before `before` (a reason may quote a post: kept no longer than the
    mentions) and the request counts of days before `before_day`. Returns the answers deleted."""
    with writing(engine) as conn:
        deleted = conn.execute(delete(ai_answers).where(ai_answers.c.at < before)).rowcount
        conn.execute(delete(ai_usage).where(ai_usage.c.day < before_day))
    return int(deleted or 0)
