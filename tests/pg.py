"""A real PostgreSQL server on loopback for the tests that need one, started from Debian's packages.

Outside CI the tests skip with a reason when PostgreSQL is not installed; under CI=true (where
.ci/run installs it) a missing server is a failure, not a skip.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

_names = itertools.count(1)


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args: list[str], as_postgres: bool) -> None:
    if as_postgres:  # initdb and the server refuse to run as root
        args = ["runuser", "-u", "postgres", "--", *args]
    subprocess.run(args, check=True, capture_output=True, text=True)


@pytest.fixture(scope="session")
def postgres_server():
    """(host, port) of a PostgreSQL server of this test session's own, trusting loopback."""
    bin_dir = pg_bin()
    if bin_dir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not installed: .ci/run installs it (apt-get install postgresql)")
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql); CI runs these tests")
    root = os.geteuid() == 0
    # Under /tmp itself: pytest's own temporary folders are closed to the postgres user.
    base = Path(tempfile.mkdtemp(prefix="monitor-pg-"))
    data, sockets = base / "data", base / "sock"
    sockets.mkdir()
    if root:
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
    _run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"], root)
    port = _free_port()
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"], root)
    try:
        yield "127.0.0.1", port
    finally:
        _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], root)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A fresh, empty database on the session's server, as a SQLAlchemy URL."""
    import psycopg

    host, port = postgres_server
    name = f"t{next(_names)}"
    with psycopg.connect(host=host, port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://postgres@{host}:{port}/{name}"
