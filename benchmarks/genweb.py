"""The benchmark's generated web: RSS, Atom and forum pages on disk, served from 127.0.0.1. No monitor code.

    python benchmarks/genweb.py serve DIR     serve DIR (prints the port on its first line)

`generate(dir)` writes feeds/ and forum/ under a directory; `add_items(dir, ...)` gives some
feeds new items (the incremental re-scan); `Server(dir)` runs the HTTP server in its own
process, so it never competes for the benchmark's GIL. ETag/Last-Modified come from each
file's size and mtime, so a changed file is a 200 and an unchanged one a 304.
"""

from __future__ import annotations

import email.utils
import html
import os
import random
import subprocess
import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ALIASES = ("Elm Park Primary", "EPPS", "Elm Park School")
MENTION_RATE = 0.2
CONTENT_TYPES = {
    ".xml": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}

PRAISE = [
    "The nativity at {s} was wonderful, the children sang beautifully and the staff clearly put so much work in.",
    "Really impressed with {s} at the open morning: friendly teachers, a calm playground and happy pupils.",
    "Huge thanks to everyone at {s} for the sponsored walk, you raised over £2,000 for the hospice!",
    "My daughter has come on so much in Year 2 at {s}; her reading is brilliant now.",
    "{s} has a lovely new library and the reception class absolutely love it.",
    "Congratulations to the {s} football team on winning the Havering cup – fantastic effort.",
]
CRITICISM = [
    "Very disappointed with {s}: three weeks and still no reply from the office about my son's SEN support.",
    "The pick-up at {s} is chaos every afternoon, cars on the pavement and nobody from the school outside.",
    "Is anyone else unhappy with homework at {s}? It is badly organised and the letters always come late.",
    "Honestly {s} has gone downhill since the new head arrived, poor communication and rude replies.",
    "Bullying is being ignored at {s}; we reported it twice and nothing was done. Awful.",
    "The lunches at {s} are terrible and overpriced, my child comes home hungry every day.",
]
NEUTRAL = [
    "{s} will be closed on Friday for staff training; the breakfast club is open as usual.",
    "Does anyone know what time the {s} summer fair starts on Saturday?",
    "Applications for reception places at {s} close on 15 January, see the council website.",
    "{s} PTA meeting moved to Thursday 7pm in the school hall.",
    "The uniform shop for {s} has moved to the high street next to the post office.",
    "Ofsted visited {s} this week; the report should be published in about a month.",
]
OFFTOPIC = [
    "Roadworks on the A124 will continue until the end of the month, expect delays at peak times.",
    "The council has approved plans for forty new homes on the old garage site near the park.",
    "Hornchurch Library is running free coding clubs for teenagers on Saturday mornings.",
    "A new bakery has opened on Station Lane and the queue was round the corner by nine.",
    "Local football club Romford United won 3-1 at home on Saturday in front of a big crowd.",
    "Bin collections move to Wednesday next week because of the bank holiday.",
    "The farmers' market returns to the market place every second Sunday from March.",
    "Residents are asked to comment on the new cycle lane plans before the consultation closes.",
    "The swimming pool will reopen after refurbishment with longer opening hours.",
    "Local charity shop needs volunteers for Saturday shifts; no experience needed.",
]
# Off-topic posts that name the place but not the school: the monitor's exclusions drop them.
NEAR_MISSES = [
    "Delays on the District line this morning after a signal failure near Elm Park station.",
    "Police appeal for witnesses after a car was damaged overnight on Elm Park Avenue.",
]
FILLER = [
    "More details to follow.",
    "Thanks for reading.",
    "Share your views in the comments below.",
    "Photos from the day are on our website.",
    "We will keep you updated.",
    "What do you think?",
]
NAMES = [
    "Sarah K",
    "Dave P",
    "mum_of_three",
    "Priya S",
    "James O'Neill",
    "Hornchurch Dad",
    "Leanne W",
    "Tom B",
    "anon_parent",
    "Grace T",
    "Mohammed A",
    "Claire R",
]


@dataclass(frozen=True)
class Post:
    id: str
    title: str
    html: str
    author: str
    published: datetime
    link: str


