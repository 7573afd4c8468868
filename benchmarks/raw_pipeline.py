"""The reference: the simplest program that fetches, parses, finds and scores what `scan` does.

    python benchmarks/raw_pipeline.py SOURCES_FILE DB_PATH

SOURCES_FILE has one "feed URL" or "page URL" a line. The sources are split over one process
per core (parsing holds the GIL); each process fetches with a small thread pool of `requests`
sessions, parses with feedparser (feeds) or BeautifulSoup (pages, div.post), keeps items that
match an alias regex, scores each mention with plain VADER, and hands rows back; the parent
writes them with one executemany in one SQLite transaction. No evidence, no dedup, no state:
what this machine can do, not what the monitor must do.
"""

from __future__ import annotations

import html
import os
import re
import sqlite3
import sys
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import feedparser
import requests
from bs4 import BeautifulSoup
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

ALIASES = re.compile(r"\b(?:Elm Park Primary|Elm Park School|EPPS)\b", re.IGNORECASE)
TAG = re.compile(r"<[^>]+>")
THREADS = 4

_local = threading.local()


def _session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def _feed(body: bytes):
    for e in feedparser.parse(body).entries:
        raw = e.get("content", [{}])[0].get("value") or e.get("summary", "")
        yield (
            e.get("id") or e.get("link", ""),
            e.get("link", ""),
            e.get("title", ""),
            html.unescape(TAG.sub(" ", raw)),
            e.get("author", ""),
            e.get("published", ""),
        )


def _page(body: bytes):
    for post in BeautifulSoup(body, "lxml").select("div.post"):
        link, author, when = post.select_one("a.permalink"), post.select_one(".author"), post.select_one("time")
        yield (
            (link["href"] if link else ""),
            (link["href"] if link else ""),
            "",
            post.select_one(".body").get_text(" ", strip=True),
            author.get_text(strip=True) if author else "",
            when.get("datetime", "") if when else "",
        )


def _one(kind: str, url: str, vader: SentimentIntensityAnalyzer) -> list[tuple]:
    body = _session().get(url, timeout=20).content
    rows = []
    for key, link, title, text, author, published in (_feed if kind == "feed" else _page)(body):
        if ALIASES.search(title) or ALIASES.search(text):
            rows.append(
                (url, key, link, title, text, author, published, vader.polarity_scores(f"{title}. {text}")["compound"])
            )
    return rows


def _chunk(sources: list[tuple[str, str]]) -> list[tuple]:
    vader = SentimentIntensityAnalyzer()
    with ThreadPoolExecutor(THREADS) as pool:
        return [row for rows in pool.map(lambda s: _one(*s, vader), sources) for row in rows]


def main(sources_file: str, db_path: str) -> None:
    with open(sources_file) as f:
        sources = [tuple(line.split(None, 1)) for line in f.read().splitlines() if line.strip()]
    n = os.cpu_count() or 1
    with ProcessPoolExecutor(n) as procs:
        rows = [row for part in procs.map(_chunk, [sources[i::n] for i in range(n)]) for row in part]
    db = sqlite3.connect(db_path)
    with db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS items (source TEXT, key TEXT, url TEXT, title TEXT, text TEXT,"
            " author TEXT, published TEXT, sentiment REAL)"
        )
        db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.close()
    print(f"{len(sources)} sources, {len(rows)} mentions")


if __name__ == "__main__":
    main(*sys.argv[1:3])
