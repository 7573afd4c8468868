"""Parsing a JSON source's answer beside an RSS feed of the same posts, in this process.

    .venv/bin/python benchmarks/bench_parse_json.py [--posts 2000] [--runs 5]

Builds a Mastodon-like statuses list (HTML content, nested account, ISO dates, links) and the same
posts as RSS 2.0, then times json_api.parse_json and feeds.parse_feed over each (median of the
runs), printing posts per second and MB per second. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.config import Source
from monitor.parse import feeds, json_api

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
SOURCE = Source(
    name="Mastodon API",
    type="json",
    url="http://127.0.0.1/api/v1/timelines/tag/Hornchurch",
    items="@",
    text="content",
    author="account.display_name || account.acct",
    date="created_at",
    link="url",
)


def statuses(n: int) -> list[dict]:
    return [
        {
            "id": str(i),
            "created_at": f"2026-11-{1 + i % 9:02d}T{i % 24:02d}:{i % 60:02d}:00.000Z",
            "url": f"https://mastodon.social/@user{i % 97}/{i}",
            "content": f"<p>Post {i}: the fair at <a href='#'>#ElmParkPrimary</a> was <b>lovely</b>, "
            "well done Year 2 &amp; the PTA. " * 3 + "</p>",
            "account": {"acct": f"user{i % 97}", "display_name": f"User {i % 97}"},
            "favourites_count": i % 13,
            "tags": [{"name": "hornchurch"}, {"name": "elmparkprimary"}],
        }
        for i in range(n)
    ]


def rss(posts: list[dict]) -> bytes:
    items = "".join(
        f"<item><guid>{p['url']}</guid><link>{p['url']}</link><title>post {p['id']}</title>"
        f"<author>{p['account']['acct']}</author><pubDate>Mon, 02 Nov 2026 09:00:00 GMT</pubDate>"
        f"<description>{escape(p['content'])}</description></item>"
        for p in posts
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>http://127.0.0.1/</link><description>d</description>{items}</channel></rss>"
    ).encode()


def timed(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    posts = statuses(args.posts)
    body_json, body_rss = json.dumps(posts).encode(), rss(posts)
    json_s = timed(lambda: json_api.parse_json(body_json, source=SOURCE, url=SOURCE.url, now=NOW), args.runs)
    feed_s = timed(lambda: feeds.parse_feed(body_rss, source="feed", url=SOURCE.url, now=NOW), args.runs)
    for what, seconds, body in (("json", json_s, body_json), ("rss ", feed_s, body_rss)):
        print(
            f"{what}: {args.posts} posts, {len(body) / 1e6:.2f} MB: {seconds * 1000:.0f} ms "
            f"({args.posts / seconds:,.0f} posts/s, {len(body) / 1e6 / seconds:.1f} MB/s)"
        )


if __name__ == "__main__":
    main()
