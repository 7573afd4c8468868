"""Nothing fails silently: what a newcomer hit, each checked against the real command line.

A bad CA file is the outbox's named error and makes `status` unhealthy once an alert has waited an
hour; `check` finds what would fail later; a closed pipe is a normal end; a bad log level is a
usage error; a missing database driver says what to install; times are shown one way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor import cli, config, store
from monitor.models import Item, Score, Scored
from tests.conftest import monitor_for, write_config

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]
SMTP_WITH_CA = '[smtp]\nhost = "127.0.0.1"\nport = 2525\nsecurity = "starttls"\nca_file = "{ca}"\n'


def abuse(key: str = "k1") -> Scored:
    item = Item(source="Forum", key=key, url="https://forum.example/1", title="", text="Elm Park Primary head is scum")
    return Scored(item, Score(True, "abuse", "high", -0.9))


def run(path: Path, *args: str, env: dict | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(path), *args],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=path.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


def test_a_missing_ca_file_is_a_check_problem_an_outbox_error_and_unhealthy_after_an_hour(tmp_path, capsys):
    path = write_config(tmp_path, extra=SMTP_WITH_CA.format(ca="certs/school-ca.pem"))
    assert cli.main(["--config", str(path), "check"]) == 2
    assert "smtp.ca_file: " in capsys.readouterr().err
    cfg = config.load(path)
    m = monitor_for(cfg, now=NOW)
    store.save_items(m.engine, [abuse()], NOW)
    sent = m.alert_new()  # the alert is queued; sending it fails with a named error, not a crash
    assert (sent.queued, sent.flushed.sent, sent.flushed.failed) == (1, 0, 1)
    assert "ca_file" in sent.flushed.errors[0] and "no such file" in sent.flushed.errors[0]
    (waiting,) = m.outbox()
    assert "ca_file" in (waiting.last_error or "")
    assert monitor_for(cfg, now=NOW + timedelta(minutes=30), engine=m.engine).status().healthy
    later = monitor_for(cfg, now=NOW + timedelta(minutes=61), engine=m.engine).status()
    assert not later.healthy and "because sending fails" in later.problems[0]


def test_a_ca_file_that_is_not_pem_is_named_by_check(tmp_path, capsys):
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    path = write_config(tmp_path, extra=SMTP_WITH_CA.format(ca="ca.pem"))
    assert cli.main(["--config", str(path), "check"]) == 2
    assert "smtp.ca_file: " in capsys.readouterr().err


def test_an_alert_held_by_quiet_hours_is_not_stuck(tmp_path):
    path = write_config(tmp_path, extra=SMTP_WITH_CA.format(ca="missing.pem"))
    cfg = config.load(path)
    engine = monitor_for(cfg).engine
    store.queue_emails(
        engine,
        [store.Outgoing("alert", "alert:1:main", ("a@e.org",), "s", b"m", not_before=NOW + timedelta(hours=8))],
        NOW,
    )
    assert monitor_for(cfg, now=NOW + timedelta(hours=5), engine=engine).status().healthy


def test_check_finds_a_report_template_that_does_not_compile_and_unset_secrets(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MONITOR_SMTP_PASSWORD", raising=False)
    smtp = '[smtp]\nhost = "127.0.0.1"\nusername = "monitor"\npassword_env = "MONITOR_SMTP_PASSWORD"\n'
    path = write_config(tmp_path, extra=smtp)
    assert cli.main(["--config", str(path), "check"]) == 0
    assert "smtp.password_env: $MONITOR_SMTP_PASSWORD is not set" in capsys.readouterr().err
    (tmp_path / "alerts").mkdir()
    (tmp_path / "alerts" / "report.html").write_text("<h1>{{ r.school }</h1>")
    assert cli.main(["--config", str(path), "check"]) == 2
    assert "alerts/report.html: line 1" in capsys.readouterr().err


def test_a_closed_pipe_is_a_normal_end(tmp_path):
    path = write_config(tmp_path)
    cfg = config.load(path)
    engine = monitor_for(cfg).engine
    store.save_items(engine, [abuse(f"k{i}") for i in range(3000)], NOW)
    shell = f"{sys.executable} -m monitor --config {path} items | head -1; exit ${{PIPESTATUS[0]}}"
    done = subprocess.run(
        ["bash", "-c", shell], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("#")


def test_a_bad_log_level_is_a_usage_error_in_one_line(tmp_path):
    done = run(write_config(tmp_path), "check", env={"MONITOR_LOG_LEVEL": "loud"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "school-monitor: log level 'loud': use one of debug, info, warning, error (--log-level or $MONITOR_LOG_LEVEL)"
    ]


def test_a_missing_database_driver_says_what_to_install(tmp_path):
    path = write_config(tmp_path, extra='[storage]\ndatabase = "postgresql+psycopg2://monitor@127.0.0.1:1/monitor"\n')
    done = run(path, "scan")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "its driver psycopg2 is not installed" in done.stderr and "school-monitor[postgres]" in done.stderr


def test_items_shows_what_it_sorts_by_in_one_format_with_its_zone(tmp_path, capsys):
    path = write_config(tmp_path)
    cfg = config.load(path)
    store.save_items(monitor_for(cfg).engine, [abuse()], NOW)  # first seen 12:00 UTC = 12:00 GMT
    assert cli.main(["--config", str(path), "items"]) == 0
    assert "2026-11-10 12:00 GMT" in capsys.readouterr().out


def test_sending_a_digest_to_nobody_says_why_and_fails(tmp_path, capsys):
    path = write_config(tmp_path)
    text = path.read_text().replace('recipients = ["social-media@elmpark.example.org"]', "recipients = []")
    path.write_text(text)
    store.save_items(monitor_for(config.load(path)).engine, [abuse()], NOW)
    assert cli.main(["--config", str(path), "digest", "--send"]) == 1
    assert "nobody to send it to" in capsys.readouterr().err
