"""CPU per conditional GET (all 304) through Fetcher.get, requests' adapter, and bare urllib3.

    .venv/bin/python benchmarks/bench_fetch.py [--passes 9] [--threads 8] [--as-public]

Serves the benchmark web (genweb: 300 feeds, 100 pages) from 127.0.0.1 in its own process, reads
every URL once to learn its ETag/Last-Modified, then times conditional passes of all 400 URLs with
a thread pool, printing wall time and this process's CPU per request for each client, so the gap
between Fetcher.get and the bare HTTP stack stays visible. The clients: Fetcher.get; requests'
HTTPAdapter.send with a fully prepared request (cookies included, as a Session prepares it); bare
urllib3. The passes take turns, so a busy moment on the machine hits every client. Prints
figures, asserts nothing.

--as-public adds "Fetcher.get (public)": the same server taken for a public address, so that
every request goes through the checks a public source has (its host's address, and the address
each connection reached); a source on a private address, as 127.0.0.1 is, skips them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import urllib3

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import genweb

from monitor import fetch


def conditional_headers(etag: str | None, last_modified: str | None) -> dict:
    headers = {"User-Agent": fetch.USER_AGENT, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def via_fetcher():
    fetcher = fetch.Fetcher()
    limits = fetch.Limits()

    def get(url, etag, last_modified):
        return fetcher.get(url, limits, etag=etag, last_modified=last_modified).status

    return get, fetcher.close


def via_fetcher_as_public():
    """Fetcher.get with 127.0.0.1 taken for a public address (on this client's threads only): the
    address checks of a public source run on every request."""
    real, here = fetch.addresses.is_public, threading.local()
    fetch.addresses.is_public = lambda ip: (ip == "127.0.0.1" and getattr(here, "public", False)) or real(ip)
    get, close = via_fetcher()

    def get_public(url, etag, last_modified):
        here.public = True
        try:
            return get(url, etag, last_modified)
        finally:
            here.public = False

    return get_public, close


def via_adapter():
    adapter = requests.adapters.HTTPAdapter(pool_connections=16, pool_maxsize=16)

    def get(url, etag, last_modified):
        req = requests.PreparedRequest()
        req.prepare(method="GET", url=url, headers=conditional_headers(etag, last_modified))
        resp = adapter.send(req, stream=True, timeout=(10, 10), verify=True, proxies={})
        resp.raw.read()
        resp.raw.release_conn()
        return resp.status_code

    return get, adapter.close


def via_urllib3():
    pool = urllib3.PoolManager(num_pools=16, maxsize=16)

    def get(url, etag, last_modified):
        resp = pool.request(
            "GET",
            url,
            headers=conditional_headers(etag, last_modified),
            preload_content=False,
            redirect=False,
            retries=False,
            timeout=urllib3.Timeout(connect=10, read=10),
        )
        resp.read()
        resp.release_conn()
        return resp.status

    return get, pool.clear


CLIENTS = {"Fetcher.get": via_fetcher, "HTTPAdapter.send": via_adapter, "bare urllib3": via_urllib3}


def one_pass(get, validators: dict, threads: int) -> tuple[float, float]:
    with ThreadPoolExecutor(threads) as pool:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        statuses = list(pool.map(lambda kv: get(kv[0], *kv[1]), validators.items()))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    if set(statuses) != {304}:
        print(f"  (not all 304: {sorted(set(statuses))})")
    return wall, cpu


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", type=int, default=9, help="timed conditional passes per client")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--as-public", action="store_true", help="also time Fetcher.get with the address checks on")
    args = ap.parse_args(argv)
    clients = dict(CLIENTS)
    if args.as_public:
        clients = {"Fetcher.get": via_fetcher, "Fetcher.get (public)": via_fetcher_as_public} | clients
    with tempfile.TemporaryDirectory() as tmp:
        web = genweb.generate(Path(tmp), 300, 100, 30)
        with genweb.Server(web.dir) as server:
            urls = [server.url(p) for p in web.feeds + web.pages]
            with fetch.Fetcher() as fetcher:
                first = {u: fetcher.get(u) for u in urls}
            validators = {u: (r.etag, r.last_modified) for u, r in first.items()}
            n = len(validators)
            print(f"{n} conditional GETs per pass, {args.threads} threads, {args.passes} passes per client")
            clients = {name: make() for name, make in clients.items()}
            runs = {name: [] for name in clients}
            for get, _ in clients.values():
                one_pass(get, validators, args.threads)  # warm: connections open, imports done
            for _ in range(args.passes):
                for name, (get, _) in clients.items():
                    runs[name].append(one_pass(get, validators, args.threads))
            for name, (_, close) in clients.items():
                close()
                walls, cpus = [w for w, _ in runs[name]], [c for _, c in runs[name]]
                print(
                    f"{name:20} CPU ms/req: median {statistics.median(cpus) * 1000 / n:5.3f}, "
                    f"best {min(cpus) * 1000 / n:5.3f}   wall ms/req: median "
                    f"{statistics.median(walls) * 1000 / n:5.3f}, best {min(walls) * 1000 / n:5.3f}"
                )


if __name__ == "__main__":
    main()
