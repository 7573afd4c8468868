"""One bad thing spoils only itself: a bad field of an item is dropped (with a note), the item and
its neighbours are kept; text fit for any database; linear work on inputs built to be quadratic;
any charset a server names. Work is bounded by counting the Python lines run, never by a clock."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import pytest

from monitor.config import Source
from monitor.errors import ParseError
from monitor.parse import dates, feeds, pages
from monitor.parse import text as parse_text

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
URL = "http://forum.example/talk/elm-park"
ABUSE = "The head of Elm Park Primary is a disgrace and should be sacked"


class TooMuchWork(BaseException):
    """Raised inside the traced code; BaseException, so that no `except Exception` swallows it."""


def python_lines(fn, limit: int) -> int:
    """How many Python lines `fn()` ran; fails as soon as it passes `limit` (so a quadratic run ends
    fast instead of taking minutes)."""
    count = 0

    def trace(frame, event, arg):
        nonlocal count
        count += 1
        if count > limit:
            raise TooMuchWork
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        fn()
    except TooMuchWork:
        pytest.fail(f"more than {limit:,} Python lines run")
    finally:
        sys.settrace(previous)
    return count


# ---------------------------------------------------------------- feeds


def rss_items(*items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Local</title>'
        "<link>http://news.example/</link><description>d</description>" + "".join(items) + "</channel></rss>"
    ).encode()


def rss_item(guid: str, title: str, text: str, link: str = "", date: str = "", author: str = "") -> str:
    return (
        f'<item><guid isPermaLink="false">{guid}</guid><title>{title}</title><description>{text}</description>'
        + (f"<link>{link}</link>" if link else "")
        + (f"<pubDate>{date}</pubDate>" if date else "")
        + (f"<author>{author}</author>" if author else "")
        + "</item>"
    )


@pytest.mark.parametrize(
    "link",
    ["http://example.org:99999/p", "http://[x", "http://[::1/p", "http://exa mple.org/p", "http://example.org:-1/"],
)
def test_a_bad_link_in_a_feed_drops_only_the_link(link):
    body = rss_items(
        rss_item("bad", "A post with a broken link", "Nothing wrong with the words", link=link),
        rss_item("abuse", "Elm Park Primary", ABUSE, link="http://news.example/2"),
    )
    items = feeds.parse_feed(body, source="Local", url="http://news.example/rss", now=NOW)
    assert [i.title for i in items] == ["A post with a broken link", "Elm Park Primary"]
    assert items[0].text == "Nothing wrong with the words" and items[0].key == "guid:bad"
    assert items[1].text == ABUSE and items[1].url == "http://news.example/2"


def test_a_feed_date_out_of_range_drops_only_the_date():
    body = rss_items(
        rss_item("far", "From the far future", "words", date="9999-12-31T23:59:59-05:00"),
        rss_item("old", "From long ago", "words", date="0001-01-01T00:00:00+01:00"),
        rss_item("abuse", "Elm Park Primary", ABUSE, date="Mon, 02 Nov 2026 09:00:00 GMT"),
    )
    items = feeds.parse_feed(body, source="Local", url="http://news.example/rss", now=NOW)
    assert [i.title for i in items] == ["From the far future", "From long ago", "Elm Park Primary"]
    assert items[2].published == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_control_characters_never_reach_an_item_field():
    """A NUL aborts a PostgreSQL insert; escapes and bidi overrides fool a reader. Newlines stay."""
    body = rss_items(
        '<item><guid isPermaLink="false">g\x00u\x01id</guid><title>Elm\x00 Park\x1b[31m\u202e Primary</title>'
        "<description>first\x00 line\nsecond\x07 line</description>"
        "<link>http://news.example/p\x00o\x01st</link><author>Mr\x0b X</author></item>"
    )
    (item,) = feeds.parse_feed(body, source="Local", url="http://news.example/rss", now=NOW)
    fields = (item.key, item.url, item.title, item.text, item.author)
    assert not [f for f in fields if any((ord(c) < 32 and c not in "\n\t") or c in "\x7f\u202e" for c in f)], fields
    assert "\x00" not in item.raw  # the evidence is kept as served, less what no database takes
    assert (item.key, item.url) == ("guid:guid", "http://news.example/post")
    assert item.title == "Elm Park[31m Primary" and item.author == "Mr X"
    assert item.text == "first line\nsecond line"


def test_nul_bytes_and_controls_in_a_page_are_dropped():
    body = (
        b'<div class="post" id="p\x001"><h2>Ti\x00tle\x01</h2><span class="a">Au\x00thor</span>'
        b"<p>line one\x00</p><p>line \x1b two</p></div>"
    )
    source = Source(name="F", type="page", url=URL, item="div.post", title="h2", author=".a")
    (item,) = pages.parse_page(body, source=source, url=URL, now=NOW)
    fields = (item.key, item.url, item.title, item.text, item.author)
    assert not [f for f in fields if "\x00" in f or "\x1b" in f or "\x01" in f], fields
    assert "\x00" not in item.raw
    assert item.text.splitlines()[-1] == "line two"


# ---------------------------------------------------------------- pages


FORUM = Source(
    name="F", type="page", url=URL, item="div.post", text="p", link="a.permalink", date="time", author=".author"
)


def post(text: str, href: str = "", date: str = "", author: str = "someone") -> str:
    return (
        f'<div class="post"><span class="author">{author}</span>'
        + (f'<a class="permalink" href="{href}">link</a>' if href else "")
        + (f'<time datetime="{date}">when</time>' if date else "")
        + f"<p>{text}</p></div>"
    )


@pytest.mark.parametrize(
    "href", ["http://example.org:99999/p", "http://[x", "http://[::1/p", "http://example.org:-1/", "http://a b/"]
)
def test_a_bad_href_on_a_page_drops_only_the_link(href):
    body = ("<html><body>" + post("A post with a broken link", href=href) + post(ABUSE) + "</body></html>").encode()
    items = pages.parse_page(body, source=FORUM, url=URL, now=NOW)
    assert [i.text for i in items] == ["A post with a broken link", ABUSE]
    assert items[0].url == URL  # no link of its own: the page's
    assert any("link" in n for n in items[0].notes)


@pytest.mark.parametrize(
    "date", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+01:00", "99999999999999999999", "10000-01-01"]
)
def test_a_page_date_out_of_range_drops_only_the_date(date):
    body = ("<html><body>" + post("A post from nowhen", date=date) + post(ABUSE, date="2026-11-02T09:00:00Z")).encode()
    items = pages.parse_page(body, source=FORUM, url=URL, now=NOW)
    assert [i.text.splitlines()[-1] for i in items] == ["A post from nowhen", ABUSE]
    assert items[0].published in (None, NOW)
    assert items[1].published == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_parse_date_text_never_raises_on_dates_past_the_calendar():
    assert dates.parse_date_text("9999-12-31T23:59:59-05:00", NOW) is None
    assert dates.parse_date_text("0001-01-01T00:00:00+01:00", NOW) is None
    assert dates.parse_date_text("12 March 2026, 10:33 BST", NOW) == datetime(2026, 3, 12, 9, 33, tzinfo=UTC)


def test_a_bad_selector_still_fails_the_whole_source():
    """A selector that is not CSS is the configuration's fault, the same on every item: an error."""
    source = Source(name="F", type="page", url=URL, item="div.post", author="span[")
    with pytest.raises(ParseError, match=r"\(author\) is not valid CSS"):
        pages.parse_page(post("x").encode(), source=source, url=URL, now=NOW)


