"""Fetcher.get without a requests Session: what the Session used to give (headers, proxies from the
environment) still holds, what it should not give (cookies carried between sources) is gone, and a
Fetcher made in a forked worker works. Local servers only."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest
from werkzeug import Response

from monitor import fetch
from monitor.errors import FetchError
from tests.rawserver import RawServer, answer


def test_a_conditional_get_sends_our_headers_and_a_304_is_a_value(httpserver):
    httpserver.expect_request("/feed.xml").respond_with_response(Response(status=304))
    with fetch.Fetcher(user_agent="test-agent/1") as fetcher:
        got = fetcher.get(
            httpserver.url_for("/feed.xml"),
            etag='"v1"',
            last_modified="Mon, 02 Nov 2026 09:00:00 GMT",
            accept="application/rss+xml",
        )
    assert got.not_modified and got.etag == '"v1"' and got.last_modified == "Mon, 02 Nov 2026 09:00:00 GMT"
    sent = httpserver.log[0][0].headers
    assert sent["User-Agent"] == "test-agent/1"
    assert sent["Accept"] == "application/rss+xml"
    assert sent["Accept-Encoding"] == "gzip, deflate"
    assert sent["If-None-Match"] == '"v1"'
    assert sent["If-Modified-Since"] == "Mon, 02 Nov 2026 09:00:00 GMT"


def test_no_cookie_set_by_one_source_is_sent_to_another(httpserver):
    httpserver.expect_request("/a").respond_with_response(Response("a", headers={"Set-Cookie": "sid=from-a; Path=/"}))
    httpserver.expect_request("/hop").respond_with_response(
        Response(status=302, headers={"Location": "/b", "Set-Cookie": "hop=1; Path=/"})
    )
    httpserver.expect_request("/b").respond_with_data("b")
    with fetch.Fetcher() as fetcher:
        assert fetcher.get(httpserver.url_for("/a")).body == b"a"
        assert fetcher.get(httpserver.url_for("/hop")).body == b"b"
        assert fetcher.get(httpserver.url_for("/a")).body == b"a"
    paths = [(req.path, req.headers.get("Cookie")) for req, _ in httpserver.log]
    assert paths == [("/a", None), ("/hop", None), ("/b", None), ("/a", None)]


def test_proxies_from_the_environment_are_used(proxy, no_proxy_env):
    no_proxy_env.setenv("http_proxy", f"http://127.0.0.1:{proxy.server_port}")
    with fetch.Fetcher() as fetcher:
        got = fetcher.get("http://school.example/feed.xml")  # never resolved: the proxy answers
    assert got.body == b"via the proxy"
    assert proxy.lines == ["GET http://school.example/feed.xml HTTP/1.1"]


def test_no_proxy_from_the_environment_is_obeyed(proxy, httpserver, no_proxy_env):
    httpserver.expect_request("/feed.xml").respond_with_data("direct")
    no_proxy_env.setenv("http_proxy", f"http://127.0.0.1:{proxy.server_port}")
    no_proxy_env.setenv("no_proxy", "127.0.0.1")
    with fetch.Fetcher() as fetcher:
        assert fetcher.get(httpserver.url_for("/feed.xml")).body == b"direct"
        assert fetcher.get("http://school.example/other.xml").body == b"via the proxy"
    assert proxy.lines == ["GET http://school.example/other.xml HTTP/1.1"]


def _fetch_in_child(url: str) -> tuple[int, bytes]:
    with fetch.Fetcher() as fetcher:
        got = fetcher.get(url)
    return got.status, got.body


def test_a_fetcher_created_in_a_forked_worker_works(httpserver):
    httpserver.expect_request("/feed.xml").respond_with_data("fresh")
    url = httpserver.url_for("/feed.xml")
    with fetch.Fetcher() as parent:  # the parent has fetched (pools, a watchdog thread) before the fork
        assert parent.get(url).body == b"fresh"
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
            assert pool.submit(_fetch_in_child, url).result() == (200, b"fresh")


def test_a_malformed_redirect_is_this_source_s_error():
    # A raw server: no HTTP library would send this Location.
    answer = b"HTTP/1.1 302 Found\r\nLocation: http://[::1/feed.xml\r\nContent-Length: 0\r\n\r\n"
    server = RawServer(lambda conn, request, stop: conn.sendall(answer))
    try:
        with fetch.Fetcher() as fetcher:
            with pytest.raises(FetchError, match=r"refused a redirect to an invalid URL \(Invalid IPv6 URL\)"):
                fetcher.get(server.url("/moved"))
            with pytest.raises(FetchError, match=r"is not a valid URL"):
                fetcher.get("http://[::1/feed.xml")
    finally:
        server.close()


def test_host_slots_bound_requests_in_flight_per_host():
    slots = fetch._HostSlots()
    first = slots.acquire("school.example:80", 2)
    slots.acquire("school.example:80", 2)
    with pytest.raises(FetchError, match=r"no free connection slot for school.example:80 within 0.01s"):
        slots.acquire("school.example:80", 2, timeout=0.01)
    slots.acquire("other.example:80", 2, timeout=0.01)  # each host has its own slots
    first.release()
    slots.acquire("school.example:80", 2, timeout=0.01)  # a released slot is free again


def test_a_user_and_password_in_the_url_are_sent_as_basic_auth(httpserver):
    httpserver.expect_request("/private.xml", headers={"Authorization": "Basic dXNlcjpwYXNz"}).respond_with_data(
        "members only"
    )
    url = httpserver.url_for("/private.xml").replace("http://", "http://user:pass@")
    with fetch.Fetcher() as fetcher:
        assert fetcher.get(url).body == b"members only"


# ---------------------------------------------------------------- secrets stay out of messages


def test_passwords_in_urls_never_reach_an_error_message(httpserver):
    for a, b in (("/loop-a", "/loop-b"), ("/loop-b", "/loop-a")):
        httpserver.expect_request(a).respond_with_response(Response(status=302, headers={"Location": b}))
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /\n")
    base = httpserver.url_for("").replace("http://", "http://reader:s3cret@")
    with fetch.Fetcher() as fetcher:
        messages = []
        for url, limits in (
            (base + "loop-a", fetch.Limits()),  # "redirect loop: <url> redirects back to <url>"
            (base + "page", fetch.Limits(robots=True)),  # "disallowed by robots.txt (<url>/robots.txt)"
            ("ftp://reader:s3cret@files.example/feed.xml", fetch.Limits()),
            ("http://reader:s3cret@[::1/feed.xml", fetch.Limits()),
            ("http://reader:p@ss:s3cret@[::1/feed.xml", fetch.Limits()),  # an unescaped @ in the password
        ):
            with pytest.raises(FetchError) as e:
                fetcher.get(url, limits)
            messages.append(str(e.value))
    assert messages[0].startswith("redirect loop") and messages[1].startswith("disallowed by robots.txt")
    assert not [m for m in messages if "s3cret" in m or "reader" in m], messages


def test_the_url_of_a_result_carries_no_password(httpserver):
    httpserver.expect_request("/feed.xml").respond_with_data("ok")
    with fetch.Fetcher() as fetcher:
        got = fetcher.get(httpserver.url_for("/feed.xml").replace("http://", "http://reader:s3cret@"))
    assert got.body == b"ok" and got.url == httpserver.url_for("/feed.xml")


# ---------------------------------------------------------------- extra headers (API tokens)


def test_extra_headers_are_sent_to_the_urls_own_host(httpserver):
    httpserver.expect_request("/api", headers={"Authorization": "Bearer t0ken"}).respond_with_data("{}")
    httpserver.expect_request("/same").respond_with_response(Response(status=302, headers={"Location": "/api"}))
    secret = {"Authorization": "Bearer t0ken", "X-Api-Key": "k3y"}
    with fetch.Fetcher() as fetcher:
        assert fetcher.get(httpserver.url_for("/api"), headers=secret).body == b"{}"
        assert fetcher.get(httpserver.url_for("/same"), headers=secret).body == b"{}"  # same host: kept
    assert [req.headers.get("X-Api-Key") for req, _ in httpserver.log] == ["k3y", "k3y", "k3y"]


def test_a_token_never_reaches_a_redirect_to_another_host(httpserver):
    elsewhere = RawServer(answer(body=b"ok"), host="::1")
    httpserver.expect_request("/moved").respond_with_response(
        Response(status=302, headers={"Location": elsewhere.url("/api")})
    )
    try:
        with fetch.Fetcher() as fetcher:
            got = fetcher.get(
                httpserver.url_for("/moved"), headers={"Authorization": "Bearer t0ken", "X-Api-Key": "k3y"}
            )
    finally:
        elsewhere.close()
    assert got.body == b"ok"
    (request,) = elsewhere.requests
    assert b"t0ken" not in request and b"k3y" not in request
    assert b"User-Agent: school-monitor" in request  # our own headers still go


def test_an_invalid_extra_header_is_refused_without_showing_its_value(httpserver):
    with fetch.Fetcher() as fetcher, pytest.raises(FetchError, match=r"header 'Authorization'") as e:
        fetcher.get(httpserver.url_for("/api"), headers={"Authorization": "Bearer t0ken\r\nX-Injected: 1"})
    assert "t0ken" not in str(e.value)
    assert httpserver.log == []


# ---------------------------------------------------------------- the clock belongs to the caller


def test_the_fetcher_reads_the_callers_clock(httpserver):
    from datetime import UTC, datetime

    httpserver.expect_request("/feed.xml").respond_with_data("ok")
    httpserver.expect_request("/busy.xml").respond_with_response(
        Response("slow down", status=503, headers={"Retry-After": "Tue, 01 Jan 2030 01:00:00 GMT"})
    )
    now = datetime(2030, 1, 1, 0, 0, tzinfo=UTC)
    with fetch.Fetcher(clock=lambda: now) as fetcher:
        assert fetcher.get(httpserver.url_for("/feed.xml")).fetched_at == now
        with pytest.raises(FetchError) as e:
            fetcher.get(httpserver.url_for("/busy.xml"))
    assert e.value.retry_after == 3600


def test_retry_after_dates_are_read_against_a_given_now():
    from datetime import UTC, datetime

    now = datetime(2030, 1, 1, 0, 0, tzinfo=UTC)
    assert fetch.retry_after_seconds("Tue, 01 Jan 2030 00:10:00 GMT", now=now) == 600
    assert fetch.retry_after_seconds("Mon, 31 Dec 2029 00:10:00 GMT", now=now) == 0
    assert fetch.retry_after_seconds("120", now=now) == 120
    assert fetch.retry_after_seconds("99999999", now=now) == 24 * 3600
    assert fetch.retry_after_seconds("soon", now=now) is None


@pytest.mark.parametrize("status, allowed", [(403, False), (401, False), (500, True), (404, True)])
def test_robots_txt_errors_as_robotparser_reads_them(httpserver, status, allowed):
    httpserver.expect_request("/robots.txt").respond_with_data("no", status=status)
    httpserver.expect_request("/page").respond_with_data("page")
    with fetch.Fetcher() as fetcher:
        if allowed:
            assert fetcher.get(httpserver.url_for("/page"), fetch.Limits(robots=True)).body == b"page"
        else:
            with pytest.raises(FetchError, match=r"disallowed by robots\.txt"):
                fetcher.get(httpserver.url_for("/page"), fetch.Limits(robots=True))


def test_a_long_lived_fetcher_reads_robots_txt_again_once_it_is_old(httpserver, monkeypatch):
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    httpserver.expect_request("/page").respond_with_data("page")
    with fetch.Fetcher() as fetcher:  # a scan: read once
        for _ in range(3):
            fetcher.get(httpserver.url_for("/page"), fetch.Limits(robots=True))
    monkeypatch.setattr(fetch, "ROBOTS_KEEP", 0.0)
    with fetch.Fetcher() as fetcher:  # the daemon's, days later (here: at once)
        for _ in range(2):
            fetcher.get(httpserver.url_for("/page"), fetch.Limits(robots=True))
    assert [req.path for req, _ in httpserver.log].count("/robots.txt") == 3
