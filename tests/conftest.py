"""Shared fixtures: a school config written into tmp_path, pointing at a local HTTP server."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from monitor import config

FEEDS = Path(__file__).parent / "feeds"
# The labelled corpora sit in a folder beside the clone (../shared); `make test SHARED=DIR` (or
# $MONITOR_SHARED) points elsewhere, e.g. from a git worktree. Tests that read them skip without it.
SHARED = Path(os.environ.get("MONITOR_SHARED") or Path(__file__).resolve().parents[2] / "shared")
FEEDPARSER_TESTS = SHARED / "corpora" / "feedparser-tests"

SCHOOL = """
[school]
name = "Elm Park Primary School"
aliases = ["Elm Park Primary", "Elm Park School", "EPPS"]
exclude = ["Elm Park station", "Elm Park Road"]
context = ["school", "pupils", "Ofsted", "Hornchurch"]
staff = ["Mrs A Stevenson", "Mrs L Woods", "Mrs N Sale", "Ms V Morris"]

[alerts]
recipients = ["social-media@elmpark.example.org"]
sender = "monitor@elmpark.example.org"
"""


def write_config(tmp_path: Path, sources: str = "", extra: str = "") -> Path:
    """Write a sources.toml (the school above, plus the given tables) and return its path."""
    path = tmp_path / "sources.toml"
    path.write_text(SCHOOL + textwrap.dedent(extra) + textwrap.dedent(sources), encoding="utf-8")
    return path


def monitor_for(cfg, now=None, engine=None):
    """The service object for a test: its clock stopped at `now` when given, else the real one."""
    from monitor.service import Monitor, utc_now

    return Monitor(cfg, clock=(lambda: now) if now is not None else utc_now, engine=engine)


def save_state(engine, state) -> None:
    """Store one source's state as a scan would (with no items)."""
    from datetime import UTC, datetime

    from monitor import store

    store.save_batch(engine, [((), None, state)], datetime.now(UTC))


def feed_source(name: str, url: str, **keys) -> str:
    lines = ["[[source]]", f"name = {name!r}", 'type = "feed"', f"url = {url!r}"]
    lines += [f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {str(v).lower()}" for k, v in keys.items()]
    return "\n".join(lines).replace("'", '"') + "\n"


@pytest.fixture
def make_config(tmp_path):
    def make(sources: str = "", extra: str = "") -> config.Config:
        return config.load(write_config(tmp_path, sources, extra))

    return make


def rss(*entries: tuple[str, str, str], title: str = "Local news") -> bytes:
    """A small RSS 2.0 feed; entries are (guid, title, description)."""
    items = "".join(
        f"<item><guid>{g}</guid><title>{t}</title><link>http://news.example/{g}</link>"
        f"<description>{d}</description><pubDate>Mon, 02 Nov 2026 09:00:00 GMT</pubDate></item>"
        for g, t, d in entries
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://news.example/</link><description>d</description>{items}</channel></rss>"
    ).encode()


@pytest.fixture(scope="session")
def httpserver_listen_address():
    # Loopback only: tests never reach another address.
    return ("127.0.0.1", 0)


@pytest.fixture
def raw_server():
    """A socket-level server on 127.0.0.1 whose handler writes raw bytes (tests/rawserver.py)."""
    from tests.rawserver import RawServer

    servers = []

    def make(handler) -> RawServer:
        servers.append(RawServer(handler))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


@pytest.fixture
def proxy():
    """A forward proxy on 127.0.0.1 that forwards nothing: it records each request line (absolute
    form, "GET http://host/path HTTP/1.1") and answers it itself, from `routes` (absolute URL ->
    (status, Location)), else 200 "via the proxy"."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    lines: list[str] = []
    routes: dict[str, tuple[int, str]] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            lines.append(self.requestline)
            status, location = routes.get(self.path, (200, ""))
            body = b"" if location else b"via the proxy"
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.lines, server.routes = lines, routes
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def no_proxy_env(monkeypatch):
    """No proxy from this machine's environment: each test sets the one it means."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch
