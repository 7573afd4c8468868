"""The feed scan end to end: a local HTTP server, a real SQLite file, the real CLI."""

import json
from datetime import UTC, datetime

from werkzeug import Response

from monitor import cli, config, store
from monitor.store import schema
from tests.conftest import FEEDS, feed_source, monitor_for, rss, write_config

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def serve(httpserver, path, body: bytes, etag: str | None = None, content_type="application/rss+xml"):
    """Serve body at path; answer 304 when the client sends the matching If-None-Match."""

    def handler(request):
        if etag and request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        headers = {"ETag": etag} if etag else {}
        return Response(body, content_type=content_type, headers=headers)

    httpserver.expect_request(path).respond_with_handler(handler)


def test_scan_stores_mentions_and_skips_the_rest(httpserver, make_config):
    serve(httpserver, "/news.xml", (FEEDS / "local-news.xml").read_bytes())
    cfg = make_config(feed_source("Gazette", httpserver.url_for("/news.xml")))
    summary = monitor_for(cfg, now=NOW).scan()
    (run,) = summary.runs
    assert (run.seen, run.new, run.mentions, run.error) == (4, 2, 2, None)
    found = monitor_for(cfg).items()
    assert sorted(i.title for i in found) == [
        "Elm Park Primary pupils raise £2,000 for the food bank",
        "Parents question EPPS admissions decision",
    ]
    raised = next(i for i in found if "food bank" in i.title)
    assert raised.text == "Pupils at Elm Park Primary held a bake sale and sponsored walk."
    assert raised.url == "http://gazette.example/news/1001"  # tracking parameters removed
    assert raised.published == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert raised.status == "new"


def test_second_scan_sends_if_none_match_and_stores_nothing_new(httpserver, make_config):
    serve(httpserver, "/news.xml", (FEEDS / "local-news.xml").read_bytes(), etag='"v1"')
    cfg = make_config(feed_source("Gazette", httpserver.url_for("/news.xml")))
    monitor_for(cfg, now=NOW).scan()
    (run,) = monitor_for(cfg, now=NOW).scan().runs
    assert run.not_modified and run.new == 0
    second = httpserver.log[-1][0]
    assert second.headers.get("If-None-Match") == '"v1"'
    assert len(monitor_for(cfg).items()) == 2


def test_unchanged_feed_without_validators_stores_no_duplicate(httpserver, make_config):
    serve(httpserver, "/news.xml", (FEEDS / "local-news.xml").read_bytes())
    cfg = make_config(feed_source("Gazette", httpserver.url_for("/news.xml")))
    monitor_for(cfg, now=NOW).scan()
    (run,) = monitor_for(cfg, now=NOW).scan().runs
    assert (run.seen, run.new, run.updated) == (4, 0, 0)
    assert len(monitor_for(cfg).items()) == 2


def test_edited_item_is_updated_in_place(httpserver, make_config):
    url_cfg = feed_source("Gazette", httpserver.url_for("/feed"))
    cfg = make_config(url_cfg)
    httpserver.expect_oneshot_request("/feed").respond_with_data(
        rss(("g1", "Elm Park Primary fair", "A lovely day.")), content_type="application/rss+xml"
    )
    monitor_for(cfg, now=NOW).scan()
    httpserver.expect_oneshot_request("/feed").respond_with_data(
        rss(("g1", "Elm Park Primary fair", "A lovely day. Update: raised £500.")), content_type="application/rss+xml"
    )
    (run,) = monitor_for(cfg, now=NOW).scan().runs
    assert (run.new, run.updated) == (0, 1)
    (item,) = monitor_for(cfg).items()
    assert item.text.endswith("raised £500.") and item.updated_at is not None


def test_dead_source_is_reported_while_others_are_stored(httpserver, tmp_path, capsys):
    serve(httpserver, "/news.xml", (FEEDS / "local-news.xml").read_bytes())
    httpserver.expect_request("/gone.xml").respond_with_data("gone", status=410)
    path = write_config(
        tmp_path,
        feed_source("Gone", httpserver.url_for("/gone.xml"))
        + feed_source("Nowhere", "http://127.0.0.1:9/feed.xml")
        + feed_source("Gazette", httpserver.url_for("/news.xml")),
    )
    assert cli.main(["--config", str(path), "scan"]) == 0
    out = capsys.readouterr().out
    assert "Gone" in out and "HTTP 410" in out
    assert "Nowhere" in out and "cannot connect to 127.0.0.1" in out
    assert "1 source(s)" not in out and "2 new mention(s), 2 failed" in out
    states = monitor_for(config.load(path)).source_states()
    assert states["Gone"].failures == 1 and "410" in states["Gone"].last_error
    assert states["Gazette"].last_success is not None and states["Gazette"].failures == 0


def test_all_mentions_keeps_every_item_but_exclusions(httpserver, make_config):
    serve(httpserver, "/alert.atom", (FEEDS / "alert.atom").read_bytes(), content_type="application/atom+xml")
    cfg = make_config(feed_source("Alert", httpserver.url_for("/alert.atom"), all_mentions=True))
    (run,) = monitor_for(cfg, now=NOW).scan().runs
    assert (run.seen, run.mentions) == (2, 1)
    (item,) = monitor_for(cfg).items()
    assert item.title == "Year 6 celebrate their SATs results"


def test_items_json_has_the_documented_fields(httpserver, make_config, capsys):
    serve(httpserver, "/news.xml", (FEEDS / "local-news.xml").read_bytes())
    cfg = make_config(feed_source("Gazette", httpserver.url_for("/news.xml")))
    monitor_for(cfg, now=NOW).scan()
    assert cli.main(["--config", str(cfg.path), "items", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    rows = [json.loads(line) for line in lines]
    assert set(rows[0]) == {
        "id",
        "source",
        "url",
        "title",
        "text",
        "author",
        "published",
        "first_seen",
        "label",
        "severity",
        "sentiment",
        "flags",
        "mentions_staff",
        "status",
    }
    assert all(r["source"] == "Gazette" for r in rows)
    assert cli.main(["--config", str(cfg.path), "items", "--json", "--since", "2099-01-01"]) == 0
    assert capsys.readouterr().out == ""


def test_dates_without_a_date_and_in_the_future(httpserver, make_config):
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><guid>a</guid><title>Elm Park Primary news</title><description>x</description></item>"
        b"<item><guid>b</guid><title>Elm Park Primary later</title><description>y</description>"
        b"<pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item></channel></rss>"
    )
    serve(httpserver, "/f", body)
    cfg = make_config(feed_source("F", httpserver.url_for("/f")))
    monitor_for(cfg, now=NOW).scan()
    items = {i.title: i for i in monitor_for(cfg).items()}
    assert items["Elm Park Primary news"].published == NOW
    assert items["Elm Park Primary later"].published == NOW


def test_evidence_keeps_the_body_as_served(httpserver, make_config):
    body = (FEEDS / "local-news.xml").read_bytes()
    serve(httpserver, "/news.xml", body)
    cfg = make_config(feed_source("Gazette", httpserver.url_for("/news.xml")))
    monitor_for(cfg, now=NOW).scan()
    engine = store.connect(cfg.database_url)
    with engine.connect() as conn:
        rows = conn.execute(schema.evidence.select()).all()
        (stored_body,) = conn.execute(schema.bodies.select()).all()
    assert len(rows) == 2 and stored_body.content == body
    assert all(b"<item>" in r.raw and r.body_sha256 == stored_body.sha256 for r in rows)
