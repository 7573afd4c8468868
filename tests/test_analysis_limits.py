"""Analysis is bounded per source by the source's own timeout: a body whose posts take longer than
that to read is that source's error, not a daemon worker held for hours. The clock is passed in,
so the test counts time instead of spending it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from monitor.models import FetchResult
from monitor.service.analysis import analyse
from monitor.service.classify import Classifier
from tests.conftest import feed_source, rss

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
BODY = rss(*((f"g{i}", f"Elm Park Primary post {i}", "Lovely school") for i in range(10)))


def fetched() -> FetchResult:
    return FetchResult(url="http://127.0.0.1/f", status=200, body=BODY, content_type="application/rss+xml")


def test_a_body_slower_to_analyse_than_the_source_timeout_is_that_sources_error(make_config):
    cfg = make_config(feed_source("F", "http://127.0.0.1/f", timeout="5s"))
    (src,) = cfg.sources
    ticks = count()  # each look at the clock is a second later: ten posts take about ten seconds
    done = analyse(Classifier(cfg), src, fetched(), None, NOW - timedelta(days=365), NOW, clock=lambda: next(ticks))
    assert done.error is not None and "took over 5s to analyse" in str(done.error)
    assert done.scored == ()


def test_within_its_time_a_body_is_analysed_in_full(make_config):
    cfg = make_config(feed_source("F", "http://127.0.0.1/f", timeout="5s"))
    (src,) = cfg.sources
    done = analyse(Classifier(cfg), src, fetched(), None, NOW - timedelta(days=365), NOW, clock=lambda: 0.0)
    assert done.error is None and done.seen == 10 and len(done.scored) == 10
