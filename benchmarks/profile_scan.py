"""Where the time of `school-monitor scan` goes: one in-process scan of the benchmark's web under cProfile.

    python benchmarks/profile_scan.py [--feeds 300] [--pages 100] [--items 30] [--top 25] [--threads]

Prints the top functions by cumulative and by own time, the time per stage (fetch, feedparser,
raw_fragments, html_to_text, mentions, score, store) and the start-up import time
(`python -X importtime -m monitor --help`).

The scan runs in this one process (a real scan of this size parses in one worker process per
core, which cProfile would not see). By default its thread pool is replaced by one that runs each
source inline, so the profile is the CPU work itself, not threads waiting for the GIL;
`--threads` keeps the real thread pool and profiles each thread (wall time, GIL waits included).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import bench_scan
import genweb

# (stage, part of the module path, function name): cumulative time of each, as a share of the scan.
STAGES = (
    ("fetch (requests)", "monitor/fetch/__init__.py", "get"),
    ("feedparser.parse", "feedparser/api.py", "parse"),
    ("raw_fragments (2nd XML parse, evidence)", "monitor/parse/feeds.py", "raw_fragments"),
    ("html_to_text", "monitor/parse/text.py", "html_to_text"),
    ("canonical_link", "monitor/parse/identity.py", "canonical_link"),
    ("mentions (MentionFinder.find)", "monitor/mentions.py", "find"),
    ("score (Scorer.score, VADER)", "monitor/score", "score"),
    ("store.save_batch", "monitor/store/items.py", "save_batch"),
    ("store.connect (schema)", "monitor/store/schema.py", "connect"),
    ("Classifier build (VADER lexicon load)", "monitor/service/classify.py", "_build"),
)


class InlineExecutor:
    """A stand-in for ThreadPoolExecutor that runs each task at once in the calling thread."""

    def __init__(self, *args, **kwargs):
        pass

    def submit(self, fn, *args, **kwargs) -> Future:
        fut = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as e:  # handed back through the future, as the real pool does
            fut.set_exception(e)
        return fut

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def profile_scan(config: Path, threads: bool) -> tuple[pstats.Stats, float]:
    """Run Monitor.scan in this process; returns the merged profile and the wall time."""
    from monitor import config as config_mod
    from monitor.service import Monitor, parsing_pool, scanning

    workers: list[cProfile.Profile] = []
    lock = threading.Lock()
    parsing_pool.PROCESS_POOL_MIN_SOURCES = sys.maxsize  # everything in this process, where cProfile sees it
    if threads:
        collect = scanning.collect

        def profiled_collect(*args):
            prof = cProfile.Profile()
            with lock:
                workers.append(prof)
            return prof.runcall(collect, *args)

        scanning.collect = profiled_collect
    else:
        scanning.ThreadPoolExecutor = InlineExecutor
    logging.getLogger("monitor").setLevel(logging.ERROR)  # a failing source is in the summary, not 100 lines
    main = cProfile.Profile()
    t0 = time.perf_counter()
    main.enable()
    summary = Monitor(config_mod.load(config)).scan()
    main.disable()
    wall = time.perf_counter() - t0
    failed = len(summary.failed)
    print(
        f"in-process scan: {len(summary.runs)} sources, {sum(r.new for r in summary.runs)} new mentions, "
        f"{failed} failed, {wall:.2f} s wall ({'threads' if threads else 'inline, one thread'})"
    )
    stats = pstats.Stats(main)
    for prof in workers:
        stats.add(prof)
    return stats, wall


def print_top(stats: pstats.Stats, key: str, top: int) -> None:
    out = io.StringIO()
    stats.stream = out
    stats.sort_stats(key).print_stats(top)
    text = out.getvalue()
    print(f"\n=== top {top} by {key} time ===")
    print(text[text.find("   ncalls") :].rstrip())


def print_stages(stats: pstats.Stats, wall: float) -> None:
    """Cumulative time of each stage's entry point (nested stages overlap: fetch is not in parse)."""
    print(f"\n=== time per stage (cumulative, share of the {wall:.2f} s scan) ===")
    for name, file_suffix, func in STAGES:
        total = sum(v[3] for (f, _, fn), v in stats.stats.items() if file_suffix in f and fn == func)
        calls = sum(v[1] for (f, _, fn), v in stats.stats.items() if file_suffix in f and fn == func)
        print(f"  {name:<42} {total:7.2f} s  {total / wall:6.1%}  ({calls} calls)")


def print_importtime(top: int = 15, depth: int = 3) -> None:
    """`python -X importtime -m monitor --help`: the slowest imports down to `depth` levels, and the wall time."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "monitor", "--help"], capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    rows = []
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| ( *)(\S+)", line)
        if m and len(m.group(2)) // 2 <= depth:
            rows.append((int(m.group(1)), len(m.group(2)) // 2, m.group(3)))
    print(
        f"\n=== start-up: python -X importtime -m monitor --help: {wall:.2f} s wall; "
        f"slowest imports (cumulative, nesting shown) ==="
    )
    for us, level, name in sorted(rows, reverse=True)[:top]:
        print(f"  {us / 1e6:6.3f} s  {'  ' * level}{name}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--feeds", type=int, default=300)
    p.add_argument("--pages", type=int, default=100)
    p.add_argument("--items", type=int, default=30)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--threads", action="store_true", help="keep the real worker pool (profile each thread)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="monitor-profile-") as tmp_name:
        tmp = Path(tmp_name)
        web = genweb.generate(tmp / "web", args.feeds, args.pages, args.items)
        with genweb.Server(web.dir) as server:
            config = bench_scan.write_config(tmp / "scan", web, server)
            stats, wall = profile_scan(config, args.threads)
    print_top(stats, "cumulative", args.top)
    print_top(stats, "tottime", args.top)
    print_stages(stats, wall)
    print_importtime()
    return 0


if __name__ == "__main__":
    sys.exit(main())
