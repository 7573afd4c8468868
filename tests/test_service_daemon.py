"""What the daemon calls, with time passed in: due sources, retention, health, and `run --once`/`status`."""

from datetime import UTC, datetime, timedelta

from monitor import cli, store
from monitor.models import FetchResult, Item, Review, Score, SourceState
from monitor.store import schema
from tests.conftest import feed_source, monitor_for, rss, save_state

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
SCORES = {
    "high": Score(True, "abuse", "high", -0.8),
    "medium": Score(True, "criticism", "medium", -0.4),
    "low": Score(True, "praise", "low", 0.6),
}


def add_item(engine, key: str, severity: str, first_seen: datetime) -> int:
    item = Item(
        source="S",
        key=key,
        url=f"http://news.example/{key}",
        title=f"Elm Park Primary {key}",
        text=f"About EPPS: {key}",
        raw=f"<item>{key}</item>",
    )
    body = FetchResult(url="http://news.example/feed", status=200, body=f"<rss>{key}</rss>".encode())
    (new_id,) = store.save_items(engine, [store.Scored(item, SCORES[severity])], first_seen, body).new_ids
    return new_id


def test_retention_deletes_old_unflagged_mentions_with_their_evidence(make_config):
    cfg = make_config()
    engine = monitor_for(cfg).engine
    old = NOW - timedelta(days=400)
    ids = {
        key: add_item(engine, key, sev, when)
        for key, sev, when in [
            ("old-praise", "low", old),
            ("old-criticism", "medium", old),
            ("old-abuse", "high", old),
            ("old-reviewed", "low", old),
            ("old-dismissed", "medium", old),
            ("recent", "low", NOW - timedelta(days=10)),
        ]
    }
    store.add_review(engine, Review(ids["old-reviewed"], NOW - timedelta(days=300), "lw", "reviewed"))
    store.add_review(engine, Review(ids["old-dismissed"], NOW - timedelta(days=300), "lw", "dismissed", note="spam"))

    assert monitor_for(cfg, now=NOW, engine=engine).apply_retention() == 2
    kept = {i.id for i in store.list_items(engine)}
    assert kept == {ids[k] for k in ("old-abuse", "old-reviewed", "old-dismissed", "recent")}
    with engine.connect() as conn:
        evidence_items = {r.item_id for r in conn.execute(schema.evidence.select())}
        bodies = {r.content for r in conn.execute(schema.bodies.select())}
    assert evidence_items == kept
    assert b"<rss>old-praise</rss>" not in bodies and b"<rss>old-abuse</rss>" in bodies
    assert [r.note for r in store.list_reviews(engine, [ids["old-dismissed"]])] == ["spam"]
    assert monitor_for(cfg, now=NOW, engine=engine).apply_retention() == 0


def test_retention_follows_keep_days(make_config):
    cfg = make_config(extra="[storage]\nkeep_days = 30\n")
    engine = monitor_for(cfg).engine
    add_item(engine, "a", "low", NOW - timedelta(days=31))
    add_item(engine, "b", "low", NOW - timedelta(days=29))
    assert monitor_for(cfg, now=NOW, engine=engine).apply_retention() == 1
    assert [i.title for i in store.list_items(engine)] == ["Elm Park Primary b"]


def test_due_sources_follow_the_stored_next_check_and_skip_those_in_flight(make_config):
    cfg = make_config(
        feed_source("Never run", "http://127.0.0.1:9/a")
        + feed_source("Due", "http://127.0.0.1:9/b")
        + feed_source("Later", "http://127.0.0.1:9/c")
        + feed_source("Off", "http://127.0.0.1:9/d", enabled=False)
    )
    engine = monitor_for(cfg).engine
    save_state(engine, SourceState("Due", next_check=NOW - timedelta(days=3)))
    save_state(engine, SourceState("Later", next_check=NOW + timedelta(seconds=1)))
    names = lambda **kw: [s.name for s in monitor_for(cfg, now=NOW, engine=engine).due_sources(**kw)]  # noqa: E731
    assert names() == ["Never run", "Due"]
    assert names(running={"Due"}) == ["Never run"]
    assert [s.name for s in monitor_for(cfg, now=NOW + timedelta(seconds=1), engine=engine).due_sources()] == [
        "Never run",
        "Due",
        "Later",
    ]


def test_a_source_run_on_its_own_stores_its_items_and_its_next_check(httpserver, make_config):
    httpserver.expect_request("/f").respond_with_data(
        rss(("g1", "Elm Park Primary fair", "Fun.")), content_type="application/rss+xml"
    )
    cfg = make_config(feed_source("F", httpserver.url_for("/f"), interval="15m"))
    with monitor_for(cfg, now=NOW) as m:
        run = m.run_source(cfg.sources[0])
        again = m.run_source(cfg.sources[0])
    engine = m.engine
    assert (run.new, run.mentions, run.error) == (1, 1, None) and again.new == 0
    state = store.load_states(engine)["F"]
    assert NOW + timedelta(minutes=15) <= state.next_check <= NOW + timedelta(minutes=16, seconds=30)
    assert monitor_for(cfg, now=NOW + timedelta(minutes=10), engine=engine).due_sources() == []


