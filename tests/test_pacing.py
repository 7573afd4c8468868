"""Polite pacing: `host_gaps` keeps the starts of two requests to one host at least that far apart,
for every request (sources, redirect hops, robots.txt), across threads, without the wait counting
against a fetch's timeout. Local servers only; the assertions are about order and what was waited
for, with generous margins, never about how fast anything ran."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from monitor import fetch
from monitor.errors import FetchError
from tests.rawserver import RawServer


class Site:
    """A raw server answering every path with 200, /robots.txt with an allow-all, and /hop* with a
    redirect to /end; it notes when each request arrived."""

    def __init__(self):
        self.arrivals: list[tuple[float, bytes]] = []
        self.server = RawServer(self._answer)

    def _answer(self, conn, request, stop):
        path = request.split(b" ")[1]
        self.arrivals.append((time.monotonic(), path))
        if path.startswith(b"/hop"):
            conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /end\r\nContent-Length: 0\r\n\r\n")
        else:
            body = b"User-agent: *\nAllow: /\n" if path == b"/robots.txt" else b"ok"
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    def url(self, path: str) -> str:
        return self.server.url(path)

    @property
    def paths(self) -> list[bytes]:
        return [p for _, p in self.arrivals]

    def gaps(self) -> list[float]:
        times = sorted(t for t, _ in self.arrivals)
        return [b - a for a, b in itertools.pairwise(times)]


@pytest.fixture
def site():
    s = Site()
    yield s
    s.server.close()


@pytest.fixture
def other_site():
    s = Site()
    yield s
    s.server.close()


def test_requests_to_one_host_start_at_least_min_gap_apart(site):
    waits = []
    with fetch.Fetcher(host_gaps={"127.0.0.1": 0.3}, on_wait=lambda host, s: waits.append((host, s))) as fetcher:
        for n in range(3):
            assert fetcher.get(site.url(f"/p{n}")).body == b"ok"
    assert len(waits) == 2 and all(host == "127.0.0.1" and 0 < s <= 0.3 for host, s in waits)
    assert min(site.gaps()) >= 0.15  # at least the gap, less what a busy machine blurs


def test_redirect_hops_and_robots_txt_wait_their_turn_too(site):
    waits = []
    with fetch.Fetcher(host_gaps={"127.0.0.1": 0.2}, on_wait=lambda host, s: waits.append(host)) as fetcher:
        assert fetcher.get(site.url("/hop"), fetch.Limits(robots=True)).body == b"ok"
    assert site.paths == [b"/robots.txt", b"/hop", b"/end"]
    assert waits == ["127.0.0.1", "127.0.0.1"]  # the hop after robots.txt, then the redirect's target
    assert min(site.gaps()) >= 0.1


def test_threads_share_one_hosts_gap(site):
    with fetch.Fetcher(host_gaps={"127.0.0.1": 0.2}) as fetcher:
        threads = [threading.Thread(target=fetcher.get, args=(site.url(f"/t{n}"),)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(site.arrivals) == 4
    assert min(site.gaps()) >= 0.1


def test_a_host_covers_all_its_ports_and_host_port_one_port(site, other_site):
    port = site.server.port
    with fetch.Fetcher(host_gaps={f"127.0.0.1:{port}": 60}) as fetcher:
        assert fetcher.next_allowed(site.url("/")) == 0  # nothing sent yet
        fetcher.get(other_site.url("/a"))
        fetcher.get(other_site.url("/b"))  # another port: no gap, no wait
        fetcher.get(site.url("/a"))
        assert 59 < fetcher.next_allowed(site.url("/b")) <= 60
        assert 59 < fetcher.next_allowed(f"127.0.0.1:{port}") <= 60
        assert 59 < fetcher.next_allowed("127.0.0.1") <= 60  # some port of the host must wait
        assert fetcher.next_allowed(other_site.url("/c")) == 0
    with fetch.Fetcher(host_gaps={"127.0.0.1": 60}) as fetcher:
        fetcher.get(site.url("/a"))
        assert 59 < fetcher.next_allowed(other_site.url("/b")) <= 60  # the whole host waits
        assert 59 < fetcher.next_allowed("127.0.0.1") <= 60
        assert fetcher.next_allowed("[::1]:80") == 0
        assert fetcher.next_allowed("not a url at all") == 0


def test_waiting_for_the_gap_does_not_count_against_the_timeout(site):
    limits = fetch.Limits(timeout=0.5)
    with fetch.Fetcher(host_gaps={"127.0.0.1": 1.0}) as fetcher:
        assert fetcher.get(site.url("/a"), limits).body == b"ok"
        assert fetcher.get(site.url("/b"), limits).body == b"ok"  # waited about 1s before starting
    with fetch.Fetcher(host_gaps={"127.0.0.1": 1.0}) as fetcher:
        assert fetcher.get(site.url("/hop"), limits).body == b"ok"  # the hop waited about 1s mid-fetch
    assert site.paths == [b"/a", b"/b", b"/hop", b"/end"]


def test_closing_the_fetcher_ends_a_wait(site):
    fetcher = fetch.Fetcher(host_gaps={"127.0.0.1": 600})
    fetcher.get(site.url("/first"))
    errors = []

    def second():
        try:
            fetcher.get(site.url("/second"))
        except FetchError as e:
            errors.append(str(e))

    t = threading.Thread(target=second)
    t.start()
    while not fetcher.next_allowed(site.url("/")) > 600:  # the second request has taken its turn
        time.sleep(0.01)
    fetcher.close()
    t.join(timeout=10)
    assert not t.is_alive()
    assert errors and "closed" in errors[0]
    assert site.paths == [b"/first"]


def test_a_failing_wait_callback_does_not_fail_the_fetch(site):
    def on_wait(host, seconds):
        raise RuntimeError("progress display broke")

    with fetch.Fetcher(host_gaps={"127.0.0.1": 0.1}, on_wait=on_wait) as fetcher:
        fetcher.get(site.url("/a"))
        assert fetcher.get(site.url("/b")).body == b"ok"


@pytest.mark.parametrize("gaps", [{"127.0.0.1": -1}, {"127.0.0.1": float("nan")}, {"bad host/name": 1}, {"": 1}])
def test_invalid_gaps_are_refused(gaps):
    with pytest.raises(ValueError):
        fetch.Fetcher(host_gaps=gaps)


def test_gap_keys_are_read_as_urls_read_their_host():
    with fetch.Fetcher(host_gaps={"WWW.Reddit.com.": 60, "bücher.example": 5, "[::1]:8080": 1}) as fetcher:
        assert fetcher.next_allowed("https://www.reddit.com/r/x") == 0  # known, and nothing sent yet
        assert fetcher.host_gap("https://www.reddit.com/r/x") == 60
        assert fetcher.host_gap("http://xn--bcher-kva.example/") == 5
        assert fetcher.host_gap("http://[::1]:8080/") == 1 and fetcher.host_gap("http://[::1]:8081/") == 0
