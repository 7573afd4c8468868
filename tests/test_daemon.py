"""`school-monitor run` as a real process: a local threaded HTTP server, sources on one-second intervals,
signals sent to the daemon. Conditions are polled with short intervals under an overall timeout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor import config
from tests.conftest import feed_source, monitor_for, rss, write_config

ROOT = Path(__file__).resolve().parents[1]
WAIT = 15.0  # overall timeout for a condition; never reached when things work
STOP_WITHIN = 5.0


@pytest.fixture
def server():
    """A threaded server (a hanging handler must not hold up the others), loopback only."""
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.clear()
    srv.stop()


def serve_feed(server, path, *entries):
    server.expect_request(path).respond_with_data(rss(*entries), content_type="application/rss+xml")


def hits(server, path) -> int:
    return sum(1 for req, _ in server.log if req.path == path)


def eventually(condition, what: str):
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Daemon:
    """`python -m monitor --config ... run` in a subprocess, its stderr in a file."""

    def __init__(self, cfg_path: Path, log: Path):
        self.log = log
        self.stderr = open(log, "ab")  # noqa: SIM115 (closed in stop())
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("MONITOR_DATABASE_URL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(cfg_path), "--log-level", "info", "run"],
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
            cwd=cfg_path.parent,
            env=env,
        )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def send(self, sig) -> None:
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=STOP_WITHIN)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


@pytest.fixture
def daemons(tmp_path):
    started = []

    def start(cfg_path):
        d = Daemon(cfg_path, tmp_path / f"daemon{len(started)}.log")
        started.append(d)
        return d

    yield start
    for d in started:
        d.kill()


def titles(cfg_path) -> list[str]:
    return sorted(i.title for i in monitor_for(config.load(cfg_path)).items())


def started(d: Daemon) -> bool:
    """The daemon has created its database (reading it earlier would race the schema's creation)."""
    return "daemon started" in d.output()


def test_items_arrive_and_sigterm_stops_it_cleanly(server, tmp_path, daemons):
    serve_feed(server, "/a.xml", ("a1", "Elm Park Primary wins the cup", "Well done pupils."))
    path = write_config(tmp_path, feed_source("A", server.url_for("/a.xml"), interval="1s"))
    d = daemons(path)
    eventually(lambda: started(d) and titles(path) == ["Elm Park Primary wins the cup"], "the item")
    eventually(lambda: hits(server, "/a.xml") >= 3, "the source polled on its one-second interval")
    assert d.stop() == 0
    out = d.output()
    assert "source 'A': 1 items, 1 new, 0 updated, 1 mentions" in out
    assert "source 'A': 1 items, 0 new" in out
    assert "Traceback" not in out
    st = monitor_for(config.load(path)).status()
    assert st.heartbeat is None and st.healthy  # a clean stop: no daemon expected


def test_sigint_stops_it_too(server, tmp_path, daemons):
    serve_feed(server, "/a.xml", ("a1", "Elm Park Primary wins the cup", "Well done pupils."))
    path = write_config(tmp_path, feed_source("A", server.url_for("/a.xml"), interval="1s"))
    d = daemons(path)
    eventually(lambda: hits(server, "/a.xml") >= 1, "a fetch")
    assert d.stop(signal.SIGINT) == 0


def test_a_restart_does_not_fetch_before_the_interval_nor_store_twice(server, tmp_path, daemons):
    serve_feed(server, "/hourly.xml", ("h1", "Elm Park Primary wins the cup", "Well done pupils."))
    serve_feed(server, "/fast.xml", ("f1", "Elm Park Primary choir sings", "Lovely."))
    path = write_config(
        tmp_path,
        feed_source("Hourly", server.url_for("/hourly.xml"), interval="1h")
        + feed_source("Fast", server.url_for("/fast.xml"), interval="1s"),
    )
    first = daemons(path)
    eventually(lambda: started(first) and len(titles(path)) == 2, "the items")
    assert first.stop() == 0
    assert hits(server, "/hourly.xml") == 1

    second = daemons(path)
    polled = hits(server, "/fast.xml")
    # The one-second source keeps the tick short: three more runs of it mean many ticks have passed.
    eventually(lambda: hits(server, "/fast.xml") >= polled + 3, "the second daemon's ticks")
    assert second.stop() == 0
    assert hits(server, "/hourly.xml") == 1
    assert len(titles(path)) == 2


def test_sighup_adds_a_source_and_a_broken_config_keeps_the_old_one(server, tmp_path, daemons):
    serve_feed(server, "/a.xml", ("a1", "Elm Park Primary wins the cup", "Well done pupils."))
    serve_feed(server, "/b.xml", ("b1", "Elm Park Primary choir sings", "Lovely."))
    a = feed_source("A", server.url_for("/a.xml"), interval="1s")
    b = feed_source("B", server.url_for("/b.xml"), interval="1s")
    path = write_config(tmp_path, a)
    d = daemons(path)
    eventually(lambda: hits(server, "/a.xml") >= 1, "source A")
    write_config(tmp_path, a + b)
    d.send(signal.SIGHUP)
    eventually(lambda: hits(server, "/b.xml") >= 2, "the added source B, polled")
    assert "added: B" in d.output()

    path.write_text(path.read_text() + "\n[storage]\nkeep_dayz = 3\n")
    d.send(signal.SIGHUP)
    eventually(lambda: "reload failed" in d.output(), "the reload error")
    assert "storage.keep_dayz: unknown key (did you mean 'keep_days'?)" in d.output()
    polled = hits(server, "/b.xml")
    eventually(lambda: hits(server, "/b.xml") >= polled + 2, "B still polled under the old config")
    assert d.stop() == 0
    write_config(tmp_path, a + b)
    assert titles(path) == ["Elm Park Primary choir sings", "Elm Park Primary wins the cup"]


def test_a_hanging_source_does_not_delay_the_others_and_stop_abandons_it(server, tmp_path, daemons):
    release = threading.Event()
    entered = threading.Event()

    def hang(_request):
        entered.set()
        release.wait(30)
        return rss(("h1", "Elm Park Primary late news", "x"))

    server.expect_request("/hang.xml").respond_with_handler(hang)
    serve_feed(server, "/a.xml", ("a1", "Elm Park Primary wins the cup", "Well done pupils."))
    path = write_config(
        tmp_path,
        feed_source("Hang", server.url_for("/hang.xml"), interval="1s", timeout="30s")
        + feed_source("A", server.url_for("/a.xml"), interval="1s"),
    )
    d = daemons(path)
    try:
        eventually(entered.is_set, "the hanging request")
        polled = hits(server, "/a.xml")
        eventually(lambda: hits(server, "/a.xml") >= polled + 3, "A polled while Hang hangs")
        assert not release.is_set() and hits(server, "/hang.xml") == 0  # still the first, unanswered
        assert d.stop() == 0
        assert "abandoning" in d.output() and "Hang" in d.output()
    finally:
        release.set()
    st = monitor_for(config.load(path)).status()
    assert {s.name: s.last_success is not None for s in st.sources} == {"Hang": False, "A": True}


def test_the_daemon_runs_the_take_down_rechecks(server, tmp_path, daemons):
    """A post whose deletion was requested is re-checked by the daemon itself (not only by `scan`):
    its page answers 410, and `removed` lands in its review log."""
    link = server.url_for("/post/1")
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Forum</title><link>http://forum.example/</link>'
        f"<description>d</description><item><guid>g1</guid><title>Elm Park Primary head is scum</title>"
        f"<link>{link}</link><description>Post</description></item></channel></rss>"
    )
    server.expect_request("/f").respond_with_data(feed, content_type="application/rss+xml")
    server.expect_request("/post/1").respond_with_data("gone", status=410)
    cfg_path = write_config(tmp_path, feed_source("F", server.url_for("/f"), interval="1h"))
    m = monitor_for(config.load(cfg_path))
    m.scan()
    (item,) = m.items()
    m.review(item.id, status="actioned", action="deletion-requested", note="asked the forum", by="alice")
    d = daemons(cfg_path)
    eventually(lambda: any(r.action == "removed" for r in m.mention(item.id).reviews), "the re-check's `removed`")
    assert d.stop() == 0
