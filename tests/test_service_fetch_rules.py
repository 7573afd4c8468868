"""The fetcher's rules as the service uses them: re-checks of a post added by hand and the desk's
add by hand reach public addresses only; one fetcher paces a host across every source, and the
daemon takes a paced source at a later tick instead of holding a worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor import store
from monitor.errors import InvalidInput
from monitor.store import schema
from tests.conftest import feed_source, monitor_for, rss

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def test_a_post_added_by_hand_is_rechecked_only_at_a_public_address(httpserver, make_config):
    httpserver.expect_request("/post").respond_with_data(
        "<p>Elm Park Primary head is scum</p>", content_type="text/html"
    )
    cfg = make_config()
    m = monitor_for(cfg, now=NOW)
    added, _ = m.add_mention(httpserver.url_for("/post"), text="Elm Park Primary head is scum", by="alice")
    m.review(added.item.id, status="actioned", action="deletion-requested", by="alice")
    asked = len(httpserver.log)
    assert monitor_for(cfg, now=NOW + timedelta(hours=1), engine=m.engine).follow_up() == []
    assert len(httpserver.log) == asked  # 127.0.0.1 is the school's network, as far as a post's link goes
    with m.engine.connect() as conn:
        (result,) = conn.execute(schema.follow_ups.select()).all()
    assert "could not re-check" in result.last_result and "refused" in result.last_result


def test_the_desks_add_by_hand_never_reads_a_private_address(httpserver, make_config):
    httpserver.expect_request("/admin").respond_with_data("secret", content_type="text/plain")
    m = monitor_for(make_config(), now=NOW)
    for text in ("", "Elm Park Primary post"):  # refused outright, with or without the post's text
        with pytest.raises(InvalidInput) as e:
            m.add_mention(httpserver.url_for("/admin"), text=text, by="alice", public_only=True)
        assert "private, loopback or link-local" in str(e.value)
    assert len(httpserver.log) == 0 and m.items() == []


def test_one_fetcher_paces_a_host_across_sources_and_says_when_it_waits(httpserver, make_config):
    body = rss(("g1", "Elm Park Primary fair", "Fun"))
    httpserver.expect_request("/a").respond_with_data(body, content_type="application/rss+xml")
    httpserver.expect_request("/b").respond_with_data(body, content_type="application/rss+xml")
    sources = feed_source("A", httpserver.url_for("/a")) + feed_source("B", httpserver.url_for("/b"))
    cfg = make_config(sources, extra='[hosts."127.0.0.1"]\nmin_gap = "1s"\n')
    m = monitor_for(cfg)
    waits = []
    m.on_wait = lambda host, seconds: waits.append((host, seconds))
    assert not m.scan().failed
    assert [host for host, _ in waits] == ["127.0.0.1"] and 0 < waits[0][1] <= 1
    assert m.due_sources() == [] and len(store.list_items(m.engine)) == 2


def test_the_daemon_leaves_a_paced_source_for_a_later_tick(httpserver, make_config):
    body = rss(("g1", "Elm Park Primary fair", "Fun"))
    httpserver.expect_request("/a").respond_with_data(body, content_type="application/rss+xml")
    sources = feed_source("A", httpserver.url_for("/a")) + feed_source("B", httpserver.url_for("/b"))
    cfg = make_config(sources, extra='[hosts."127.0.0.1"]\nmin_gap = "1h"\n')
    m = monitor_for(cfg)
    a, _ = cfg.sources
    assert m.run_source(a).error is None  # the host's gap starts now
    assert m.due_sources(paced=True) == []  # B would wait an hour for its turn: not now
    assert [s.name for s in m.due_sources()] == ["B"]  # it is due, all the same
