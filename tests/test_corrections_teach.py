"""Corrections teach the monitor: a near-duplicate of a mention a person corrected takes the label
they gave it (flag example:#ID) and is alerted, or quieted, as that label says; off with
[scoring] learn_from_corrections = false. The posts' own scores come from the real scorer; what is
tested is that the correction, not the scorer, decides the copies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import feed_source, monitor_for, rss

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
VEILED = "Somebody at Elm Park Primary should keep an eye on which car Mrs Woods drives home in, just saying."
FALSE_ALARM = "The Year 6 team absolutely murdered St Mary's at Elm Park Primary sports day, what a slaughter!"


def serve(httpserver, *posts: tuple[str, str]) -> None:
    body = rss(*((guid, "", text) for guid, text in posts))
    httpserver.clear()
    httpserver.expect_request("/f").respond_with_data(body, content_type="application/rss+xml")


def scan(cfg, now, engine=None):
    m = monitor_for(cfg, now=now, engine=engine)
    summary = m.scan()
    return m, summary


def test_a_repost_of_a_corrected_threat_takes_its_label_and_is_alerted(httpserver, make_config):
    serve(httpserver, ("g1", VEILED))
    cfg = make_config(feed_source("Forum", httpserver.url_for("/f")))
    m, _ = scan(cfg, NOW)
    (first,) = m.items()
    if first.label == "abuse":  # the rules caught it already: correct it the other way to test the copy
        m.correct_label(first.id, label="criticism", note="a parent's worry, not a threat", by="alice")
        wanted = "criticism"
    else:
        m.correct_label(first.id, label="abuse", note="a veiled threat about her car", by="alice")
        wanted = "abuse"
    serve(httpserver, ("g1", VEILED), ("g2", VEILED.replace("just saying", "just saying...") + " #EPPS"))
    m2, summary = scan(cfg, NOW + timedelta(hours=2), m.engine)
    copy = next(i for i in m2.items() if i.id != first.id)
    assert copy.label == wanted and f"example:#{first.id}" in copy.flags
    if wanted == "abuse":
        assert summary.alerts_queued >= 1


def test_a_false_alarm_corrected_to_praise_quiets_its_copies(httpserver, make_config):
    serve(httpserver, ("g1", FALSE_ALARM))
    cfg = make_config(feed_source("Forum", httpserver.url_for("/f")))
    m, _ = scan(cfg, NOW)
    (first,) = m.items()
    m.correct_label(first.id, label="praise", note="sports talk", by="alice")
    serve(httpserver, ("g1", FALSE_ALARM), ("g2", "Repost: " + FALSE_ALARM))
    m2, summary = scan(cfg, NOW + timedelta(hours=2), m.engine)
    copy = next(i for i in m2.items() if i.id != first.id)
    assert (copy.label, copy.severity) == ("praise", "low") and f"example:#{first.id}" in copy.flags
    assert summary.alerts_queued == 0


def test_learning_can_be_turned_off(httpserver, make_config):
    serve(httpserver, ("g1", FALSE_ALARM))
    cfg = make_config(
        feed_source("Forum", httpserver.url_for("/f")), extra="[scoring]\nlearn_from_corrections = false\n"
    )
    m, _ = scan(cfg, NOW)
    (first,) = m.items()
    m.correct_label(first.id, label="neutral" if first.label != "neutral" else "criticism", by="alice")
    serve(httpserver, ("g1", FALSE_ALARM), ("g2", "Repost: " + FALSE_ALARM))
    m2, _ = scan(cfg, NOW + timedelta(hours=2), m.engine)
    copy = next(i for i in m2.items() if i.id != first.id)
    assert not any(f.startswith("example:") for f in copy.flags)
