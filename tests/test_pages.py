"""Page sources: CSS selectors over a forum thread, and whole pages watched for changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor import cli, store
from monitor.config import Source
from monitor.errors import ParseError
from monitor.parse import dates, pages
from monitor.store import schema
from tests.conftest import feed_source, monitor_for, rss

PAGES = Path(__file__).parent / "pages"
NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
URL = "http://forum.example/talk/primary/elm-park"
FORUM = Source(
    name="Forum",
    type="page",
    url=URL,
    item="div.post",
    text=".post-body",
    title="h2",
    author=".author",
    date="time, .date",
    link="a.permalink",
)


def page_source(name: str, url: str, **keys) -> str:
    lines = ["[[source]]", f'name = "{name}"', 'type = "page"', f'url = "{url}"']
    lines += [f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {str(v).lower()}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"


def forum_items():
    return pages.parse_page((PAGES / "forum.html").read_bytes(), source=FORUM, url=URL, now=NOW)


def test_a_forum_thread_gives_one_item_per_visible_post():
    items = forum_items()
    assert [i.author for i in items] == ["HornchurchMum", "YearSixDad", "NoAnchor", "TimeTraveller"]
    first = items[0]
    assert first.title == "Elm Park Primary - thoughts?"
    assert first.text == "We're looking at Elm Park Primary for reception next year.\nAny views on the new head?"
    assert first.url == "http://forum.example/talk/primary/elm-park?reply=101"
    assert first.published == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert first.raw.startswith('<div class="post" id="post-101">') and "<script>" in first.raw  # evidence as served


def test_hidden_text_scripts_and_styles_are_not_text():
    text = "\n".join(i.text for i in forum_items())
    for hidden in (
        "script",
        "hidden attribute",
        "aria hidden",
        "display none",
        "visibility hidden",
        "template",
        "noscript",
        "removed post",
        "footer",
    ):
        assert hidden not in text


def test_links_fall_back_to_the_items_anchor_then_to_a_content_hash():
    items = forum_items()
    assert items[1].url == URL + "#post-102" and items[1].key == "link:" + URL + "#post-102"
    assert items[2].url == URL and items[2].key.startswith("hash:")
    assert [i.key for i in forum_items()] == [i.key for i in items]  # stable identities


def test_dates_attributes_text_relative_and_future():
    items = forum_items()
    assert items[1].published == datetime(2026, 11, 6, 18, 45, 10, tzinfo=UTC)
    assert items[2].published == NOW - timedelta(hours=2)
    assert items[3].published == NOW and "clamped" in items[3].notes[0]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-11-02T09:00:00+01:00", datetime(2026, 11, 2, 8, 0)),
        ("Mon, 02 Nov 2026 09:00:00 GMT", datetime(2026, 11, 2, 9, 0)),
        ("12 March 2026, 10:33 BST", datetime(2026, 3, 12, 9, 33)),
        ("03/04/2026", datetime(2026, 4, 3)),  # day first, as in the UK
        ("Posted by Bob", None),
        ("99/99/9999", None),
    ],
)
def test_parse_date_text(text, expected):
    got = dates.parse_date_text(text, NOW)
    assert got == (expected.replace(tzinfo=UTC) if expected else None)


def test_a_selector_that_matches_nothing_is_an_error():
    source = Source(name="F", type="page", url=URL, item="div.message")
    with pytest.raises(ParseError, match=r"^selector div.message matched nothing; the page layout may have changed$"):
        pages.parse_page((PAGES / "forum.html").read_bytes(), source=source, url=URL, now=NOW)
    with pytest.raises(ParseError, match=r"selector 'div\[' \(item\) is not valid CSS"):
        pages.parse_page(b"<p>x</p>", source=Source(name="F", type="page", url=URL, item="div["), url=URL, now=NOW)


def test_a_wrong_declared_charset_is_survived():
    body = "<html><body><div class='post'>Elm Park Primary raised £500 for the café</div></body></html>"
    items = pages.parse_page(
        body.encode("cp1252"),
        source=Source(name="F", type="page", url=URL, item=".post"),
        url=URL,
        now=NOW,
        encoding="utf-8",
    )
    assert items[0].text == "Elm Park Primary raised £500 for the café"


def test_a_watched_page_is_its_main_content():
    (item,) = pages.parse_page(
        (PAGES / "ofsted.html").read_bytes(), source=Source(name="Ofsted", type="page", url=URL), url=URL, now=NOW
    )
    assert item.title == "Elm Park Primary School - Ofsted report"
    assert item.text == (
        "Elm Park Primary School\nURN: 102345\nLatest inspection: 12 March 2024\nOverall effectiveness: Good"
    )
    body = (
        b"<html><body><nav>Menu</nav><header>Banner</header><p>Elm Park Primary news</p>"
        b"<aside>Ads</aside><footer>Footer</footer></body></html>"
    )
    (item,) = pages.parse_page(body, source=Source(name="W", type="page", url=URL), url=URL, now=NOW)
    assert item.text == "Elm Park Primary news"


def test_added_text():
    assert pages.added_text("a\nb\nc", "a\nb\nnew\nc\nlast") == "new\nlast"
    assert pages.added_text("a\nb", "a\nB") == "B"
    assert pages.added_text("a\nb", "a") == ""


def test_a_page_scan_stores_posts_once_beside_a_feed(httpserver, make_config):
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    httpserver.expect_request("/thread").respond_with_data(
        (PAGES / "forum.html").read_bytes(), content_type="text/html; charset=utf-8"
    )
    httpserver.expect_request("/moved").respond_with_data(
        "<html><body><p>New layout</p></body></html>", content_type="text/html"
    )
    httpserver.expect_request("/feed").respond_with_data(
        rss(("g1", "Elm Park Primary wins", "Chess cup")), content_type="application/rss+xml"
    )
    selectors = dict(item="div.post", text=".post-body", author=".author", date="time", link="a.permalink")
    cfg = make_config(
        page_source("Forum", httpserver.url_for("/thread"), **selectors)
        + page_source("Moved", httpserver.url_for("/moved"), **selectors)
        + feed_source("Feed", httpserver.url_for("/feed"))
    )
    runs = {r.source: r for r in monitor_for(cfg, now=NOW).scan().runs}
    assert (runs["Forum"].seen, runs["Forum"].new) == (4, 4)
    assert runs["Moved"].error == "selector div.post matched nothing; the page layout may have changed"
    assert runs["Feed"].new == 1
    again = {r.source: r for r in monitor_for(cfg, now=NOW).scan().runs}
    assert (again["Forum"].new, again["Forum"].updated) == (0, 0)
    assert len([i for i in monitor_for(cfg).items() if i.source == "Forum"]) == 4


def test_a_watched_page_is_scored_on_what_changed(httpserver, make_config, capsys):
    original = (PAGES / "ofsted.html").read_bytes()
    changed = original.replace(
        b"<p>Overall effectiveness: Good</p>",
        b"<p>Overall effectiveness: Requires improvement</p><p>Pupils' behaviour is poor and leadership is weak.</p>",
    )
    cfg = make_config(page_source("Ofsted", httpserver.url_for("/report"), robots=False))

    def scan(body):
        httpserver.clear()
        httpserver.expect_request("/report").respond_with_data(body, content_type="text/html")
        (run,) = monitor_for(cfg, now=NOW).scan().runs
        return run

    first = scan(original)
    assert (first.new, first.error) == (1, None)
    assert scan(original).updated == 0  # unchanged: nothing to score
    run = scan(changed)
    assert (run.new, run.updated) == (0, 1)  # an edited item, not a new one
    (item,) = monitor_for(cfg).items()
    assert item.text == "Overall effectiveness: Requires improvement\nPupils' behaviour is poor and leadership is weak."
    assert item.title == "Elm Park Primary School - Ofsted report"
    engine = store.connect(cfg.database_url)
    with engine.connect() as conn:
        bodies = [r.content for r in conn.execute(schema.bodies.select())]
    assert changed in bodies  # the whole page kept as evidence
    state = monitor_for(cfg).source_states()["Ofsted"]
    assert "Requires improvement" in state.page_text and state.content_hash


def test_check_shows_each_sources_health(httpserver, make_config, capsys):
    httpserver.expect_request("/feed").respond_with_data(
        rss(("g1", "Elm Park Primary wins", "Chess cup")), content_type="application/rss+xml"
    )
    cfg = make_config(
        feed_source("Feed", httpserver.url_for("/feed"))
        + page_source("Nowhere", "http://127.0.0.1:9/thread", item="div.post", robots=False)
    )
    monitor_for(cfg).scan()
    assert cli.main(["--config", str(cfg.path), "check"]) == 0
    out = capsys.readouterr().out
    assert "Feed [feed, every 1h]" in out and "Nowhere [page, every 1h]" in out
    assert "last success never; failing 1x, last error " in out
