"""The daily digest: each new mention once, never twice; grouped and counted; failing sources,
removed posts and what is not watched; queued and marked in one transaction."""

from __future__ import annotations

from datetime import timedelta

from monitor import cli, store
from monitor.models import Review, SourceState
from tests.conftest import feed_source, monitor_for, save_state
from tests.test_alerts import NOW, alerts_table, free_port, make_cfg, seed, smtp, smtp_table, start_smtp  # noqa: F401

MORNING = NOW + timedelta(days=1)


def digest_text(recorder, n=-1) -> str:
    return recorder.messages()[n].get_body(("plain",)).get_content()


def test_the_digest_lists_each_new_mention_once_and_never_again(tmp_path, smtp):
    cfg = make_cfg(tmp_path, alerts_table() + smtp_table(smtp.port))
    ids, engine = seed(
        cfg,
        ("abuse", "First: staff are scum"),
        ("criticism", "Second: the car park is chaos"),
        ("praise", "Third: a lovely nativity"),
        ("neutral", "Fourth: the term dates"),
    )
    result = monitor_for(cfg, now=MORNING, engine=engine).send_digest()
    assert (result.items, result.queued, result.flushed.sent) == (4, True, 1)
    text = digest_text(smtp)
    for title in ("First", "Second", "Third", "Fourth"):
        assert text.count(f"{title}:") == 1
    assert all(i.digested_at == MORNING for i in store.list_items(engine))

    for item_id in ids[:2]:
        store.add_review(engine, Review(item_id=item_id, at=MORNING, by="ls", status="reviewed"))
    seed(cfg, ("praise", "Fifth: sports day"), now=MORNING + timedelta(hours=2))
    second = monitor_for(cfg, now=MORNING + timedelta(days=1), engine=engine).send_digest()
    assert second.items == 1
    text = digest_text(smtp)
    assert "Fifth:" in text and not any(t in text for t in ("First", "Second", "Third", "Fourth"))

    third = monitor_for(cfg, now=MORNING + timedelta(days=2), engine=engine).send_digest()
    assert third.email is None and not third.queued and len(smtp.envelopes) == 2


def test_grouped_by_label_most_severe_first_with_counts_at_the_top(tmp_path, smtp):
    cfg = make_cfg(tmp_path, alerts_table() + smtp_table(smtp.port))
    _, engine = seed(
        cfg,
        ("praise", "Praise one"),
        ("criticism", "Criticism one"),
        ("praise", "Praise two"),
        ("extremism", "Extremism one"),
        ("neutral", "Neutral one"),
    )
    monitor_for(cfg, now=MORNING, engine=engine).send_digest()
    (msg,) = smtp.messages()
    text = digest_text(smtp)
    assert "5 new mentions: 1 extremism, 1 criticism, 2 praise, 1 neutral" in text.splitlines()[2]
    order = [text.index(h) for h in ("== EXTREMISM (1)", "== CRITICISM (1)", "== PRAISE (2)", "== NEUTRAL (1)")]
    assert order == sorted(order)
    assert "https://mumsnet.example/t/" in text and "Mumsnet" in text
    assert "5 new, 1 high" in msg["Subject"]
    assert '<a href="https://mumsnet.example/t/' in msg.get_body(("html",)).get_content()


