"""Work split over forked processes (monitor.workers) and the scan's split of sources (service._shards)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest

from monitor import service, workers
from monitor.config import Source
from tests.conftest import feed_source, rss, write_config

pytestmark = pytest.mark.skipif(not workers.can_fork(), reason="needs the fork start method (not on Windows/macOS spawn)")

GOOD = rss(("g1", "Elm Park Primary pupils win the chess cup", "Well done to the team."))
FEED_HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n"


def _results(shards, make_worker):
    batches = list(workers.stream(shards, make_worker, threads=3, every=0.05))
    return [r for batch in batches for r in batch]


def _squares():
    return (lambda n: n * n), (lambda n, square: (n, square, os.getpid())), lambda: None


def test_every_job_comes_back_once_from_its_own_process():
    results = _results([[1, 2, 3], [], [4, 5]], _squares)
    assert sorted((n, sq) for n, sq, _ in results) == [(1, 1), (2, 4), (3, 9), (4, 16), (5, 25)]
    pids = {n: pid for n, _, pid in results}
    assert pids[1] == pids[2] == pids[3] != pids[4] == pids[5] and os.getpid() not in pids.values()


def test_a_process_that_dies_loses_no_job_silently():
    def make_worker():
        def finish(n, _):
            if n == "crash":
                os._exit(3)  # as a parser's segfault would: no exception, no cleanup
            return n
        return (lambda n: n), finish, lambda: None

    results = _results([["crash", "maybe"], ["a", "b"]], make_worker)
    done = [r for r in results if not isinstance(r, workers.Lost)]
    lost = {r.job: r.reason for r in results if isinstance(r, workers.Lost)}
    assert sorted(done + list(lost)) == ["a", "b", "crash", "maybe"]  # each job once: done or lost
    assert {"a", "b"} <= set(done) and "crash" in lost
    assert all(reason.startswith("a worker process died (exit code 3)") for reason in lost.values())


def test_a_job_that_raises_or_cannot_be_sent_back_is_lost_alone():
    def make_worker():
        def wait(n):
            if n == 1:
                raise ValueError("bad job")
            return n

        def finish(n, _):
            return threading.Lock() if n == 2 else n  # a lock cannot be pickled
        return wait, finish, lambda: None

    results = _results([[0, 1, 2, 3]], make_worker)
    lost = {r.job: r.reason for r in results if isinstance(r, workers.Lost)}
    assert sorted(r for r in results if not isinstance(r, workers.Lost)) == [0, 3]
    assert lost[1] == "ValueError: bad job"
    assert lost[2].startswith("its result could not be sent back: TypeError")


def test_what_a_worker_opens_is_closed_when_its_shard_is_done(tmp_path):
    def make_worker():
        marker = tmp_path / f"closed-{os.getpid()}"
        return (lambda n: n), (lambda n, got: got), lambda: marker.write_text("closed")

    _results([[1], [2]], make_worker)
    assert len(list(tmp_path.glob("closed-*"))) == 2


def _source(name: str, url: str, per_host: int) -> Source:
    return Source(name=name, type="feed", url=url, interval=timedelta(hours=1), timeout=timedelta(seconds=20),
                  max_bytes=1024, per_host=per_host)


def test_shards_keep_each_hosts_limit_and_take_hosts_in_turn():
    jobs = ([service._Job(_source(f"a{i}", f"http://a.example/{i}", 3), None) for i in range(9)]
            + [service._Job(_source(f"b{i}", f"http://B.example/{i}", 1), None) for i in range(4)]
            + [service._Job(_source(f"c{i}", f"http://c.example:81/{i}", 4), None) for i in range(2)])
    shards = service._shards(jobs, 2)
    assert sorted(j.source.name for s in shards for j in s) == sorted(j.source.name for j in jobs)
    for host, limit in (("a.example", 3), ("b.example", 1), ("c.example:81", 4)):
        shares = [{j.per_host for j in s if host in j.source.url.lower()} for s in shards]
        assert all(len(share) <= 1 for share in shares)  # one limit per host in each process
        assert sum(share.pop() for share in shares if share) <= limit
    b_shards = [i for i, s in enumerate(shards) if any(j.source.name.startswith("b") for j in s)]
    assert len(b_shards) == 1  # per_host = 1: one process only
    first_hosts = [{j.source.url.split("/")[2].lower() for j in s[:2]} for s in shards if len(s) > 2]
    assert all(len(h) == 2 for h in first_hosts)  # each process starts on two hosts, not one


def test_a_large_scan_keeps_per_host_across_processes(raw_server, make_config):
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
    n = service.PROCESS_POOL_MIN_SOURCES + 4
    cfg = make_config("".join(feed_source(f"s{i}", server.url(f"/f{i}"), per_host=3) for i in range(n)))
    summary = service.scan(cfg)
    assert not summary.failed and len(summary.runs) == n
    assert len(server.requests) == n
    assert peak[0] == 3  # overlapping, across processes, but never more than per_host
    assert len({i.source for i in service.list_items(cfg)}) == n


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="a scan uses worker processes only with 2 cores or more")
def test_a_scan_whose_worker_dies_records_its_sources_as_failed(httpserver, make_config, monkeypatch):
    httpserver.expect_request("/feed.xml").respond_with_data(GOOD, content_type="application/rss+xml")
    n = service.PROCESS_POOL_MIN_SOURCES
    cfg = make_config("".join(feed_source(f"s{i}", httpserver.url_for("/feed.xml") + f"?{i}") for i in range(n)))
    analyse = service._analyse

    def crashing(classifier, src, *args):  # a parser crashing the process on one hostile body
        if src.name == "s5":
            os._exit(9)
        return analyse(classifier, src, *args)

    monkeypatch.setattr(service, "_analyse", crashing)
    runs = {r.source: r for r in service.scan(cfg).runs}
    assert len(runs) == n
    assert "a worker process died (exit code 9)" in runs["s5"].error
    assert runs["s5"].error.endswith("the source is read again on the next run")
    ok = [name for name, r in runs.items() if r.error is None]
    assert len(ok) >= n // 2  # the other process's share, at least
    assert service.source_states(cfg)["s5"].failures == 1
    assert {i.source for i in service.list_items(cfg)} == set(ok)


def test_ctrl_c_stops_a_large_scan_and_its_workers_quietly(raw_server, tmp_path):
    def handler(conn, request, stop):
        stop.wait(0.5)  # slow enough that the scan is still running when interrupted
        conn.sendall(FEED_HEADERS + f"Content-Length: {len(GOOD)}\r\n\r\n".encode() + GOOD)

    server = raw_server(handler)
    n = service.PROCESS_POOL_MIN_SOURCES + 4
    path = write_config(tmp_path, "".join(feed_source(f"s{i}", server.url(f"/f{i}"), per_host=2) for i in range(n)))
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(path), "scan"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    while len(server.requests) < 4 and proc.poll() is None:  # the workers are fetching
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C does: to the whole foreground process group
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "interrupted" in err
    assert "Traceback" not in err  # the workers ignore it: the parent ends them
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # nothing of the scan is left running
