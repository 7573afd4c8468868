"""The review desk over 100,000 stored mentions: server time per page. Prints, asserts nothing.

    .venv/bin/python benchmarks/bench_desk.py [N] [--runs R]

Seeds N mentions (default 100,000; seed_db.py) into a SQLite file in a temporary folder, signs in
through the real form with Flask's test client, and times each page R times (default 30) from
the request to the whole response body, in this process: the server's time, without a network
or a browser. Targets: the queue under 150 ms, a mention under 50 ms.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import seed_db

from monitor import config
from monitor.service import Monitor
from monitor.web import create_app

SCHOOL = """[school]
name = "Elm Park Primary School"
aliases = ["Elm Park Primary", "EPPS"]

[storage]
database = "sqlite:///desk.db"
"""
PASSWORD = "a benchmark password"
TARGETS = {"queue": 0.150, "mention": 0.050}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("count", nargs="?", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=30)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "sources.toml").write_text(SCHOOL, encoding="utf-8")
        t0 = time.perf_counter()
        seed_db.seed(folder / "desk.db", args.count)
        with sqlite3.connect(folder / "desk.db") as db:  # collected as published, over 90 days (seed_db: all now)
            db.execute("UPDATE items SET first_seen = published")
        with sqlite3.connect(folder / "desk.db") as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # a database at rest, as a day-old one is
        print(f"seeded {args.count:,} mentions in {time.perf_counter() - t0:.1f}s")
        m = Monitor(config.load(folder / "sources.toml"))
        m.add_user("bench", role="reviewer", password=PASSWORD, by="bench")
        rnd = random.Random(7)
        ids = rnd.sample(range(1, args.count + 1), 200)
        for item_id in ids[:100]:  # a review log to read, as a working desk has
            m.review(item_id, status="reviewed", note="read it", by="bench")
        client = create_app(m).test_client()
        page = client.get("/login").text
        token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        client.post("/login", data={"csrf": token, "username": "bench", "password": PASSWORD})
        pages = {
            "queue": ["/"],
            "queue, page 1,000 (deep)": ["/?page=1000"],
            "queue, label abuse": ["/?label=abuse"],
            "queue, awaiting review, last 7 days": ["/?status=new&period=7d"],
            "queue, one source": ["/?source=Archive+feed+042"],
            "queue, text search": ["/?q=nativity"],
            "mention": [f"/mentions/{i}" for i in ids],
            "sources": ["/sources"],
        }
        print(f"server time per page over {args.runs} requests (median, 95th percentile, slowest):")
        for name, paths in pages.items():
            times = []
            for n in range(args.runs + 2):
                path = paths[n % len(paths)]
                t0 = time.perf_counter()
                resp = client.get(path)
                _ = resp.data
                seconds = time.perf_counter() - t0
                assert resp.status_code == 200, (path, resp.status_code)
                if n >= 2:  # the first two warm the caches (templates compiled, pages read)
                    times.append(seconds)
            times.sort()
            median, p95 = statistics.median(times), times[int(len(times) * 0.95) - 1]
            target = TARGETS.get(name)
            verdict = f"  target < {target * 1000:.0f} ms: {'PASS' if p95 < target else 'MISS'}" if target else ""
            print(f"  {name:<38} {median * 1000:7.1f} ms  {p95 * 1000:7.1f} ms  {times[-1] * 1000:7.1f} ms{verdict}")
        m.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
