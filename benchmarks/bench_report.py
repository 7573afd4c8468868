"""`school-monitor report` over 100,000 stored mentions: seconds and peak memory per format. Prints, asserts nothing.

    .venv/bin/python benchmarks/bench_report.py [N]

Seeds N mentions (default 100,000) over 13 months with store.save_items in one transaction into
a SQLite file in a temporary folder, then times the real command line for html, csv and json.
"""

from __future__ import annotations

import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor import config, store
from monitor.models import Item, Score

SCHOOL = """[school]
name = "Elm Park Primary School"
aliases = ["Elm Park Primary", "EPPS"]
"""
LABELS = [
    ("neutral", "low", 50),
    ("praise", "low", 30),
    ("criticism", "medium", 15),
    ("abuse", "high", 4),
    ("extremism", "high", 1),
]


def seed(cfg: config.Config, n: int, now: datetime) -> None:
    rnd = random.Random(1)
    kinds = [(label, severity) for label, severity, _ in LABELS]
    weights = [w for _, _, w in LABELS]
    scored = []
    for i in range(n):
        label, severity = rnd.choices(kinds, weights)[0]
        item = Item(
            source=f"source {i % 12}",
            key=f"guid:{i}",
            url=f"https://forum.example/t/{i}",
            title=f"Thread {i}",
            text=f"Post {i} about Elm Park Primary. " * 8,
            published=now - timedelta(days=rnd.random() * 400),
        )
        scored.append(store.Scored(item, Score(True, label, severity, rnd.uniform(-1, 1), flags=("bench",))))
    store.save_items(store.connect(cfg.database_url), scored, now)


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    cli = Path(sys.executable).parent / "school-monitor"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sources.toml"
        path.write_text(SCHOOL, encoding="utf-8")
        t0 = time.perf_counter()
        seed(config.load(path), n, datetime.now(UTC))
        print(f"seeded {n:,} mentions in {time.perf_counter() - t0:.1f}s")
        for fmt in ("html", "csv", "json"):
            t0 = time.perf_counter()
            done = subprocess.run(
                [str(cli), "--config", str(path), "report", "--format", fmt], capture_output=True, text=True, check=True
            )
            seconds = time.perf_counter() - t0
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(
                f"report --format {fmt:<4} {seconds:5.2f}s  (peak RSS of the children so far {peak:.0f} MB)"
                f"  {done.stdout.strip()}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