def test_failing_sources_removed_posts_awaiting_review_and_what_is_not_watched(tmp_path, smtp):
    sources = (
        feed_source("Broken forum", "http://127.0.0.1:9/feed")
        + feed_source("Flaky", "http://127.0.0.1:9/f")
        + feed_source("Fine", "http://127.0.0.1:9/ok")
    )
    cfg = make_cfg(
        tmp_path,
        alerts_table(failing_after='"1d"', not_watched='["TikTok", "private Facebook groups"]')
        + smtp_table(smtp.port)
        + sources,
    )
    ids, engine = seed(cfg, ("abuse", "Old abuse still to review"), ("criticism", "Post that was taken down"))
    monitor_for(cfg, now=NOW, engine=engine).send_digest()  # yesterday's digest: both listed then
    save_state(
        engine,
        SourceState(
            name="Broken forum", failures=2, last_success=NOW - timedelta(days=3), last_error="HTTP 404: not found"
        ),
    )
    save_state(
        engine, SourceState(name="Flaky", failures=1, last_success=MORNING - timedelta(hours=2), last_error="timed out")
    )
    store.add_review(
        engine,
        Review(
            item_id=ids[1],
            at=NOW + timedelta(hours=3),
            by="ls",
            status="actioned",
            action="removed",
            note="gone after our request",
        ),
    )
    result = monitor_for(cfg, now=MORNING, engine=engine).send_digest()
    assert result.queued and result.items == 0  # nothing new, but a broken collector is news
    text = digest_text(smtp)
    assert "No new mentions." in text
    assert "Broken forum: failed 2 times in a row" in text and "HTTP 404: not found" in text
    assert "Flaky" not in text  # failing for two hours only
    assert "== THE POST HAS GONE (1)" in text and "gone after our request" in text
    assert "STILL AWAITING REVIEW (1)" in text and "Old abuse still to review" in text
    assert "The monitor cannot see: TikTok, private Facebook groups." in text
    assert "school-monitor add --url URL --text TEXT --seen-on PLATFORM" in text


def test_no_digest_when_nothing_is_new_unless_asked(tmp_path, smtp):
    cfg = make_cfg(tmp_path, alerts_table() + smtp_table(smtp.port))
    assert monitor_for(cfg, now=MORNING).send_digest().email is None and smtp.envelopes == []
    cfg = make_cfg(tmp_path, alerts_table(digest_when_empty="true") + smtp_table(smtp.port))
    assert monitor_for(cfg, now=MORNING).send_digest().flushed.sent == 1
    assert "No new mentions." in digest_text(smtp)


def test_a_digest_that_cannot_be_sent_is_queued_marked_and_sent_once_later(tmp_path):
    port = free_port()
    cfg = make_cfg(tmp_path, alerts_table() + smtp_table(port))
    _, engine = seed(cfg, ("praise", "Great Elm Park Primary fair"))
    result = monitor_for(cfg, now=MORNING, engine=engine).send_digest()
    assert result.queued and (result.flushed.failed, result.flushed.waiting) == (1, 1)
    assert monitor_for(cfg, now=MORNING + timedelta(minutes=5), engine=engine).send_digest().email is None
    controller, recorder = start_smtp(port)
    try:
        assert monitor_for(cfg, now=MORNING + timedelta(minutes=5), engine=engine).flush_outbox().sent == 1
        assert monitor_for(cfg, now=MORNING + timedelta(hours=5), engine=engine).flush_outbox().sent == 0
    finally:
        controller.stop()
    assert len(recorder.envelopes) == 1 and "Great Elm Park Primary fair" in digest_text(recorder)


def test_cli_digest_prints_without_marking_and_send_marks(tmp_path, smtp, capsys):
    cfg = make_cfg(tmp_path, alerts_table() + smtp_table(smtp.port))
    seed(cfg, ("criticism", "Elm Park Primary pick-up is chaos"))
    args = ["--config", str(cfg.path), "digest"]
    assert cli.main(args) == 0 and cli.main(args) == 0
    out = capsys.readouterr().out
    assert out.count("Elm Park Primary pick-up is chaos") == 2 and smtp.envelopes == []
    assert cli.main(args + ["--send"]) == 0
    assert "digest of 1 new mention(s) queued" in capsys.readouterr().out and len(smtp.envelopes) == 1
    assert cli.main(args + ["--send"]) == 0
    assert "nothing new" in capsys.readouterr().out and len(smtp.envelopes) == 1
    assert cli.main(args + ["--since", "not a date"]) == 2
