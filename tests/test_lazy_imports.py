"""The speed tricks that matter, kept honest: a command imports only the libraries it needs.

`score`, `check` (before any scan) and `--help` never load SQLAlchemy, requests, Jinja2's report
charts (matplotlib), APScheduler or the review desk (Flask, waitress, argon2); a re-scan where
every source answers "not modified" never loads the parsers, the scorer or Jinja2. Each costs a
tenth of a second or more at every start. If a change imports one of them at module level, these
tests fail instead of the commands silently getting slower.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from werkzeug import Response

from tests.conftest import feed_source, rss, write_config

HEAVY = ("sqlalchemy", "requests", "matplotlib", "apscheduler", "feedparser", "bs4", "flask", "waitress", "argon2")
READING = ("feedparser", "bs4", "lxml", "vaderSentiment", "jinja2", "jmespath")  # parsing, scoring, rendering
PROBE = """
import contextlib, io, json, sys
from monitor import cli
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        cli.main(sys.argv[1:])
    except SystemExit:
        pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(HEAVY)))))
"""


def loaded(*argv: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    code = f"HEAVY = {json.dumps(json.dumps(heavy))}\n" + PROBE
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["score", "Elm Park Primary's nativity was lovely"], ["check"]],
    ids=["help", "score", "check"],
)
def test_a_command_loads_only_what_it_needs(tmp_path: Path, argv: list[str]):
    path = write_config(tmp_path)
    assert loaded("--config", str(path), *argv) == []


def test_a_scan_does_load_them(tmp_path: Path):  # the probe can see a heavy import at all
    path = write_config(tmp_path)
    assert {"sqlalchemy", "requests"} <= set(loaded("--config", str(path), "scan"))


def test_a_rescan_where_nothing_changed_reads_nothing(tmp_path: Path, httpserver):
    body = rss(("g1", "Elm Park Primary fair", "Lovely"))
    httpserver.expect_request("/f").respond_with_handler(
        lambda request: (
            Response(status=304)
            if request.headers.get("If-None-Match") == '"v1"'
            else Response(body, content_type="application/rss+xml", headers={"ETag": '"v1"'})
        )
    )
    path = write_config(tmp_path, feed_source("F", httpserver.url_for("/f")))
    assert set(READING) & set(loaded("--config", str(path), "scan", heavy=READING))  # the first scan reads
    assert loaded("--config", str(path), "scan", heavy=READING) == []  # the second finds nothing new


FREEZE_PROBE = """
import atexit, gc, sys
atexit.register(lambda: print("frozen", gc.get_freeze_count()))
from monitor.__main__ import entry
sys.exit(entry())
"""


def test_the_command_ends_without_walking_every_object(tmp_path: Path):
    """The installed `school-monitor` and `python -m monitor` run `entry`, which freezes what the
    process holds before it ends, so the interpreter's last collection walks none of it."""
    from importlib.metadata import entry_points

    (script,) = entry_points(group="console_scripts", name="school-monitor")
    assert script.value == "monitor.cli:entry"
    path = write_config(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", FREEZE_PROBE, "--config", str(path), "status"], capture_output=True, text=True
    )
    frozen = int(done.stdout.strip().splitlines()[-1].split()[1])
    assert frozen > 10_000  # the modules, the config and what the command made