# ---------------------------------------------------------------- nested items


def nested(depth: int) -> bytes:
    opening = "".join(f'<div class="post"><span class="author">a{n}</span><p>post {n}</p>' for n in range(depth))
    return ("<html><body>" + opening + "</div>" * depth + "</body></html>").encode()


def test_nested_items_are_each_their_own_post():
    """A threaded discussion (a reply inside the post it answers): each post is one item with its
    own text and author, not its replies' as well."""
    source = Source(name="F", type="page", url=URL, item="div.post", author=".author")
    items = pages.parse_page(nested(3), source=source, url=URL, now=NOW)
    assert [(i.author, i.text) for i in items] == [("a0", "a0\npost 0"), ("a1", "a1\npost 1"), ("a2", "a2\npost 2")]
    assert "post 1" not in items[0].raw and "post 2" in items[2].raw


def test_a_hidden_item_hides_the_items_inside_it():
    body = (
        b'<div class="post"><p>shown</p><div style="display:none"><div class="post"><p>hidden</p></div></div>'
        b'<div class="post" hidden><p>also hidden</p><div class="post"><p>inside hidden</p></div></div></div>'
    )
    items = pages.parse_page(body, source=Source(name="F", type="page", url=URL, item="div.post"), url=URL, now=NOW)
    assert [i.text for i in items] == ["shown"]


