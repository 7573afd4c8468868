"""A large scan: parsing in one process per core, and what happens when one of them dies or the user presses Ctrl-C."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from monitor.service import analysis, classify, parsing_pool, scanning
from tests.conftest import feed_source, monitor_for, rss, write_config

pytestmark = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="parsing processes need the fork start method"
)

GOOD = rss(("g1", "Elm Park Primary pupils win the chess cup", "Well done to the team."))
FEED_HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n"


def test_a_large_scan_keeps_per_host(raw_server, make_config):
    lock, now, peak = threading.Lock(), [0], [0]

    def handler(conn, request, stop):
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        stop.wait(0.2)  # slow, so that requests would overlap if allowed
        with lock:
            now[0] -= 1
        conn.sendall(FEED_HEADERS + f"Content-Length: {len(GOOD)}\r\n\r\n".encode() + GOOD)

    server = raw_server(handler)
    n = parsing_pool.PROCESS_POOL_MIN_SOURCES + 4
    cfg = make_config("".join(feed_source(f"s{i}", server.url(f"/f{i}"), per_host=3) for i in range(n)))
    summary = monitor_for(cfg).scan()
    assert not summary.failed and len(summary.runs) == n
    assert len(server.requests) == n
    assert peak[0] == 3  # overlapping, but never more than per_host
    assert len({i.source for i in monitor_for(cfg).items()}) == n


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="a scan parses in worker processes only with 2 cores or more")
def test_a_parsing_process_that_dies_fails_only_the_sources_beside_it(httpserver, make_config, monkeypatch):
    httpserver.expect_request("/feed.xml").respond_with_data(GOOD, content_type="application/rss+xml")
    n = parsing_pool.PROCESS_POOL_MIN_SOURCES + scanning.SCAN_WORKERS + 8
    cfg = make_config("".join(feed_source(f"s{i}", httpserver.url_for("/feed.xml") + f"?{i}") for i in range(n)))
    analyse = analysis.analyse

    def crashing(classifier, src, *args):  # a parser crashing its process on one hostile body
        if src.name == "s5":
            os._exit(9)
        return analyse(classifier, src, *args)

    monkeypatch.setattr(analysis, "analyse", crashing)  # the forked processes inherit it
    runs = {r.source: r for r in monitor_for(cfg).scan().runs}
    assert len(runs) == n
    assert runs["s5"].error == (
        "a parsing process died (this source's body or another's crashed it); the source is read again on the next run"
    )
    ok = [name for name, r in runs.items() if r.error is None]
    # Only the sources in the broken pool with it fail (at most one per fetching thread); a new
    # pool, started afresh (spawn: it has not inherited the crash), parses the rest.
    assert len(ok) >= n - scanning.SCAN_WORKERS
    assert monitor_for(cfg).source_states()["s5"].failures == 1
    assert {i.source for i in monitor_for(cfg).items()} == set(ok)


def test_ctrl_c_stops_a_large_scan_and_its_processes_quietly(raw_server, tmp_path):
    def handler(conn, request, stop):
        stop.wait(0.5)  # slow enough that the scan is still running when interrupted
        conn.sendall(FEED_HEADERS + f"Content-Length: {len(GOOD)}\r\n\r\n".encode() + GOOD)

    server = raw_server(handler)
    n = parsing_pool.PROCESS_POOL_MIN_SOURCES + 4
    path = write_config(tmp_path, "".join(feed_source(f"s{i}", server.url(f"/f{i}"), per_host=2) for i in range(n)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(path), "scan"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    while len(server.requests) < 6 and proc.poll() is None:  # some fetched and parsed, more to come
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C does: to the whole foreground process group
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "interrupted" in err
    assert "Traceback" not in err  # the parsing processes ignore it: the scan ends them
    assert len(server.requests) < n  # the sources not started yet were not fetched
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # nothing of the scan is left running


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="a scan parses in worker processes only with 2 cores or more")
def test_the_classifier_is_built_once_before_the_workers_fork(httpserver, make_config, tmp_path, monkeypatch):
    httpserver.expect_request("/feed.xml").respond_with_data(GOOD, content_type="application/rss+xml")
    n = parsing_pool.PROCESS_POOL_MIN_SOURCES + 2
    cfg = make_config("".join(feed_source(f"s{i}", httpserver.url_for("/feed.xml") + f"?{i}") for i in range(n)))
    builds = tmp_path / "builds"
    build = classify.Classifier._build

    def recorded(self):  # the forked workers inherit it: each build, in any process, is one line
        with builds.open("a") as f:
            f.write(f"{os.getpid()}\n")
        return build(self)

    monkeypatch.setattr(classify.Classifier, "_build", recorded)
    summary = monitor_for(cfg).scan()
    assert not summary.failed and sum(r.mentions for r in summary.runs) == n  # every body parsed, in the workers
    # Built here, once: the workers started with it, instead of each building its own (and none
    # waits for the lock of a classifier a thread of this process was building when it forked).
    assert builds.read_text().split() == [str(os.getpid())]
