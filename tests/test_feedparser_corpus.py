"""Every feed of feedparser's own test suite, served locally, goes through the collector without an
exception escaping: each source ends as items or as a clear per-source error."""

import pytest

from monitor import config
from tests.conftest import FEEDPARSER_TESTS, feed_source, monitor_for, write_config

pytestmark = pytest.mark.skipif(
    not FEEDPARSER_TESTS.is_dir(), reason=f"{FEEDPARSER_TESTS} is absent (it sits in ../shared beside the clone)"
)


def corpus_files():
    return sorted(p for p in FEEDPARSER_TESTS.rglob("*") if p.is_file() and p.name != "LICENSE")


def test_every_corpus_feed_passes_through_the_collector(httpserver, tmp_path):
    files = corpus_files()
    assert len(files) > 1000
    for n, path in enumerate(files):
        httpserver.expect_request(f"/{n}").respond_with_data(path.read_bytes(), content_type="application/xml")
    sources = "".join(feed_source(f"f{n}", httpserver.url_for(f"/{n}"), all_mentions=True) for n in range(len(files)))
    cfg = config.load(write_config(tmp_path, sources))
    summary = monitor_for(cfg).scan()
    assert len(summary.runs) == len(files)
    unexpected = [r for r in summary.runs if r.error and "Error:" in r.error and "not a feed" not in r.error]
    assert not unexpected, unexpected[:5]
    ok = [r for r in summary.runs if not r.error]
    assert len(ok) > len(files) * 0.8  # most of the corpus is valid feeds
    assert len(monitor_for(cfg).items()) > 500
