"""The review log, evidence, the follow-up of take-down requests and mentions added by hand: real
local HTTP server, real SQLite file, the real CLI."""

import hashlib
import json
from datetime import timedelta

from werkzeug import Response

from monitor import cli, config, store
from monitor.service import followups
from tests.conftest import feed_source, monitor_for, write_config
from tests.test_scan import NOW

POST = "Elm Park Primary is a terrible school, awful and a disgrace, parents should complain"


def post_feed(httpserver) -> bytes:
    link = httpserver.url_for("/thread/7")
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Forum</title>'
        f"<item><guid>p7</guid><title>About EPPS</title><link>{link}</link>"
        f"<description>{POST}</description><pubDate>Mon, 09 Nov 2026 09:00:00 GMT</pubDate></item>"
        f"</channel></rss>"
    ).encode()


def page(text: str) -> str:
    return (
        f"<!DOCTYPE html><html><head><title>Thread 7</title><script>var x = 1;</script></head><body>"
        f"<div class='post'><p class='body'>{text}</p></div><p>Other replies.</p></body></html>"
    )


def scanned(httpserver, tmp_path):
    """A forum feed with one post (its page served too), scanned once; returns (config path, item id, feed)."""
    feed = post_feed(httpserver)
    httpserver.expect_request("/feed").respond_with_data(feed, content_type="application/rss+xml")
    path = write_config(tmp_path, feed_source("Forum", httpserver.url_for("/feed")))
    assert cli.main(["--config", str(path), "scan"]) == 0
    (item,) = monitor_for(config.load(path)).items()
    return path, item.id, feed


def test_review_log_is_append_only_and_status_is_the_latest(httpserver, tmp_path, capsys):
    path, item_id, _ = scanned(httpserver, tmp_path)
    cfg = config.load(path)
    assert (
        cli.main(
            [
                "--config",
                str(path),
                "review",
                str(item_id),
                "--status",
                "reviewed",
                "--by",
                "alice",
                "--note",
                "first look",
            ]
        )
        == 0
    )
    assert (
        cli.main(
            [
                "--config",
                str(path),
                "review",
                str(item_id),
                "--status",
                "actioned",
                "--by",
                "bob",
                "--action",
                "deletion-requested",
                "--note",
                "emailed the forum",
            ]
        )
        == 0
    )
    log = store.list_reviews(store.connect(cfg.database_url), [item_id])
    assert [(r.by, r.status, r.action, r.note) for r in log] == [
        ("alice", "reviewed", None, "first look"),
        ("bob", "actioned", "deletion-requested", "emailed the forum"),
    ]
    assert monitor_for(cfg).items()[0].status == "actioned"
    capsys.readouterr()
    assert cli.main(["--config", str(path), "show", str(item_id)]) == 0
    out = capsys.readouterr().out
    assert POST in out and "review log: 2 entries" in out
    assert out.index("alice: reviewed") < out.index("bob: actioned, deletion-requested — emailed the forum")
    assert "evidence: 1 version(s)" in out


