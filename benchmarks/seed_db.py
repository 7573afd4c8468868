"""A database already holding many mentions, for the memory and report benchmarks.

    python benchmarks/seed_db.py DB_PATH [COUNT]      (prints the seconds save_items took)

COUNT (default 100,000) varied mentions go through monitor.store.save_items in one transaction,
with a realistic mix of labels; the WAL is folded into the file so a copy of it is the database.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import genweb

from monitor import store
from monitor.models import Item, Score

LABELS = (("neutral", "low"), ("praise", "low"), ("criticism", "medium"), ("abuse", "high"), ("extremism", "high"))
WEIGHTS = (50, 25, 20, 4, 1)


def mentions(count: int, now: datetime, seed: int = 42) -> list[store.Scored]:
    rng = random.Random(seed)
    sentences = genweb.PRAISE + genweb.CRITICISM + genweb.NEUTRAL
    out = []
    for n in range(count):
        label, severity = rng.choices(LABELS, WEIGHTS)[0]
        text = " ".join(rng.choice(sentences).format(s=rng.choice(genweb.ALIASES)) for _ in range(3))
        item = Item(
            source=f"Archive feed {n % 200:03d}",
            key=f"guid:seed-{n}",
            url=f"https://news.example.org/archive/{n}",
            title=text[:70],
            text=text,
            author=rng.choice(genweb.NAMES),
            published=now - timedelta(minutes=rng.randint(0, 60 * 24 * 90)),
            raw=f"<item><guid>seed-{n}</guid><description>{text}</description></item>",
        )
        score = Score(
            True,
            label,
            severity,
            round(rng.uniform(-1, 1), 4),
            flags=(f"lexicon:{label}",) if label in ("abuse", "extremism") else (),
            mentions_staff=rng.random() < 0.05,
        )
        out.append(store.Scored(item, score))
    return out


def seed(path: Path, count: int) -> float:
    """Store `count` mentions in one save_items call; returns the seconds it took."""
    now = datetime.now(UTC)
    scored = mentions(count, now)
    t0 = time.perf_counter()
    engine = store.connect(f"sqlite:///{path}")
    saved = store.save_items(engine, scored, now)
    store.clear_pending(engine, saved.new_ids)  # history: their alerts were decided long ago
    engine.dispose()
    seconds = time.perf_counter() - t0
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return seconds


if __name__ == "__main__":
    print(f"{seed(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 100_000):.2f}")
