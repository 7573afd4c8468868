"""The hostile web: each bad source ends as its own clear error (or is read correctly) while the good
source of the same scan is stored. Local servers only: pytest-httpserver, and a raw socket server
for what no HTTP library would send (drips, endless bodies)."""

from __future__ import annotations

import threading
import tracemalloc
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug import Response

from monitor import cli, config, fetch, store
from monitor.errors import FetchError
from monitor.models import SourceState
from tests.conftest import feed_source, monitor_for, rss, save_state, write_config
from tests.rawserver import drip, endless

HOSTILE = Path(__file__).parent / "hostile"
CAP = 1024 * 1024
GOOD = rss(("g1", "Elm Park Primary pupils win the chess cup", "Well done to the team."))
FEED_HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n"


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """100 MB of zeros, gzipped to about 100 KB."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1024 * 1024)
    return b"".join(z.compress(block) for _ in range(100)) + z.flush()


def hostile(name: str, secret_url: str = "") -> bytes:
    return (HOSTILE / name).read_bytes().replace(b"SECRET_URL", secret_url.encode())


def redirect(httpserver, path: str, to: str) -> None:
    httpserver.expect_request(path).respond_with_response(Response(status=302, headers={"Location": to}))


def test_a_scan_of_hostile_sources_reports_each_and_stores_the_good_ones(
    httpserver, raw_server, tmp_path, gzip_bomb, capsys
):
    secret = httpserver.url_for("/secret")
    data = {
        "/good.xml": (GOOD, "application/rss+xml"),
        "/billion-laughs.xml": (hostile("billion-laughs.xml"), "application/rss+xml"),
        "/quadratic.xml": (hostile("quadratic-blowup.xml"), "application/rss+xml"),
        "/xxe-file.xml": (hostile("xxe-file.xml"), "application/rss+xml"),
        "/xxe-url.xml": (hostile("xxe-url.xml", secret), "application/rss+xml"),
        "/xxe-parameter.xml": (hostile("xxe-parameter.xml", secret), "application/rss+xml"),
        "/external-dtd.xml": (hostile("external-dtd.xml", secret), "application/rss+xml"),
        "/entity-page.html": (hostile("entity-page.html"), "text/html"),
        "/html.xml": (b"<!DOCTYPE html><html><body><p>Log in</p></body></html>", "text/html"),
        "/empty.xml": (b"", "application/rss+xml"),
        "/invalid-utf8.xml": (
            rss(("u1", "Elm Park Primary fair", "raised £500 BAD")).replace(b"BAD", b"\xff\xfe"),
            "application/rss+xml; charset=utf-8",
        ),
        "/wrong-charset.xml": (
            rss(("w1", "Elm Park Primary fete", "raised £500 for the café")).decode().encode("cp1252"),
            "application/rss+xml; charset=utf-8",
        ),
        "/truncated.xml": (
            rss(("t1", "Elm Park Primary open day", "Come along."), ("t2", "Elm Park Primary play", "Tickets"))[:-70],
            "application/rss+xml",
        ),
        "/hop2.xml": (rss(("r1", "Elm Park Primary moved feed", "Still here.")), "application/rss+xml"),
    }
    for path, (body, ctype) in data.items():
        httpserver.expect_request(path).respond_with_data(body, content_type=ctype)
    httpserver.expect_request("/bomb.xml").respond_with_response(
        Response(gzip_bomb, content_type="application/rss+xml", headers={"Content-Encoding": "gzip"})
    )
    httpserver.expect_request("/gone.xml").respond_with_data("gone", status=404)
    httpserver.expect_request("/error.xml").respond_with_data("oops", status=500)
    httpserver.expect_request("/busy.xml").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "3600"})
    )
    redirect(httpserver, "/loop-a", httpserver.url_for("/loop-b"))
    redirect(httpserver, "/loop-b", httpserver.url_for("/loop-a"))
    for n in range(7):
        redirect(httpserver, f"/r{n}", httpserver.url_for(f"/r{n + 1}"))
    redirect(httpserver, "/to-file", "file:///etc/passwd")
    redirect(httpserver, "/hop0", "/hop1")  # relative, loopback to loopback
    redirect(httpserver, "/hop1", httpserver.url_for("/hop2.xml"))

    drip_headers = raw_server(drip(b"HTTP/1.1 200 OK\r\nX-Drip: "))
    drip_body = raw_server(drip(b"<rss", at_once=FEED_HEADERS + b"\r\n"))
    endless_body = raw_server(endless(FEED_HEADERS + b"\r\n"))
    huge = raw_server(endless(FEED_HEADERS + b"Content-Length: 500000000\r\n\r\n"))

    expected = {  # source name -> (url, the error it must end with, or None for stored items)
        "good": (httpserver.url_for("/good.xml"), None),
        "drip headers": (drip_headers.url("/feed"), "too slow: not finished within 2s"),
        "drip body": (drip_body.url("/feed"), "too slow: not finished within 2s"),
        "endless": (endless_body.url("/feed"), "body too large: over the cap of 1,048,576 bytes"),
        "huge": (huge.url("/feed"), "body too large: 500,000,000 bytes declared"),
        "gzip bomb": (httpserver.url_for("/bomb.xml"), "body too large: over the cap of 1,048,576 bytes"),
        "billion laughs": (httpserver.url_for("/billion-laughs.xml"), "DOCTYPE declares an internal subset"),
        "quadratic": (httpserver.url_for("/quadratic.xml"), "DOCTYPE declares an internal subset"),
        "xxe file": (httpserver.url_for("/xxe-file.xml"), "DOCTYPE declares an internal subset"),
        "xxe url": (httpserver.url_for("/xxe-url.xml"), "DOCTYPE declares an internal subset"),
        "xxe parameter": (httpserver.url_for("/xxe-parameter.xml"), "DOCTYPE declares an internal subset"),
        "external dtd": (httpserver.url_for("/external-dtd.xml"), None),
        "redirect loop": (httpserver.url_for("/loop-a"), "redirect loop"),
        "many redirects": (httpserver.url_for("/r0"), "too many redirects (more than 5)"),
        "to file": (httpserver.url_for("/to-file"), "refused a redirect to a non-http(s) URL: file:///etc/passwd"),
        "redirected": (httpserver.url_for("/hop0"), None),
        "html": (httpserver.url_for("/html.xml"), "not a feed: the server sent an HTML page"),
        "empty": (httpserver.url_for("/empty.xml"), "empty body: the server sent nothing"),
        "invalid utf-8": (httpserver.url_for("/invalid-utf8.xml"), None),
        "wrong charset": (httpserver.url_for("/wrong-charset.xml"), None),
        "truncated": (httpserver.url_for("/truncated.xml"), None),
        "gone": (httpserver.url_for("/gone.xml"), "HTTP 404: the page is gone"),
        "error": (httpserver.url_for("/error.xml"), "HTTP 500"),
        "busy": (httpserver.url_for("/busy.xml"), "HTTP 429: the server asked us to slow down"),
    }
    sources = "".join(
        feed_source(name, url, timeout="2s", max_bytes="1MB", interval="1m") for name, (url, _) in expected.items()
    )
    sources += (
        '[[source]]\nname = "entity page"\ntype = "page"\nrobots = false\n'
        f'url = "{httpserver.url_for("/entity-page.html")}"\n'
    )
    path = write_config(tmp_path, sources)
    assert cli.main(["--config", str(path), "scan"]) == 0
    out = capsys.readouterr().out
    cfg = config.load(path)
    states = monitor_for(cfg).source_states()

    for name, (_, error) in expected.items():
        if error is None:
            assert states[name].failures == 0, (name, states[name].last_error)
        else:
            assert error in states[name].last_error, (name, states[name].last_error)
            assert f"ERROR: {states[name].last_error}" in out
    assert "DOCTYPE declares an internal subset" in states["entity page"].last_error

    found = {i.source: i for i in monitor_for(cfg).items()}
    assert found["good"].title == "Elm Park Primary pupils win the chess cup"
    assert found["redirected"].url == "http://news.example/r1"
    assert "£500" in found["wrong charset"].text and "café" in found["wrong charset"].text
    assert "£500" in found["invalid utf-8"].text
    assert found["truncated"].title == "Elm Park Primary open day"
    assert found["external dtd"].title == "Elm Park Primary pupils planted a tree"
    assert not any("root:" in i.text or "lol" in i.text for i in found.values())
    requested = [req.path for req, _ in httpserver.log]
    assert "/secret" not in requested  # no external entity or DTD was fetched
    assert requested.count("/loop-a") == 1 and requested.count("/r6") == 0


def test_a_deadline_cuts_a_drip_in_a_direct_fetch(raw_server):
    server = raw_server(drip(b"HTTP/1.1 200 OK\r\nX-Drip: "))
    with fetch.Fetcher() as fetcher, pytest.raises(FetchError, match=r"too slow: not finished within 1s"):
        fetcher.get(server.url("/"), fetch.Limits(timeout=1))


def test_a_gzip_bomb_never_inflates_much_past_the_cap(raw_server, gzip_bomb):
    # A raw server: tracemalloc counts every thread, and this one allocates nothing per byte sent.
    headers = FEED_HEADERS + f"Content-Encoding: gzip\r\nContent-Length: {len(gzip_bomb)}\r\n\r\n".encode()
    server = raw_server(lambda conn, request, stop: conn.sendall(headers + gzip_bomb))
    assert peak_of_refused_fetch(server.url("/bomb")) < 3 * CAP  # 100 MB decoded, never held


def test_an_endless_body_is_cut_at_the_cap(raw_server):
    server = raw_server(endless(FEED_HEADERS + b"\r\n"))
    assert peak_of_refused_fetch(server.url("/")) < 3 * CAP


def peak_of_refused_fetch(url: str) -> int:
    """Peak traced memory of a fetch that must fail as "body too large"."""
    tracemalloc.start()
    try:
        with fetch.Fetcher() as fetcher, pytest.raises(FetchError, match="body too large"):
            fetcher.get(url, fetch.Limits(max_bytes=CAP))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_permanent_failures_mark_a_source_broken(httpserver, tmp_path, capsys):
    httpserver.expect_request("/gone.xml").respond_with_data("gone", status=410)
    httpserver.expect_request("/good.xml").respond_with_data(GOOD, content_type="application/rss+xml")
    path = write_config(
        tmp_path,
        feed_source("Gone", httpserver.url_for("/gone.xml")) + feed_source("Good", httpserver.url_for("/good.xml")),
    )
    for _ in range(2):
        cli.main(["--config", str(path), "scan"])
    assert "BROKEN" not in capsys.readouterr().out
    cli.main(["--config", str(path), "scan"])
    assert "BROKEN ERROR: HTTP 410" in capsys.readouterr().out
    assert cli.main(["--config", str(path), "check"]) == 0
    out = capsys.readouterr().out
    assert "BROKEN (3 permanent failures in a row" in out and "failing 3x, last error " in out and ": HTTP 410" in out
    states = monitor_for(config.load(path)).source_states()
    assert states["Gone"].broken and not states["Good"].broken

    httpserver.clear()
    httpserver.expect_request("/gone.xml").respond_with_data(GOOD, content_type="application/rss+xml")
    cli.main(["--config", str(path), "scan"])
    capsys.readouterr()
    states = monitor_for(config.load(path)).source_states()
    assert not states["Gone"].broken and states["Gone"].failures == 0


def test_a_server_error_backs_off_and_retry_after_is_honoured(httpserver, make_config):
    httpserver.expect_request("/error.xml").respond_with_data("oops", status=500)
    httpserver.expect_request("/busy.xml").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "3600"})
    )
    cfg = make_config(
        feed_source("Error", httpserver.url_for("/error.xml"), interval="1m")
        + feed_source("Busy", httpserver.url_for("/busy.xml"), interval="1m")
    )
    monitor_for(cfg).scan()
    first = monitor_for(cfg).source_states()["Error"]
    monitor_for(cfg).scan()
    states = monitor_for(cfg).source_states()
    second = states["Error"]
    assert (first.failures, second.failures) == (1, 2)
    assert timedelta(minutes=1) <= first.next_check - first.last_checked < timedelta(minutes=2)
    assert timedelta(minutes=2) <= second.next_check - second.last_checked  # doubled, not hammered
    busy = states["Busy"]
    assert busy.next_check - busy.last_checked >= timedelta(seconds=3600)
    assert not busy.broken  # a busy server is not a broken source


def test_robots_txt_is_read_once_per_host_and_obeyed(httpserver, make_config):
    httpserver.expect_request("/robots.txt").respond_with_data(
        "User-agent: *\nDisallow: /private/\n", content_type="text/plain"
    )
    page = (
        b"<html><head><title>Forum</title></head><body><main>"
        b"<p>Elm Park Primary is a lovely school.</p></main></body></html>"
    )
    for p in ("/public/a", "/public/b", "/private/c"):
        httpserver.expect_request(p).respond_with_data(page, content_type="text/html")
    sources = "".join(
        f'[[source]]\nname = "{p}"\ntype = "page"\nurl = "{httpserver.url_for(p)}"\n'
        for p in ("/public/a", "/public/b", "/private/c")
    )
    cfg = make_config(sources)
    runs = {r.source: r for r in monitor_for(cfg).scan().runs}
    assert runs["/public/a"].error is None and runs["/public/b"].error is None
    assert runs["/private/c"].error.startswith("disallowed by robots.txt")
    requested = [req.path for req, _ in httpserver.log]
    assert requested.count("/robots.txt") == 1 and "/private/c" not in requested
    assert {i.source for i in monitor_for(cfg).items()} == {"/public/a", "/public/b"}


def test_feeds_ignore_robots_txt_unless_asked(httpserver, make_config):
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /\n")
    httpserver.expect_request("/feed.xml").respond_with_data(GOOD, content_type="application/rss+xml")
    cfg = make_config(
        feed_source("Feed", httpserver.url_for("/feed.xml"))
        + feed_source("Polite", httpserver.url_for("/feed.xml") + "?p", robots=True)
    )
    runs = {r.source: r for r in monitor_for(cfg).scan().runs}
    assert runs["Feed"].error is None
    assert runs["Polite"].error.startswith("disallowed by robots.txt")


def test_requests_in_flight_per_host_are_limited(raw_server, make_config):
    lock, now, peak = threading.Lock(), [0], [0]
    body = GOOD

    def handler(conn, request, stop):
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        stop.wait(0.3)  # a slow server, so that requests would overlap if allowed
        with lock:
            now[0] -= 1
        conn.sendall(FEED_HEADERS + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)

    server = raw_server(handler)
    cfg = make_config("".join(feed_source(f"s{n}", server.url(f"/f{n}"), per_host=2) for n in range(6)))
    summary = monitor_for(cfg).scan()
    assert not summary.failed
    assert len(server.requests) == 6
    assert peak[0] == 2  # overlapping (8 workers), but never more than per_host


def test_old_databases_gain_the_new_source_columns(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = store.connect(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE sources DROP COLUMN permanent_failures")
        conn.exec_driver_sql("ALTER TABLE sources DROP COLUMN page_text")
        conn.exec_driver_sql("DROP INDEX ix_items_alert_pending")
        conn.exec_driver_sql("ALTER TABLE items DROP COLUMN alert_pending")
        conn.exec_driver_sql("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    engine.dispose()
    engine = store.connect(url)
    save_state(engine, SourceState(name="s", permanent_failures=2, page_text="hello"))
    assert store.load_states(engine)["s"].page_text == "hello"
    assert store.pending_alerts(engine) == []
