"""Desk accounts through the service and `school-monitor user`: hashing, roles, the password read
from standard input and never from the command line, the log that never holds a password."""

from __future__ import annotations

import io
import logging

import pytest
from sqlalchemy import select

from monitor import cli
from monitor.errors import InvalidPassword, LastAdmin, SignInFailed, SignInThrottled, UserExists, UserNotFound
from monitor.service import accounts
from monitor.store.schema import users
from tests.conftest import write_config
from tests.deskkit import PASSWORD, Clock, desk_monitor, fast_hashing  # noqa: F401 (a fixture)


def test_passwords_are_stored_as_argon2id_with_a_memory_hard_cost(tmp_path):
    m = desk_monitor(tmp_path)  # the real parameters, this once
    with m.engine.connect() as conn:
        hashes = conn.execute(select(users.c.password_hash)).scalars().all()
    assert len(hashes) == 3
    for hashed in hashes:
        assert hashed.startswith("$argon2id$v=19$m=65536,t=3,") and PASSWORD not in hashed
    assert m.sign_in("rita", PASSWORD, address="192.0.2.1").session.user.role == "reviewer"


@pytest.mark.usefixtures("fast_hashing")
def test_accounts_are_checked_and_the_last_admin_is_kept(tmp_path):
    m = desk_monitor(tmp_path)
    with pytest.raises(InvalidPassword, match="at least 10 characters"):
        m.add_user("bob", role="viewer", password="too short", by="t")
    with pytest.raises(UserExists):
        m.add_user("rita", role="viewer", password=PASSWORD, by="t")
    for bad in ("", "two words", "-dash", "x" * 65, "ünï"):
        with pytest.raises(Exception, match="name"):
            m.add_user(bad, role="viewer", password=PASSWORD, by="t")
    with pytest.raises(Exception, match="role"):
        m.add_user("bob", role="owner", password=PASSWORD, by="t")
    with pytest.raises(LastAdmin):
        m.remove_user("ada", by="t")
    with pytest.raises(LastAdmin):
        m.set_role("ada", "reviewer", by="t")
    m.set_role("rita", "admin", by="t")
    m.set_role("ada", "viewer", by="t")  # another admin exists now
    with pytest.raises(UserNotFound):
        m.set_password("nobody", PASSWORD, by="t")


@pytest.mark.usefixtures("fast_hashing")
def test_sign_in_is_throttled_by_name_and_by_address_and_logged_without_the_password(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="monitor.desk")
    clock = Clock()
    m = desk_monitor(tmp_path, clock=clock)
    for n in range(4):
        with pytest.raises(SignInFailed):
            m.sign_in("RITA", f"guess number {n}", address="203.0.113.1")  # names are throttled in any case
    m.sign_in("rita", PASSWORD, address="203.0.113.1")  # a success starts the count again
    for n in range(5):
        with pytest.raises(SignInFailed):
            m.sign_in("rita", f"guess number {n}", address=f"203.0.113.{10 + n}")
    with pytest.raises(SignInThrottled) as refused:
        m.sign_in("rita", PASSWORD, address="198.51.100.1")
    assert refused.value.until == clock.now + accounts.LOCKOUT
    assert m.sign_in("vic", PASSWORD, address="198.51.100.1")  # another name, another address: fine
    text = caplog.text
    assert "sign-in failed: 'RITA' from 203.0.113.1" in text and "signed in: rita (reviewer) from 203.0.113.1" in text
    assert "sign-in refused (throttled until" in text
    assert PASSWORD not in text and "guess number" not in text


@pytest.mark.usefixtures("fast_hashing")
def test_a_name_from_the_internet_is_logged_on_one_line(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="monitor.desk")
    m = desk_monitor(tmp_path)
    with pytest.raises(SignInFailed):
        m.sign_in("eve\nINFO signed in: ada", "whatever it is", address="203.0.113.1")
    (line,) = [r.getMessage() for r in caplog.records if "sign-in failed" in r.getMessage()]
    assert "\n" not in line


def run_cli(monkeypatch, capsys, path, *argv, stdin=""):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(["--config", str(path), "user", *argv])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.usefixtures("fast_hashing")
def test_user_commands_read_the_password_from_standard_input(tmp_path, monkeypatch, capsys):
    path = write_config(tmp_path)
    assert run_cli(monkeypatch, capsys, path, "list") == (
        0,
        "no accounts yet; add one with `school-monitor user add NAME --role admin`\n",
    )
    code, out = run_cli(monkeypatch, capsys, path, "add", "ada", "--role", "admin", stdin="a piped password\n")
    assert (code, out) == (0, "added ada (admin)\n")
    code, out = run_cli(
        monkeypatch,
        capsys,
        path,
        "add",
        "gov",
        "--role",
        "viewer",
        "--email",
        "gov@elmpark.example.org",
        stdin="a piped password\n",
    )
    assert code == 0
    code, out = run_cli(monkeypatch, capsys, path, "list")
    assert "ada" in out and "admin" in out and "gov@elmpark.example.org" in out
    code, out = run_cli(monkeypatch, capsys, path, "add", "bob", "--role", "viewer", stdin="short\n")
    assert code == 2 and "at least 10 characters" in out
    code, out = run_cli(monkeypatch, capsys, path, "add", "bob", "--role", "viewer", stdin="")
    assert code == 2 and "none given" in out
    assert run_cli(monkeypatch, capsys, path, "role", "gov", "reviewer") == (0, "gov is now reviewer\n")
    code, out = run_cli(monkeypatch, capsys, path, "passwd", "gov", stdin="another piped one\n")
    assert code == 0 and "sessions have ended" in out
    code, out = run_cli(monkeypatch, capsys, path, "remove", "nobody")
    assert code == 2 and "no user named 'nobody'; `school-monitor user list` lists them" in out
    code, out = run_cli(monkeypatch, capsys, path, "remove", "ada")
    assert code == 2 and "only admin" in out
    assert run_cli(monkeypatch, capsys, path, "remove", "gov")[0] == 0
    from monitor import config
    from monitor.service import Monitor

    m = Monitor(config.load(path))
    assert m.sign_in("ada", "a piped password", address="192.0.2.1").session.user.name == "ada"
    with pytest.raises(SystemExit):  # there is no way to give a password on the command line
        cli.build_parser().parse_args(["user", "add", "x", "--role", "admin", "--password", "p"])


def test_on_a_terminal_the_password_is_asked_twice(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    answers = iter(["first answer here", "second answer here"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    with pytest.raises(InvalidPassword, match="differ"):
        cli.read_password(Tty())
    answers = iter(["the same twice!", "the same twice!"])
    assert cli.read_password(Tty()) == "the same twice!"
    assert cli.read_password(io.StringIO("with a space at the end \r\n")) == "with a space at the end "