def test_evidence_is_byte_identical_to_what_was_served(httpserver, tmp_path, capsys):
    path, item_id, feed = scanned(httpserver, tmp_path)
    out_dir = tmp_path / "evidence"
    assert cli.main(["--config", str(path), "evidence", str(item_id), "-o", str(out_dir)]) == 0
    folder = out_dir / "version-1"
    assert (folder / "body.xml").read_bytes() == feed
    assert POST.encode() in (folder / "fragment.xml").read_bytes()
    assert (folder / "text.txt").read_text(encoding="utf-8") == POST
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["url"] == httpserver.url_for("/thread/7") and manifest["fetched_at"]
    assert manifest["body"]["url"] == httpserver.url_for("/feed")
    for name, entry in manifest["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == entry["sha256"]
    assert cli.main(["--config", str(path), "evidence", "999", "-o", str(out_dir)]) == 2


def test_follow_up_records_removed_only_when_the_post_has_gone(httpserver, make_config):
    served = {"status": 200, "text": POST}

    def thread(_request):
        return Response(page(served["text"]), status=served["status"], content_type="text/html")

    httpserver.expect_request("/thread/7").respond_with_handler(thread)
    httpserver.expect_request("/feed").respond_with_data(post_feed(httpserver), content_type="application/rss+xml")
    cfg = make_config(feed_source("Forum", httpserver.url_for("/feed")))
    engine = store.connect(cfg.database_url)
    monitor_for(cfg, now=NOW, engine=engine).scan()
    (item,) = store.list_items(engine)
    monitor_for(cfg, now=NOW, engine=engine).review(
        item.id, status="actioned", action="reported-to-platform", by="alice"
    )

    def checks():
        return sum(1 for req, _ in httpserver.log if req.path == "/thread/7")

    assert monitor_for(cfg, now=NOW + timedelta(hours=1), engine=engine).scan().removed == ()
    assert checks() == 1
    assert monitor_for(cfg, now=NOW + timedelta(hours=2), engine=engine).scan().removed == ()
    assert checks() == 1  # not due again yet: re-checked every few hours, not every scan

    served["status"] = 404
    later = NOW + timedelta(hours=1) + followups.FOLLOW_UP_EVERY
    assert monitor_for(cfg, now=later, engine=engine).scan().removed == (item.id,)
    last = store.list_reviews(engine, [item.id])[-1]
    assert (last.by, last.status, last.action, last.at) == ("school-monitor", "actioned", "removed", later)
    assert "HTTP 404" in last.note
    assert store.get_item(engine, item.id).status == "actioned"
    monitor_for(cfg, now=later + timedelta(days=2), engine=engine).scan()
    assert checks() == 2  # once removed, never re-checked
    assert len(store.list_reviews(engine, [item.id])) == 2


def deletion_requested(httpserver, make_config):
    """The forum feed scanned, its one post asked to be deleted: (cfg, engine, item)."""
    httpserver.expect_request("/feed").respond_with_data(post_feed(httpserver), content_type="application/rss+xml")
    cfg = make_config(feed_source("Forum", httpserver.url_for("/feed")))
    engine = store.connect(cfg.database_url)
    monitor_for(cfg, now=NOW, engine=engine).scan()
    (item,) = store.list_items(engine)
    monitor_for(cfg, now=NOW, engine=engine).review(item.id, status="actioned", action="deletion-requested", by="alice")
    return cfg, engine, item


def test_follow_up_notices_a_post_deleted_from_a_page_that_is_still_there(httpserver, make_config):
    served = {"text": POST}
    httpserver.expect_request("/thread/7").respond_with_handler(
        lambda _r: Response(page(served["text"]), content_type="text/html")
    )
    cfg, engine, item = deletion_requested(httpserver, make_config)
    assert monitor_for(cfg, now=NOW, engine=engine).scan().removed == ()  # seen on its page: the baseline
    served["text"] = "Thread 7 has a lovely reply."
    assert monitor_for(cfg, now=NOW + followups.FOLLOW_UP_EVERY, engine=engine).scan().removed == (item.id,)
    assert "no longer contains the post's text" in store.list_reviews(engine, [item.id])[-1].note


def test_follow_up_never_takes_a_missing_feed_summary_for_a_deletion(httpserver, make_config):
    """A feed's summary of an article need not appear in the article's page: only a 404/410 counts."""
    httpserver.expect_request("/thread/7").respond_with_data(
        page("The full article, in other words."), content_type="text/html"
    )
    cfg, engine, item = deletion_requested(httpserver, make_config)
    for n in range(3):
        assert monitor_for(cfg, now=NOW + n * followups.FOLLOW_UP_EVERY, engine=engine).scan().removed == ()
    assert [r.action for r in store.list_reviews(engine, [item.id])] == ["deletion-requested"]


def test_a_later_action_stops_the_follow_up(httpserver, make_config):
    httpserver.expect_request("/feed").respond_with_data(post_feed(httpserver), content_type="application/rss+xml")
    cfg = make_config(feed_source("Forum", httpserver.url_for("/feed")))
    engine = store.connect(cfg.database_url)
    monitor_for(cfg, now=NOW, engine=engine).scan()
    (item,) = store.list_items(engine)
    monitor_for(cfg, now=NOW, engine=engine).review(item.id, status="actioned", action="deletion-requested", by="a")
    monitor_for(cfg, now=NOW, engine=engine).review(item.id, status="actioned", action="responded", by="a")
    assert store.due_follow_ups(engine, NOW + timedelta(days=1)) == []


def test_add_a_mention_from_a_reachable_page(httpserver, tmp_path, capsys):
    httpserver.expect_request("/group/post").respond_with_data(page(POST), content_type="text/html")
    path = write_config(tmp_path)
    url = httpserver.url_for("/group/post")
    assert (
        cli.main(
            [
                "--config",
                str(path),
                "add",
                "--url",
                url,
                "--seen-on",
                "Facebook",
                "--by",
                "carol",
                "--note",
                "a parent sent a screenshot",
            ]
        )
        == 0
    )
    cfg = config.load(path)
    (item,) = monitor_for(cfg).items()
    assert capsys.readouterr().out.startswith(f"added #1: {item.label} {item.severity} [new]")
    assert item.source == "added by hand: Facebook" and POST in item.text and "var x" not in item.text
    score = monitor_for(cfg).classify(item.text)
    assert (item.label, item.severity, item.sentiment) == (score.label, score.severity, score.sentiment)
    assert item.label in ("criticism", "abuse")
    engine = store.connect(cfg.database_url)
    (entry,) = store.list_reviews(engine, [item.id])
    assert (entry.by, entry.status, entry.note) == (
        "carol",
        "new",
        "added by hand (seen on Facebook): a parent sent a screenshot",
    )
    (ev,) = store.list_evidence(engine, item.id)
    assert ev.body == page(POST).encode() and ev.url == url
    assert cli.main(["--config", str(path), "add", "--url", url, "--by", "carol", "--seen-on", "Facebook"]) == 0
    assert capsys.readouterr().out.startswith("already stored as #1")


def test_add_a_mention_when_the_url_cannot_be_fetched(tmp_path, capsys):
    path = write_config(tmp_path)
    url = "http://127.0.0.1:9/private-group/123"
    assert cli.main(["--config", str(path), "add", "--url", url, "--by", "dave"]) == 2
    assert "paste what it says with --text" in capsys.readouterr().err
    text = "Someone in the WhatsApp group says Mrs Sale at Elm Park Primary is useless"
    assert (
        cli.main(["--config", str(path), "add", "--url", url, "--text", text, "--seen-on", "WhatsApp", "--by", "dave"])
        == 0
    )
    assert "could not be fetched" in capsys.readouterr().err
    (item,) = monitor_for(config.load(path)).items()
    assert item.text == text and item.source == "added by hand: WhatsApp"
    score = monitor_for(config.load(path)).classify(text)
    assert (item.label, item.severity, item.mentions_staff) == (score.label, score.severity, score.mentions_staff)


def test_add_keeps_a_mention_the_finder_would_have_excluded(tmp_path, capsys):
    path = write_config(tmp_path)
    text = "Parking chaos outside the school on Elm Park Road again at pick-up"
    assert (
        cli.main(["--config", str(path), "add", "--url", "http://127.0.0.1:9/x", "--text", text, "--by", "erin"]) == 0
    )
    (item,) = monitor_for(config.load(path)).items()
    assert item.label != "offtopic" and item.source == "added by hand: 127.0.0.1"


def test_a_mention_added_by_hand_alerts_at_once(tmp_path, capsys):
    path = write_config(tmp_path)
    text = "In the parents' WhatsApp: Mrs Sale at Elm Park Primary is a vile cow and someone should slap her"
    assert (
        cli.main(
            [
                "--config",
                str(path),
                "add",
                "--url",
                "http://127.0.0.1:9/chat/1",
                "--text",
                text,
                "--seen-on",
                "WhatsApp",
                "--by",
                "dave",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    (item,) = monitor_for(config.load(path)).items()
    assert item.label == "abuse" and "1 alert message(s) queued" in out
    sent = list((tmp_path / "data" / "outbox").glob("*.eml"))  # no [smtp]: delivered as a file
    assert len(sent) == 1 and f"#{item.id}" in sent[0].read_text(encoding="utf-8")