def test_deeply_nested_items_take_linear_work():
    source = Source(name="F", type="page", url=URL, item="div.post", author=".author", text="p")
    pages.parse_page(nested(2), source=source, url=URL, now=NOW)  # selectors compiled once, beforehand
    lines = {}
    for depth in (300, 600):
        body = nested(depth)
        lines[depth] = python_lines(lambda b=body: pages.parse_page(b, source=source, url=URL, now=NOW), 20_000_000)
    assert lines[600] < 2.5 * lines[300], lines  # twice the posts, about twice the work (quadratic: 4x)
    items = pages.parse_page(nested(600), source=source, url=URL, now=NOW)
    assert len(items) == 600 and items[599].text == "post 599" and items[0].author == "a0"


def test_many_items_in_one_thread_take_linear_work():
    """Many replies to one post (siblings nested in one item)."""
    source = Source(name="F", type="page", url=URL, item="div.post")
    pages.parse_page(nested(2), source=source, url=URL, now=NOW)
    lines = {}
    for n in (500, 1000):
        body = ('<div class="post"><p>top</p>' + '<div class="post"><p>reply</p></div>' * n + "</div>").encode()
        lines[n] = python_lines(lambda b=body: pages.parse_page(b, source=source, url=URL, now=NOW), 20_000_000)
    assert lines[1000] < 2.5 * lines[500], lines


# ---------------------------------------------------------------- the watched page's change


def test_added_text_takes_linear_work_on_repeated_lines():
    old = "\n".join(["same line"] * 4000 + ["old end"])
    new = "\n".join(["same line"] * 4000 + ["new end"] + ["same line"] * 10 + ["Elm Park Primary is awful"])
    lines = python_lines(lambda: pages.added_text(old, new), 400_000)
    assert lines < 400_000
    assert pages.added_text(old, new) == "new end\n" + "\n".join(["same line"] * 10) + "\nElm Park Primary is awful"


def test_added_text_keeps_its_meaning():
    assert pages.added_text("a\nb\nc", "a\nb\nnew\nc\nlast") == "new\nlast"
    assert pages.added_text("a\nb", "a\nB") == "B"
    assert pages.added_text("a\nb", "a") == ""
    assert pages.added_text("", "first\nsecond") == "first\nsecond"
    assert pages.added_text("x", "x\nx") == "x"  # a line repeated is a line added
    assert pages.added_text("a\nb\nc", "c\nb\na") == ""  # moved, nothing new


# ---------------------------------------------------------------- whatever the charset says


@pytest.mark.parametrize(
    "charset", ["x-bogus", "utf8mb4", "", None, "utf-7", "unicode_escape", "base64", "rot13", "a\x00b"]
)
def test_body_text_reads_any_declared_charset(charset):
    page = "<html><head><title>T</title><script>var x = 1</script></head><body><p>Elm Park Primary café</p>"
    page += '<p style="display:none">hidden</p><p>+ADw-script+AD4- £5</p></body></html>'
    assert parse_text.body_text(page.encode(), charset, "text/html") == "Elm Park Primary café\n+ADw-script+AD4- £5"


def test_body_text_decodes_by_the_documents_own_declaration_when_the_header_is_wrong():
    page = '<html><head><meta charset="windows-1252"></head><body><p>café £5</p></body></html>'
    assert parse_text.body_text(page.encode("cp1252"), "utf-8", "text/html; charset=utf-8") == "café £5"
    assert parse_text.body_text(page.encode("cp1252"), "x-bogus", "") == "café £5"


def test_body_text_of_plain_text_is_not_read_as_html():
    assert (
        parse_text.body_text(b"a < b and c > d\r\nnext\x00 line", "utf8mb4", "text/plain")
        == "a < b and c > d\nnext line"
    )
    assert parse_text.body_text("£5".encode("utf-16"), None, "text/plain; charset=utf-16") == "£5"
    assert parse_text.body_text(b"\xff\xfe\xfa", "x-bogus", "application/json") != ""


@pytest.mark.parametrize(
    "body", [b"", b"\x00" * 100, b"<", b"<html", b"\xff" * 50, b"<!DOCTYPE x [<!ENTITY a 'b'>]><p>&a;</p>"]
)
def test_body_text_never_raises(body):
    assert isinstance(parse_text.body_text(body, "x-bogus", "text/html"), str)


@pytest.mark.parametrize("charset", ["utf-7", "unicode_escape", "x-bogus", "utf8mb4"])
def test_a_page_declaring_a_charset_that_is_not_one_is_read_by_its_bytes(charset):
    body = "<html><body><div class='post'>Elm Park Primary raised £500 for the café</div></body></html>".encode()
    items = pages.parse_page(
        body, source=Source(name="F", type="page", url=URL, item=".post"), url=URL, now=NOW, encoding=charset
    )
    assert items[0].text == "Elm Park Primary raised £500 for the café"
