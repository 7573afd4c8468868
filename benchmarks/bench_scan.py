"""`make bench`: how fast `school-monitor scan` is against what this machine can do. Prints figures; asserts nothing.

    python benchmarks/bench_scan.py [--runs 3] [--feeds 300] [--pages 100] [--items 30] [--seed-items 100000]

A generated web (genweb.py: RSS, Atom and forum pages, about a fifth of the items naming the
school, ETag/Last-Modified and 304s) is served from 127.0.0.1 by a server in its own process.
Against it, each timed as a whole process (start-up included), median of --runs:

  raw        raw_pipeline.py: one process per core, requests + feedparser/BeautifulSoup + regex + VADER
  empty      `school-monitor scan` with no sources: start-up and opening the database, every scan's floor
  scan       `school-monitor scan` into a fresh database
  rescan     a second scan, nothing changed (all 304)
  increment  a third, after a tenth of the feeds gained new items
  seeded     a first scan into a database already holding --seed-items mentions (peak memory)
  report     `school-monitor report --format html` over those --seed-items mentions

Peak memory is each process's max RSS (os.wait4). Nothing here reaches beyond 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import genweb

HERE = Path(__file__).resolve().parent
RAW = HERE / "raw_pipeline.py"

SCHOOL = """\
[school]
name = "Elm Park Primary School"
aliases = ["Elm Park Primary", "Elm Park School", "EPPS"]
exclude = ["Elm Park station", "Elm Park Road", "Elm Park tube", "Elm Park Avenue"]
context = ["school", "pupils", "parents", "teacher", "head", "headteacher", "Ofsted", "Hornchurch",
           "Havering", "SENCO", "reception", "Year 6", "PTA", "uniform", "playground"]
not_context = ["Winnipeg", "Stanmore", "Belfast", "Sutton Coldfield"]
staff = ["Mrs A Stevenson", "Mrs L Woods", "Mrs N Sale", "Ms V Morris"]

[alerts]
recipients = ["social-media@elmpark.example.org"]
sender = "monitor@elmpark.example.org"

[storage]
database = "sqlite:///data/monitor.db"

[defaults]
interval = "1h"
timeout = "20s"
per_host = 16
"""

PAGE_SELECTORS = {"item": "div.post", "text": ".body", "author": ".author", "date": "time", "link": "a.permalink"}


def monitor_command() -> list[str]:
    """The installed console script beside this interpreter, else `python -m monitor`."""
    script = Path(sys.executable).parent / "school-monitor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "monitor"]


def write_config(directory: Path, web: genweb.Web, server: genweb.Server) -> Path:
    """sources.toml for the generated web in `directory` (its database is directory/data/monitor.db)."""
    lines = [SCHOOL]
    for path in web.feeds:
        lines.append(f'[[source]]\nname = "{path}"\ntype = "feed"\nurl = "{server.url(path)}"\n')
    for path in web.pages:
        keys = "".join(f'{k} = "{v}"\n' for k, v in PAGE_SELECTORS.items())
        lines.append(f'[[source]]\nname = "{path}"\ntype = "page"\nurl = "{server.url(path)}"\n{keys}')
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "sources.toml"
    config.write_text("\n".join(lines))
    return config


# ---------------------------------------------------------------- running a process


@dataclass(frozen=True)
class Run:
    seconds: float
    max_rss_mb: float
    returncode: int
    stdout: str
    stderr: str

    @property
    def last_line(self) -> str:
        lines = self.stdout.strip().splitlines()
        return lines[-1] if lines else ""


def run(cmd: list[str], cwd: Path) -> Run:
    """Run a command to completion; its wall time and its own max RSS (wait4, not RUSAGE_CHILDREN)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MONITOR_DATABASE_URL", "MONITOR_CONFIG")}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(seconds, usage.ru_maxrss / 1024, proc.returncode, out.read(), err.read())


def scan(config: Path) -> Run:
    return run(monitor_command() + ["--config", str(config), "scan"], config.parent)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def check(r: Run, what: str) -> Run:
    """Say how a run went; a failed command is shown, not hidden."""
    say(f"  {what}: {r.seconds:.2f}s, {r.max_rss_mb:.0f} MB  {r.last_line}")
    if r.returncode != 0:
        say(f"  {what} exited {r.returncode}: {r.stderr.strip()[-800:]}")
    return r


# ---------------------------------------------------------------- the steps