def test_status_is_unhealthy_without_a_database_or_with_a_stale_heartbeat(make_config):
    cfg = make_config(feed_source("F", "http://127.0.0.1:9/f"))
    st = monitor_for(cfg, now=NOW).status()
    assert not st.healthy and "no database yet" in st.problems[0]
    engine = monitor_for(cfg).engine
    st = monitor_for(cfg, now=NOW).status()
    assert st.healthy and st.heartbeat is None and [s.name for s in st.sources] == ["F"]
    assert st.sources[0].last_checked is None and st.database_bytes > 0
    monitor_for(cfg, now=NOW - timedelta(minutes=4), engine=engine).heartbeat()
    assert monitor_for(cfg, now=NOW).status().healthy
    monitor_for(cfg, now=NOW - timedelta(minutes=6), engine=engine).heartbeat()
    st = monitor_for(cfg, now=NOW).status()
    assert not st.healthy and "heartbeat is 360s old" in st.problems[0]
    monitor_for(cfg, engine=engine).clear_heartbeat()
    assert monitor_for(cfg, now=NOW).status().healthy


def test_status_counts_unsent_emails_and_finds_the_last_digest(make_config):
    cfg = make_config()
    engine = monitor_for(cfg).engine
    with engine.begin() as conn:
        for sent in (None, None, NOW):
            conn.execute(
                schema.outbox.insert().values(
                    created_at=NOW, kind="alert", recipients="[]", subject="s", message=b"m", sent_at=sent
                )
            )
        for day in (8, 9):
            conn.execute(schema.digests.insert().values(at=NOW.replace(day=day, hour=7, minute=30), items=3))
    st = monitor_for(cfg, now=NOW).status()
    assert (st.unsent, st.last_digest) == (2, datetime(2026, 11, 9, 7, 30, tzinfo=UTC))


def test_status_command_and_its_quiet_exit_status(httpserver, make_config, capsys):
    httpserver.expect_request("/f").respond_with_data(
        rss(("g1", "Elm Park Primary fair", "Fun.")), content_type="application/rss+xml"
    )
    cfg = make_config(feed_source("F", httpserver.url_for("/f")) + feed_source("Dead", "http://127.0.0.1:9/x"))
    argv = ["--config", str(cfg.path), "status"]
    assert cli.main(argv + ["--quiet"]) == 1
    assert capsys.readouterr().out == ""
    assert cli.main(["--config", str(cfg.path), "scan"]) == 0
    capsys.readouterr()
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "daemon    not running" in out and "outbox    0 unsent message(s)" in out
    assert "  F: last success 20" in out and "Dead: last success never; failing 1x" in out
    assert "cannot connect to 127.0.0.1" in out and out.rstrip().endswith("health    OK")
    monitor_for(cfg, now=datetime.now(UTC) - timedelta(hours=1)).heartbeat()
    assert cli.main(argv + ["--quiet"]) == 1
    assert cli.main(argv) == 1
    assert "UNHEALTHY: the daemon's last heartbeat is" in capsys.readouterr().out


def test_run_once_scans_the_due_sources_then_nothing_until_their_next_check(httpserver, make_config, capsys):
    httpserver.expect_request("/f").respond_with_data(
        rss(("g1", "Elm Park Primary fair", "Fun.")), content_type="application/rss+xml"
    )
    cfg = make_config(feed_source("F", httpserver.url_for("/f")))
    argv = ["--config", str(cfg.path), "run", "--once"]
    assert cli.main(argv) == 0
    assert "1 source(s), 1 new mention(s), 0 failed" in capsys.readouterr().out
    assert cli.main(argv) == 0
    assert capsys.readouterr().out == "no source is due\n"
    assert len(httpserver.log) == 1


def test_status_is_unhealthy_when_the_database_cannot_be_opened(make_config, capsys):
    cfg = make_config()
    cfg.data_dir.mkdir()
    (cfg.data_dir / "monitor.db").write_bytes(b"this is not a database, " * 100)
    st = monitor_for(cfg, now=NOW).status()
    assert not st.healthy and st.problems[0].startswith("cannot open database sqlite:///")
    assert cli.main(["--config", str(cfg.path), "status"]) == 1
    assert "health    UNHEALTHY: cannot open database" in capsys.readouterr().out


def test_retention_deletes_emails_sent_before_keep_days_but_never_unsent_ones(make_config):
    cfg = make_config(extra="[storage]\nkeep_days = 30\n")
    engine = monitor_for(cfg).engine

    def email(key: str, created: datetime, sent: datetime | None) -> int:
        (outbox_id,) = store.queue_emails(
            engine,
            [
                store.Outgoing(
                    kind="alert",
                    dedupe_key=key,
                    recipients=("sm@elmpark.example.org",),
                    subject=key,
                    message=f"Subject: {key}\r\n\r\nquotes a mention".encode(),
                    item_ids=(),
                )
            ],
            created,
        )
        if sent is not None:
            store.mark_sent(engine, outbox_id, sent)
        return outbox_id

    email("sent-long-ago", NOW - timedelta(days=40), NOW - timedelta(days=40))
    unsent = email("never-sent", NOW - timedelta(days=40), None)
    recent = email("sent-lately", NOW - timedelta(days=40), NOW - timedelta(days=29))
    monitor_for(cfg, now=NOW, engine=engine).apply_retention()
    with engine.connect() as conn:
        left = {r.id for r in conn.execute(schema.outbox.select())}
    assert left == {unsent, recent}
