"""The desk served for real: waitress on 127.0.0.1 (the trusted reverse proxy's headers), `school-monitor
serve`, and `school-monitor run` serving it beside the daemon, each stopped by SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from monitor.errors import ListenError
from monitor.web.server import DeskServer
from tests.deskkit import PASSWORD, desk_monitor, fast_hashing  # noqa: F401 (a fixture)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def login_token(session: requests.Session, base: str, **headers: str) -> tuple[requests.Response, str]:
    page = session.get(f"{base}/login", headers=headers, timeout=10)
    return page, re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def attempt(base: str, name: str, password: str, **headers: str) -> requests.Response:
    s = requests.Session()
    _, token = login_token(s, base, **headers)
    data = {"csrf": token, "username": name, "password": password}
    return s.post(f"{base}/login", data=data, headers=headers, allow_redirects=False, timeout=10)


@pytest.fixture
def served(tmp_path):
    servers = []

    def serve(extra: str = "") -> tuple[str, object]:
        folder = tmp_path / f"school{len(servers)}"
        folder.mkdir()
        m = desk_monitor(folder, extra=extra)
        server = DeskServer(m, "127.0.0.1:0").start()
        servers.append(server)
        return server.url, m

    yield serve
    for s in servers:
        s.stop()


@pytest.mark.usefixtures("fast_hashing")
def test_the_trusted_proxy_names_the_client_and_anyone_else_cannot(served):
    base, _ = served('[web]\ntrusted_proxy = "127.0.0.1"\n')
    for n in range(5):
        assert attempt(base, f"name{n}", "wrong password!", **{"X-Forwarded-For": "203.0.113.5"}).status_code == 400
    assert attempt(base, "vic", PASSWORD, **{"X-Forwarded-For": "203.0.113.5"}).status_code == 429
    assert attempt(base, "vic", PASSWORD, **{"X-Forwarded-For": "203.0.113.6"}).status_code == 303
    page, _ = login_token(requests.Session(), base, **{"X-Forwarded-Proto": "https"})
    assert "Secure" in page.headers["Set-Cookie"]  # TLS ends at the proxy: the cookie still says https only

    base, _ = served()  # no trusted proxy: the header is anybody's word and counts for nothing
    for n in range(5):
        attempt(base, f"name{n}", "wrong password!", **{"X-Forwarded-For": f"203.0.113.{n}"})
    assert attempt(base, "vic", PASSWORD, **{"X-Forwarded-For": "198.51.100.99"}).status_code == 429
    page, _ = login_token(requests.Session(), base, **{"X-Forwarded-Proto": "https"})
    assert "Secure" not in page.headers["Set-Cookie"]


def test_a_taken_port_is_a_clear_error(tmp_path):
    m = desk_monitor(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(ListenError, match=f"cannot listen on 127.0.0.1:{s.getsockname()[1]}"):
            DeskServer(m, f"127.0.0.1:{s.getsockname()[1]}")


def wait_for(url: str, proc: subprocess.Popen, seconds: float = 20) -> requests.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode}: {proc.communicate()}")
        try:
            return requests.get(url, timeout=2, allow_redirects=False)
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def start(tmp_path, *argv: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(tmp_path / "sources.toml"), "--log-level", "info", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.mark.usefixtures("fast_hashing")
def test_serve_runs_the_desk_until_sigterm(tmp_path):
    desk_monitor(tmp_path).close()  # the accounts, made with the cheap hash
    port = free_port()
    proc = start(tmp_path, "serve", "--listen", f"127.0.0.1:{port}")
    try:
        r = wait_for(f"http://127.0.0.1:{port}/", proc)
        assert r.status_code == 302 and r.headers["Location"].startswith("/login")
        assert attempt(f"http://127.0.0.1:{port}", "rita", PASSWORD).status_code == 303
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert f"the review desk is at http://127.0.0.1:{port}" in err and "signed in: rita" in err


def test_serve_refuses_a_listen_address_that_is_not_host_port(tmp_path):
    desk_monitor(tmp_path).close()
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(tmp_path / "sources.toml"), "serve", "--listen", "8080"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "--listen: '8080' is not HOST:PORT" in done.stderr


def test_run_serves_the_desk_when_web_listen_is_set(tmp_path):
    port = free_port()
    desk_monitor(tmp_path, extra=f'[web]\nlisten = "127.0.0.1:{port}"\n').close()
    proc = start(tmp_path, "run")
    try:
        assert wait_for(f"http://127.0.0.1:{port}/login", proc).status_code == 200
        proc.send_signal(signal.SIGHUP)  # a reload hands the desk the new config; it keeps serving
        time.sleep(0.5)
        assert wait_for(f"http://127.0.0.1:{port}/login", proc).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "daemon started" in err and f"the review desk is at http://127.0.0.1:{port}" in err and "reloaded" in err
    assert "abandoning" not in err  # the desk's threads stopped with the daemon