def bench_raw(tmp: Path, web: genweb.Web, server: genweb.Server, runs: int) -> list[Run]:
    sources = tmp / "raw-sources.txt"
    sources.write_text(
        "".join(f"feed {server.url(p)}\n" for p in web.feeds) + "".join(f"page {server.url(p)}\n" for p in web.pages)
    )
    out = []
    for n in range(runs):
        db = tmp / f"raw-{n}.db"
        out.append(check(run([sys.executable, str(RAW), str(sources), str(db)], tmp), f"raw {n + 1}"))
    return out


def bench_scans(tmp: Path, web: genweb.Web, server: genweb.Server, runs: int) -> dict[str, list[Run]]:
    """Each run: a fresh database, a first scan, an unchanged re-scan, then a tenth of the feeds changed."""
    out = {"scan": [], "rescan": [], "increment": []}
    for n in range(runs):
        genweb.restore(web)
        config = write_config(tmp / f"scan-{n}", web, server)
        out["scan"].append(check(scan(config), f"scan {n + 1}"))
        out["rescan"].append(check(scan(config), f"rescan {n + 1}"))
        changed = genweb.add_items(web)
        out["increment"].append(check(scan(config), f"increment {n + 1} ({changed} feeds changed)"))
    genweb.restore(web)
    return out


def seed_database(path: Path, count: int) -> float:
    """seed_db.py in its own process: the child's max RSS would otherwise start at this process's
    (Linux carries the parent's high-water mark into a forked child), so this one stays small."""
    r = run([sys.executable, str(HERE / "seed_db.py"), str(path), str(count)], path.parent)
    if r.returncode != 0:
        raise SystemExit(f"seeding the database failed: {r.stderr.strip()[-800:]}")
    return float(r.stdout.split()[0])


def bench_seeded(tmp: Path, web: genweb.Web, server: genweb.Server, seeded: Path, runs: int) -> list[Run]:
    out = []
    for n in range(runs):
        config = write_config(tmp / f"seeded-{n}", web, server)
        (config.parent / "data").mkdir()
        shutil.copy(seeded, config.parent / "data" / "monitor.db")
        out.append(check(scan(config), f"scan into seeded db {n + 1}"))
    return out


def bench_report(tmp: Path, web: genweb.Web, server: genweb.Server, seeded: Path, runs: int) -> list[Run]:
    """Time `report --format html`; stop at the first failure (the command may not exist yet)."""
    config = write_config(tmp / "report", web, server)
    (config.parent / "data").mkdir()
    shutil.copy(seeded, config.parent / "data" / "monitor.db")
    out = []
    for n in range(runs):
        html = config.parent / f"report-{n}.html"
        r = check(
            run(
                monitor_command() + ["--config", str(config), "report", "--format", "html", "-o", str(html)],
                config.parent,
            ),
            f"report {n + 1}",
        )
        out.append(r)
        if r.returncode != 0:
            break
        say(f"  report {n + 1}: {html.stat().st_size / 1024**2:.1f} MB of HTML")
    return out


def bench_startup(tmp: Path, runs: int) -> list[Run]:
    return [run(monitor_command() + ["--help"], tmp) for _ in range(runs)]


def bench_empty(tmp: Path, runs: int) -> list[Run]:
    """`scan` with no sources, into a database that exists: what every scan pays before its first
    fetch (Python, SQLAlchemy and requests imported, the database opened), the re-scan's floor."""
    config = tmp / "empty" / "sources.toml"
    config.parent.mkdir()
    config.write_text(SCHOOL)
    check(scan(config), "empty scan (creates the database)")
    return [check(scan(config), f"empty scan {n + 1}") for n in range(runs)]


# ---------------------------------------------------------------- the table


def median(runs: list[Run], attr: str = "seconds") -> float:
    return statistics.median(getattr(r, attr) for r in runs)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def row(name: str, value: str, target: str = "", result: str = "") -> str:
    return f"{name:<40} {value:>20}  {target:<34} {result}"


