"""What the AI second opinion costs the monitor itself: per mention asked, per cached answer, and
off. The "model" is a local server that answers at once, so the figures are the monitor's own
overhead (prompt, request, budget, cache, label), not a model's thinking time, which dominates
any real use. Prints, asserts nothing.

    .venv/bin/python benchmarks/bench_ai.py [N]

Seeds N neutral mentions (default 200, the default daily budget) into a SQLite file in a
temporary folder, then times Monitor.second_opinion over them: all asked, then the same texts
again as new mentions (all from the cache), then with [scoring.ai] absent.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor import config, store
from monitor.models import Item, Score
from monitor.service import Monitor

SCHOOL = """[school]
name = "Elm Park Primary School"
aliases = ["Elm Park Primary", "EPPS"]
staff = ["Mrs N Sale", "Mr T Green"]
"""
ANSWER = json.dumps(
    {
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": '{"label": "neutral", "reason": "a notice"}'}}
        ]
    }
)


def answer(request: Request) -> Response:
    request.get_data()
    return Response(ANSWER, content_type="application/json")


def seed(engine, n: int, now: datetime, source: str) -> list[int]:
    score = Score(mention=True, label="neutral", severity="low", sentiment=0.0)
    scored = [
        store.Scored(
            Item(
                source=source,
                key=f"k{i}",
                url=f"https://forum.example/t/{i}",
                title=f"Thread {i}",
                text=f"Elm Park Primary School notice number {i}: the sports day is on Friday.",
            ),
            score,
        )
        for i in range(n)
    ]
    return list(store.save_items(engine, scored, now).new_ids)


def timed(m: Monitor, ids: list[int]) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = m.second_opinion(ids)
    return time.perf_counter() - t0, result


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    now = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/v1/chat/completions", method="POST").respond_with_handler(answer)
    server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "sources.toml"
            path.write_text(SCHOOL + f'[scoring.ai]\nurl = "{server.url_for("/v1")}"\nmodel = "m"\nmax_per_day = {n}\n')
            cfg = config.load(path)
            m = Monitor(cfg, clock=lambda: now)
            first = seed(m.engine, n, now, "Forum")
            again = seed(m.engine, n, now, "Cross-post")
            asked_s, asked = timed(m, first)
            cached_s, cached = timed(m, again)
            off = Monitor(replace(cfg, scoring=replace(cfg.scoring, ai=None)), clock=lambda: now, engine=m.engine)
            off_s, _ = timed(off, first)
            print(f"{n} mentions, a local server answering at once")
            print(f"asked:  {asked_s:.2f} s, {asked_s / n * 1000:.1f} ms per mention ({asked})")
            print(f"cached: {cached_s:.3f} s, {cached_s / n * 1000:.2f} ms per mention ({cached})")
            print(f"off:    {off_s * 1e6:.0f} µs for the whole call")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
