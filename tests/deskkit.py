"""What the review desk's tests share: a school with three accounts, mentions stored as a scan
stores them, a clock the test moves, and signing in through the real form."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor import config, store
from monitor.models import FetchResult, Item, Score, severity_of
from monitor.service import Monitor
from tests.conftest import write_config

PASSWORD = "correct horse battery"
ACCOUNTS = {"ada": "admin", "rita": "reviewer", "vic": "viewer"}
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)


@dataclass
class Clock:
    """The Monitor's clock, moved by the test."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def desk_monitor(
    tmp_path: Path, extra: str = "", sources: str = "", clock: Callable[[], datetime] | None = None
) -> Monitor:
    """A school's Monitor on a fresh SQLite file, with an admin, a reviewer and a viewer."""
    cfg = config.load(write_config(tmp_path, sources, extra))
    m = Monitor(cfg, clock=clock or Clock())
    for name, role in ACCOUNTS.items():
        m.add_user(name, role=role, password=PASSWORD, by="test")
    return m


def store_mention(
    m: Monitor,
    text: str,
    *,
    label: str = "criticism",
    source: str = "Parents forum",
    key: str | None = None,
    url: str = "https://forum.example/thread/1#post-1",
    title: str = "",
    author: str = "a parent",
    flags: tuple[str, ...] = (),
    first_seen: datetime | None = None,
    staff: bool = False,
) -> int:
    """One mention stored as a scan stores it (with the page it came in as evidence); its id."""
    item = Item(
        source=source,
        key=key or f"k:{text[:40]}:{url}",
        url=url,
        title=title,
        text=text,
        author=author,
        published=first_seen or m.now(),
        raw=f"<div class='post'>{text}</div>",
    )
    score = Score(True, label, severity_of(label, staff), -0.5, flags=flags, mentions_staff=staff)
    body = FetchResult(url=url, status=200, body=f"<html><body>{text}</body></html>".encode(), content_type="text/html")
    saved = store.save_items(m.engine, [store.Scored(item, score)], first_seen or m.now(), body)
    store.clear_pending(m.engine, saved.new_ids)
    return (saved.new_ids or saved.updated_ids)[0]


def form_csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has a form with a CSRF token"
    return found.group(1)


def sign_in(client, name: str, password: str = PASSWORD, **kw):  # type: ignore[no-untyped-def]
    """Sign in through the real form (its CSRF token and cookie); the POST's response."""
    page = client.get("/login", **kw)
    token = re.search(r'action="/login"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)"', page.text)
    assert token, "the sign-in form carries its CSRF token"
    return client.post("/login", data={"csrf": token.group(1), "username": name, "password": password}, **kw)


def csrf_of(client, path: str = "/") -> str:  # type: ignore[no-untyped-def]
    """The session's CSRF token, as the forms of a page carry it."""
    return form_csrf(client.get(path).text)


@pytest.fixture(autouse=False)
def fast_hashing(monkeypatch):
    """argon2id at its smallest cost: the desk's tests sign in hundreds of times, and the real
    parameters (64 MiB, 3 passes: a third of a second here) are tested on their own."""
    from argon2 import PasswordHasher

    from monitor.service import accounts

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", cheap)
    monkeypatch.setattr(accounts, "_UNKNOWN", cheap.hash("unknown"))
