"""The speed tricks that matter, kept honest: a command imports only the libraries it needs.

`score`, `check` (before any scan) and `--help` never load SQLAlchemy, requests, Jinja2's report
charts (matplotlib), APScheduler or the review desk (Flask, waitress, argon2): each costs a tenth of a second or more at every start. If a
change imports one of them at module level, these tests fail instead of the commands silently
getting slower.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_config

HEAVY = ("sqlalchemy", "requests", "matplotlib", "apscheduler", "feedparser", "bs4", "flask", "waitress", "argon2")
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


def loaded(*argv: str) -> list[str]:
    code = f"HEAVY = {json.dumps(json.dumps(HEAVY))}\n" + PROBE
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