def _sentence_html(rng: random.Random, mention: bool) -> tuple[str, str]:
    """(title, body HTML) for one post; a mention names the school by one of its aliases."""
    if mention:
        pool = rng.choice((PRAISE, CRITICISM, NEUTRAL))
        school = rng.choice(ALIASES)
        main = rng.choice(pool).format(s=school)
        title = main.split(",")[0][:70]
    else:
        main = rng.choice(OFFTOPIC + NEAR_MISSES)
        title = main.split(",")[0][:70]
    others = " ".join(html.escape(rng.choice(OFFTOPIC)) for _ in range(rng.randint(1, 3)))
    body = (
        f"<p>{html.escape(main, quote=False)}</p>"
        f"<p>{others} <em>{html.escape(rng.choice(FILLER))}</em></p>"
        f'<p><a href="https://news.example.org/tag/local?utm_source=rss">More local news</a> &middot; '
        f"<strong>{rng.randint(2, 80)}</strong> comments</p>"
    )
    return html.escape(title, quote=False), body


def _posts(rng: random.Random, prefix: str, n: int, now: datetime, base_link: str) -> list[Post]:
    posts = []
    for _k in range(n):
        title, body = _sentence_html(rng, rng.random() < MENTION_RATE)
        pid = f"{prefix}-{rng.getrandbits(48):012x}"
        when = now - timedelta(minutes=rng.randint(10, 60 * 24 * 30))
        posts.append(Post(pid, title, body, rng.choice(NAMES), when, f"{base_link}/{pid}"))
    posts.sort(key=lambda p: p.published, reverse=True)
    return posts


def rss(name: str, posts: list[Post], now: datetime) -> str:
    items = "".join(
        f"<item><title>{p.title}</title><link>{p.link}?utm_source=rss&amp;utm_medium=feed</link>"
        f'<guid isPermaLink="false">{p.id}</guid><pubDate>{email.utils.format_datetime(p.published)}</pubDate>'
        f"<dc:creator>{html.escape(p.author)}</dc:creator><category>Local</category>"
        f"<description><![CDATA[{p.html}]]></description></item>\n"
        for p in posts
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:atom="http://www.w3.org/2005/Atom"><channel>\n'
        f"<title>{html.escape(name)}</title><link>https://news.example.org/</link>"
        f"<description>News and talk from Hornchurch and around</description><language>en-gb</language>"
        f"<lastBuildDate>{email.utils.format_datetime(now)}</lastBuildDate>\n{items}</channel></rss>\n"
    )


def atom(name: str, posts: list[Post], now: datetime) -> str:
    entries = "".join(
        f'<entry><id>tag:forum.example.org,2026:{p.id}</id><title type="html">{html.escape(p.title)}</title>'
        f'<link rel="alternate" href="{p.link}"/><published>{p.published.isoformat()}</published>'
        f"<updated>{p.published.isoformat()}</updated><author><name>{html.escape(p.author)}</name></author>"
        f'<content type="html">{html.escape(p.html)}</content></entry>\n'
        for p in posts
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<id>tag:forum.example.org,2026:{html.escape(name)}</id><title>{html.escape(name)}</title>"
        f'<updated>{now.isoformat()}</updated><link rel="self" href="https://forum.example.org/feed"/>\n'
        f"{entries}</feed>\n"
    )


def forum_page(name: str, posts: list[Post]) -> str:
    body = "".join(
        f'<div class="post" id="{p.id}"><div class="meta"><span class="author">{html.escape(p.author)}</span> '
        f'<time datetime="{p.published.isoformat()}">{p.published:%d %b %Y %H:%M}</time> '
        f'<a class="permalink" href="{p.link}">#</a></div><div class="body">{p.html}</div>'
        f'<div class="actions"><a href="/report?post={p.id}">Report</a> <a href="/reply">Reply</a></div></div>\n'
        for p in posts
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>'
        f"{html.escape(name)} - Local Parents Forum</title>"
        '<link rel="stylesheet" href="/style.css"><script>window.dataLayer=[];</script></head>\n'
        '<body><header><nav><a href="/">Home</a> &rsaquo; <a href="/education">Education</a></nav>'
        f"</header><main><h1>{html.escape(name)}</h1>\n{body}</main>"
        "<footer><p>&copy; 2026 Local Parents Forum</p></footer></body></html>\n"
    )


@dataclass(frozen=True)
class Web:
    dir: Path
    feeds: tuple[str, ...]  # paths under dir, e.g. "feeds/f000.xml"
    pages: tuple[str, ...]  # e.g. "forum/t000.html"
    seed: int
    per_source: int
    now: datetime


