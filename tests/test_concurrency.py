"""Two processes, one database: `scan`, `run --once` and the daemon may share one, SQLite or
PostgreSQL. Storing is idempotent under concurrency (the unique constraints decide, then what is
there is read back), schema creation tolerates a concurrent creator, one source's refused text
spoils only itself, and no error prints the posts' texts it was storing."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor import store
from monitor.models import Item, Score, Scored, SourceState
from tests.conftest import feed_source, rss, write_config
from tests.pg import postgres_server, postgres_url  # noqa: F401 (fixtures)

item_store = importlib.import_module("monitor.store.items")  # the module (schema.items is the table)

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]


def scored(key: str, text: str, source: str = "s", label: str = "criticism") -> Scored:
    item = Item(source=source, key=key, url=f"http://news.example/{key}", title="", text=text, published=NOW)
    return Scored(item, Score(True, label, "medium", -0.5))


def feeds(httpserver, n_sources: int = 6, n_items: int = 40) -> str:
    body = rss(*((f"g{i}", f"Elm Park Primary news {i}", f"Post {i} about the school") for i in range(n_items)))
    httpserver.expect_request("/feed.xml").respond_with_data(body, content_type="application/rss+xml")
    # Several sources with the same items: the same keys race within each source across the processes.
    return "".join(feed_source(f"s{i}", httpserver.url_for("/feed.xml") + f"?{i}") for i in range(n_sources))


def scans_at_once(path: Path, env: dict, n: int = 2) -> list[subprocess.CompletedProcess]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(path), "scan", "--no-alerts"],
            cwd=path.parent,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    return [subprocess.CompletedProcess(p.args, p.wait(60), *p.communicate()) for p in procs]


@pytest.mark.parametrize("attempt", range(3))
def test_scans_started_together_on_a_new_sqlite_file_both_succeed_and_store_once(httpserver, tmp_path, attempt):
    path = write_config(tmp_path, feeds(httpserver))
    env = {"MONITOR_DATABASE_URL": ""}
    done = scans_at_once(path, env)
    for proc in done:
        assert proc.returncode == 0, proc.stderr
        assert "internal error" not in proc.stderr
    engine = store.connect(f"sqlite:///{tmp_path / 'data' / 'monitor.db'}")
    stored = store.list_items(engine)
    assert len(stored) == 6 * 40  # six sources, forty posts each, never twice


def test_an_insert_that_loses_a_race_is_read_back_not_an_error(tmp_path, monkeypatch):
    """Another writer stores the same post between our look-up and our insert."""
    engine = store.connect(f"sqlite:///{tmp_path / 'm.db'}")
    first = store.save_items(engine, [scored("k1", "Elm Park Primary is badly run")], NOW)
    real, calls = item_store._existing, []

    def stale_once(conn, source, keys):  # the first look-up misses what the other writer stored
        calls.append(keys)
        return {} if len(calls) == 1 else real(conn, source, keys)

    monkeypatch.setattr(item_store, "_existing", stale_once)
    again = store.save_items(engine, [scored("k1", "Elm Park Primary is badly run, edited")], NOW)
    assert again.error is None and again.new_ids == () and again.updated_ids == first.new_ids
    assert [i.text for i in store.list_items(engine)] == ["Elm Park Primary is badly run, edited"]


def test_a_refused_source_and_a_database_error_never_quote_the_texts_being_stored(tmp_path):
    engine = store.connect(f"sqlite:///{tmp_path / 'm.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TRIGGER no_more BEFORE INSERT ON items BEGIN SELECT RAISE(ABORT, 'full'); END")
    (refused,) = store.save_batch(engine, [([scored("k1", "SECRET TEXT OF A POST")], None, None)], NOW)
    assert refused.error and "full" in refused.error and "SECRET" not in refused.error
    with pytest.raises(Exception) as e, engine.begin() as conn:
        conn.execute(text("INSERT INTO no_such_table VALUES (:post)"), {"post": "SECRET TEXT OF A POST"})
    assert "no_such_table" in str(e.value) and "SECRET" not in str(e.value)  # hide_parameters


# ---------------------------------------------------------------- PostgreSQL


def test_scans_started_together_on_postgresql_both_succeed_and_store_once(httpserver, tmp_path, postgres_url):
    path = write_config(tmp_path, feeds(httpserver))
    done = scans_at_once(path, {"MONITOR_DATABASE_URL": postgres_url}, n=3)
    for proc in done:
        assert proc.returncode == 0, proc.stderr
        assert "duplicate key" not in proc.stderr and "internal error" not in proc.stderr
    assert len(store.list_items(store.connect(postgres_url))) == 6 * 40


def test_a_nul_byte_spoils_only_its_own_source_on_postgresql(postgres_url):
    """PostgreSQL refuses a NUL in text; the other sources of the batch are stored with their state."""
    engine = store.connect(postgres_url)
    results = store.save_batch(
        engine,
        [
            ([scored("a1", "bad \x00 byte", source="A")], None, SourceState("A")),
            ([scored("b1", "Elm Park Primary fine", source="B")], None, SourceState("B")),
        ],
        NOW,
    )
    assert results[0].error and "\x00" not in results[0].error and "bad" not in results[0].error
    assert results[1].error is None and len(results[1].new_ids) == 1
    assert [i.source for i in store.list_items(engine)] == ["B"]
    assert set(store.load_states(engine)) == {"B"}


def test_the_whole_store_works_on_postgresql(postgres_url):
    """The schema, the insert-or-ignore and the edits, on a real PostgreSQL."""
    engine = store.connect(postgres_url)
    first = store.save_items(engine, [scored("k1", "Elm Park Primary is badly run", label="abuse")], NOW)
    edited = store.save_items(engine, [scored("k1", "Elm Park Primary is fine now", label="praise")], NOW)
    assert edited.updated_ids == first.new_ids
    (item,) = store.list_items(engine)
    assert (item.label, item.text_label, item.text) == ("abuse", "praise", "Elm Park Primary is fine now")
    assert store.connect(postgres_url).dialect.name == "postgresql"  # opening again: the schema is current