def report_table(nproc: int, raw, scans, seeded, report, startup, empty, seed_seconds, seed_items) -> list[str]:
    raw_s, scan_s = median(raw), median(scans["scan"])
    rescan_s, inc_s = median(scans["rescan"]), median(scans["increment"])
    mem_empty, mem_seeded = median(scans["scan"], "max_rss_mb"), median(seeded, "max_rss_mb")
    mem_all = max(mem_empty, median(scans["rescan"], "max_rss_mb"), median(scans["increment"], "max_rss_mb"))
    lines = [
        row("figure (median of runs)", "measured", "target", "result"),
        "-" * 104,
        row(f"raw pipeline ({nproc} processes)", f"{raw_s:.2f} s"),
        row("school-monitor --help (start-up)", f"{median(startup):.2f} s"),
        row(
            "scan with no sources (every scan's floor)",
            f"{median(empty):.2f} s",
            "",
            f"      floor/scan = {median(empty) / scan_s:.0%}",
        ),
        row(
            "scan, fresh database",
            f"{scan_s:.2f} s",
            f"<= 1.3 x raw = {1.3 * raw_s:.2f} s",
            f"{verdict(scan_s <= 1.3 * raw_s)}  scan/raw = {scan_s / raw_s:.2f}x",
        ),
        row(
            "re-scan, nothing changed",
            f"{rescan_s:.2f} s",
            f"<= 10% of scan = {0.10 * scan_s:.2f} s",
            f"{verdict(rescan_s <= 0.10 * scan_s)}  rescan/scan = {rescan_s / scan_s:.0%}",
        ),
        row(
            "re-scan, a tenth of the feeds changed",
            f"{inc_s:.2f} s",
            f"<= 25% of scan = {0.25 * scan_s:.2f} s",
            f"{verdict(inc_s <= 0.25 * scan_s)}  increment/scan = {inc_s / scan_s:.0%}",
        ),
        row("peak RSS, scan into empty database", f"{mem_empty:.0f} MB", "< 200 MB", verdict(mem_empty < 200)),
        row("peak RSS, re-scans", f"{mem_all:.0f} MB", "< 200 MB", verdict(mem_all < 200)),
        row(
            f"peak RSS, scan with {seed_items:,} stored",
            f"{mem_seeded:.0f} MB",
            "< 200 MB and <= empty + 10%",
            f"{verdict(mem_seeded < 200 and mem_seeded <= 1.1 * mem_empty)}  seeded/empty = "
            f"{mem_seeded / mem_empty:.2f}x",
        ),
        row("peak RSS, raw pipeline (largest process)", f"{median(raw, 'max_rss_mb'):.0f} MB"),
    ]
    if report and all(r.returncode == 0 for r in report):
        rep = median(report)
        lines.append(
            row(
                f"report --format html, {seed_items:,} mentions",
                f"{rep:.2f} s",
                "< 5 s",
                f"{verdict(rep < 5)}  peak RSS {median(report, 'max_rss_mb'):.0f} MB",
            )
        )
    else:
        err = (report[-1].stderr.strip().splitlines() or ["?"])[-1] if report else "not run"
        lines.append(row(f"report --format html, {seed_items:,} mentions", "failed", "< 5 s", f"MISS  ({err})"))
    lines.append(f"(seeding {seed_items:,} mentions through store.save_items took {seed_seconds:.1f} s)")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3, help="runs per figure; the median is printed (default 3)")
    p.add_argument("--feeds", type=int, default=300)
    p.add_argument("--pages", type=int, default=100)
    p.add_argument("--items", type=int, default=30, help="items per feed or page")
    p.add_argument("--seed-items", type=int, default=100_000, help="mentions already stored (memory, report)")
    args = p.parse_args(argv)
    nproc = os.cpu_count() or 1
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="monitor-bench-") as tmp_name:
        tmp = Path(tmp_name)
        web = genweb.generate(tmp / "web", args.feeds, args.pages, args.items)
        say(
            f"generated {len(web.feeds)} feeds and {len(web.pages)} pages of {args.items} items in {tmp}; "
            f"{nproc} cores; monitor: {' '.join(monitor_command())}"
        )
        with genweb.Server(web.dir) as server:
            startup = bench_startup(tmp, args.runs)
            empty = bench_empty(tmp, args.runs)
            raw = bench_raw(tmp, web, server, args.runs)
            scans = bench_scans(tmp, web, server, args.runs)
            say(f"seeding {args.seed_items:,} mentions ...")
            seeded_db = tmp / "seeded.db"
            seed_seconds = seed_database(seeded_db, args.seed_items)
            seeded = bench_seeded(tmp, web, server, seeded_db, args.runs)
            report = bench_report(tmp, web, server, seeded_db, args.runs)
    print("\n".join(report_table(nproc, raw, scans, seeded, report, startup, empty, seed_seconds, args.seed_items)))
    print(
        f"{args.feeds} feeds + {args.pages} pages x {args.items} items, {nproc} cores, "
        f"median of {args.runs}; whole benchmark {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