def generate(
    root: Path,
    n_feeds: int = 300,
    n_pages: int = 100,
    per_source: int = 30,
    seed: int = 2026,
    now: datetime | None = None,
) -> Web:
    """Write the web under root: half the feeds RSS 2.0, half Atom, and the forum threads."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    (root / "feeds").mkdir(parents=True, exist_ok=True)
    (root / "forum").mkdir(parents=True, exist_ok=True)
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n")
    web = Web(
        root,
        tuple(f"feeds/f{i:03d}.{'xml' if i % 2 == 0 else 'atom'}" for i in range(n_feeds)),
        tuple(f"forum/t{i:03d}.html" for i in range(n_pages)),
        seed,
        per_source,
        now,
    )
    for i in range(n_feeds):
        _write_feed(web, i, _feed_posts(web, i))
    for i, path in enumerate(web.pages):
        rng = random.Random(f"{seed}-page-{i}")
        posts = _posts(rng, f"t{i:03d}", per_source, now, f"https://forum.example.org/thread/{i:03d}")
        (root / path).write_text(forum_page(f"Thread {i:03d}: schools in Hornchurch", posts))
    return web


def _feed_posts(web: Web, i: int) -> list[Post]:
    rng = random.Random(f"{web.seed}-feed-{i}")  # one generator per feed: any feed can be rebuilt alone
    return _posts(rng, f"f{i:03d}", web.per_source, web.now, f"https://news.example.org/{i:03d}")


def _write_feed(web: Web, i: int, posts: list[Post]) -> None:
    path = web.feeds[i]
    name = f"Local feed {i:03d}"
    doc = rss(name, posts, web.now) if path.endswith(".xml") else atom(name, posts, web.now)
    (web.dir / path).write_text(doc)


def add_items(web: Web, fraction: float = 0.1, new: int = 3, seed: int = 7) -> int:
    """Give every 1/fraction-th feed `new` fresh items at the top; as many of the oldest drop off,
    as real feeds do. Size and mtime change, hence ETag and Last-Modified. Returns how many changed."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    step = max(1, round(1 / fraction))
    changed = 0
    for i in range(0, len(web.feeds), step):
        fresh = _posts(rng, f"n{i:03d}-{rng.getrandbits(32):08x}", new, now, f"https://news.example.org/{i:03d}")
        fresh = [replace(p, published=now - timedelta(seconds=k)) for k, p in enumerate(fresh)]
        _write_feed(web, i, (fresh + _feed_posts(web, i))[: web.per_source])
        changed += 1
    return changed


def restore(web: Web) -> None:
    """Put the feeds add_items changed back as generate wrote them (new mtime, so a new ETag)."""
    for i in range(len(web.feeds)):
        _write_feed(web, i, _feed_posts(web, i))


# ---------------------------------------------------------------- the server


class Handler(BaseHTTPRequestHandler):
    """Static files with conditional GET; If-None-Match wins over If-Modified-Since (RFC 9110)."""

    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    disable_nagle_algorithm = True  # headers and body go in two writes: Nagle + delayed ACK would add 40 ms
    root: Path = Path(".")

    def do_GET(self):
        path = (self.root / self.path.split("?", 1)[0].lstrip("/")).resolve()
        if self.root not in path.parents or not path.is_file():
            return self._send(HTTPStatus.NOT_FOUND, b"not found\n", {})
        st = path.stat()
        etag = f'"{st.st_size:x}-{st.st_mtime_ns:x}"'
        last_modified = email.utils.formatdate(st.st_mtime, usegmt=True)
        headers = {"ETag": etag, "Last-Modified": last_modified, "Cache-Control": "max-age=60"}
        if self._not_modified(etag, st.st_mtime):
            return self._send(HTTPStatus.NOT_MODIFIED, b"", headers)
        headers["Content-Type"] = CONTENT_TYPES.get(path.suffix, "application/octet-stream")
        self._send(HTTPStatus.OK, path.read_bytes(), headers)

    def _not_modified(self, etag: str, mtime: float) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            return etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                return int(mtime) <= email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                return False
        return False

    def _send(self, status: HTTPStatus, body: bytes, headers: dict) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def log_message(self, *args):  # quiet: thousands of requests per run
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 drops SYNs under a burst of connections


def serve(root: Path) -> None:
    Handler.root = root.resolve()
    httpd = _Server(("127.0.0.1", 0), Handler)
    print(httpd.server_address[1], flush=True)
    httpd.serve_forever()


class Server:
    """`serve` in a child process; a context manager giving the base URL."""

    def __init__(self, root: Path):
        self.root = root
        self.proc = None
        self.base = ""

    def __enter__(self) -> Server:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "serve", str(self.root)], stdout=subprocess.PIPE, text=True
        )
        self.base = f"http://127.0.0.1:{int(self.proc.stdout.readline())}"
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def url(self, path: str) -> str:
        return f"{self.base}/{path}"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve(Path(sys.argv[2]))
    else:
        sys.exit(f"usage: {os.path.basename(__file__)} serve DIR")
