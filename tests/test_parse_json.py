"""JSON sources, parsing: bytes -> posts through JMESPath expressions, one bad field spoiling only itself."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from monitor.config import Source
from monitor.errors import ParseError
from monitor.parse import json_api

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
API = "http://api.example/v1/posts?page=1"
SOURCE = Source(
    name="API",
    type="json",
    url=API,
    items="data.posts",
    text="body",
    title="title",
    author="user.name",
    date="created",
    link="url",
)


def parse(posts, source: Source = SOURCE, **wrap):
    body = json.dumps(wrap or {"data": {"posts": posts}}).encode()
    return json_api.parse_json(body, source=source, url=API, now=NOW)


def test_each_post_gives_its_parts_as_text():
    (item,) = parse(
        [
            {
                "body": "<p>Elm Park Primary&#39;s fair was <b>lovely</b></p><script>x()</script>",
                "title": "Fair &amp; fete",
                "user": {"name": "jo"},
                "created": "2026-11-02T09:00:00Z",
                "url": "https://forum.example/t/fair/1?utm_source=x",
            }
        ]
    )
    assert item.text == "Elm Park Primary's fair was lovely"  # HTML as APIs send it, read as text
    assert (item.title, item.author) == ("Fair & fete", "jo")
    assert item.published == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert item.url == "https://forum.example/t/fair/1" and item.key == "link:https://forum.example/t/fair/1"
    assert item.source == "API" and item.notes == ()


def test_the_evidence_of_a_post_is_its_own_json():
    post = {"body": "Elm Park Primary", "url": "https://forum.example/1", "extra": {"likes": 3}}
    other = {"body": "something else", "url": "https://forum.example/2"}
    first, _ = parse([post, other])
    assert json.loads(first.raw) == post and ", " not in first.raw and ": " not in first.raw  # compact, this post only


def test_numbers_and_lists_become_text_objects_are_dropped_with_a_note():
    items = parse(
        [
            {"body": ["Elm Park", "Primary", 6], "title": 2026, "user": {"name": ["a", "b"]}},
            {"body": {"html": "<p>x</p>"}, "title": True, "url": "https://forum.example/2"},
        ]
    )
    assert (items[0].text, items[0].title, items[0].author) == ("Elm Park\nPrimary\n6", "2026", "a, b")
    assert items[1].text == "" and items[1].title == "true"  # the post is kept, the field dropped
    assert items[1].notes == ("text dropped: the expression gives an object, not text; point it at one of its fields",)


@pytest.mark.parametrize(
    "written, expected",
    [
        ("2026-11-02T09:00:00.000Z", datetime(2026, 11, 2, 9, 0, tzinfo=UTC)),
        ("2026-11-02T10:00:00+01:00", datetime(2026, 11, 2, 9, 0, tzinfo=UTC)),
        ("Mon, 02 Nov 2026 09:00:00 GMT", datetime(2026, 11, 2, 9, 0, tzinfo=UTC)),
        (1793610000, datetime(2026, 11, 2, 9, 0, tzinfo=UTC)),  # Unix seconds
        (1793610000000, datetime(2026, 11, 2, 9, 0, tzinfo=UTC)),  # milliseconds
        ("1793610000", datetime(2026, 11, 2, 9, 0, tzinfo=UTC)),  # seconds written as a string
        (1793610000.5, datetime(2026, 11, 2, 9, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_dates_iso_rfc2822_and_unix_times(written, expected):
    (item,) = parse([{"body": "x", "created": written}])
    assert item.published == expected and item.notes == ()


@pytest.mark.parametrize("written", ["soon", {"at": 1}, True, 10**30])
def test_a_post_with_a_bad_date_is_kept_without_it(written):
    (item,) = parse([{"body": "Elm Park Primary", "created": written, "url": "https://forum.example/1"}])
    assert item.published is None and item.text == "Elm Park Primary"
    assert item.notes[0].startswith("date dropped: ")


def test_a_future_date_is_clamped_to_now():
    (item,) = parse([{"body": "x", "created": "2099-01-01T00:00:00Z"}])
    assert item.published == NOW and "clamped" in item.notes[0]


def test_links_relative_to_the_api_and_never_another_scheme():
    items = parse(
        [
            {"body": "a", "url": "/t/elm-park/7"},
            {"body": "b", "url": "javascript:alert(1)"},
            {"body": "c", "url": ["https://forum.example/3", "https://mirror.example/3"]},
            {"body": "d", "url": "http://[::1"},
        ]
    )
    assert [i.url for i in items] == ["http://api.example/t/elm-park/7", "", "https://forum.example/3", ""]
    assert items[1].notes == ("link dropped: 'javascript:alert(1)' is not an http(s) URL",)
    assert items[3].notes[0].startswith("link dropped: ")


def test_without_a_link_the_identity_is_a_hash_of_author_date_and_text():
    posts = [
        {"body": "Elm Park Primary", "user": {"name": "jo"}, "created": "2026-11-02T09:00:00Z"},
        {"body": "Elm Park Primary", "user": {"name": "sam"}, "created": "2026-11-02T09:00:00Z"},
        {"body": "Elm Park Primary", "user": {"name": "jo"}, "created": "2026-11-03T09:00:00Z"},
    ]
    keys = [i.key for i in parse(posts)]
    assert all(k.startswith("hash:") for k in keys) and len(set(keys)) == 3
    assert keys == [i.key for i in parse(posts)]  # stable from one scan to the next


def test_fields_are_printable():
    (item,) = parse([{"body": "Elm\x1b[2K Park\u202e Primary\x00", "user": {"name": "a\x07b"}}])
    assert item.text == "Elm[2K Park Primary" and item.author == "ab"


def test_the_list_at_the_top_and_fallback_expressions():
    source = replace(SOURCE, items="@", text="excerpt || title", title=None, link=None)
    body = json.dumps([{"title": "Elm Park Primary"}, {"excerpt": "more", "title": "t"}]).encode()
    items = json_api.parse_json(body, source=source, url=API, now=NOW)
    assert [i.text for i in items] == ["Elm Park Primary", "more"]


def test_an_empty_list_is_no_posts_not_an_error():
    assert parse([]) == []


@pytest.mark.parametrize(
    "answer, message",
    [
        ({"data": {}}, "items expression data.posts matched nothing; the API may have changed"),
        ({"error": "rate limited"}, "items expression data.posts matched nothing; the API may have changed"),
        ({"data": {"posts": {"a": 1}}}, "items expression data.posts gives an object, not a list of posts"),
        ({"data": {"posts": "none"}}, "items expression data.posts gives a string, not a list of posts"),
    ],
)
def test_items_matching_nothing_or_no_list_is_the_sources_error(answer, message):
    with pytest.raises(ParseError, match=message):
        json_api.parse_json(json.dumps(answer).encode(), source=SOURCE, url=API, now=NOW)


@pytest.mark.parametrize(
    "body, message",
    [
        (b"", "empty body: the server sent nothing"),
        (b"  \n", "empty body: the server sent nothing"),
        (b"<!DOCTYPE html><html><body>Sign in</body></html>", "not JSON: the server sent an HTML page"),
        (b'<?xml version="1.0"?><rss></rss>', 'not JSON: the server sent XML \\(a feed\\? then use type = "feed"\\)'),
        (b'{"data": {"posts": [', "not JSON: Expecting value at line 1 column 21"),
        (b"[" * 200_000, "not JSON the monitor reads: nested too deeply"),
        (b"1" * 5000, "not JSON the monitor reads: Exceeds the limit"),
    ],
)
def test_a_body_that_is_not_json_is_a_clear_error(body, message):
    with pytest.raises(ParseError, match=message):
        json_api.parse_json(body, source=SOURCE, url=API, now=NOW)


def test_other_encodings_and_bad_bytes_lose_nothing():
    answer = {"data": {"posts": [{"body": "Elm Park Primary – café"}]}}
    for body in (
        json.dumps(answer, ensure_ascii=False).encode("utf-16"),
        b"\xef\xbb\xbf" + json.dumps(answer).encode(),
    ):
        (item,) = json_api.parse_json(body, source=SOURCE, url=API, now=NOW)
        assert item.text == "Elm Park Primary – café"
    bad = b'{"data": {"posts": [{"body": "Elm Park Primary \xff"}]}}'  # not UTF-8
    (item,) = json_api.parse_json(bad, source=SOURCE, url=API, now=NOW)
    assert item.text == "Elm Park Primary \ufffd"


def test_an_invalid_expression_is_the_sources_error():
    with pytest.raises(ParseError, match=re.escape("'user.[' is not a JMESPath expression: it ends too soon")):
        parse([{"body": "x"}], source=replace(SOURCE, author="user.["))


@pytest.mark.parametrize(
    "expression, problem",
    [
        ("data.[", "it ends too soon (at character 7)"),
        ("foo bar", "Unexpected token: bar (at character 5)"),
        ("`{bad", "Unclosed ` delimiter"),
        ("lower(title)", "no function lower() in JMESPath"),
        ("length(a, b)", "length() takes 1 argument(s), not 2"),
        ("", "an empty expression is not JMESPath"),
    ],
)
def test_expression_problems_say_what_is_wrong(expression, problem):
    assert problem in json_api.expression_problem(expression)


def test_good_expressions_have_no_problem():
    for expression in ("@", "data.posts", "excerpt || title", "join('/', ['/t', slug, to_string(id)])", "a[?b].c"):
        assert json_api.expression_problem(expression) is None


def test_expressions_are_compiled_once():
    json_api.compile_expression.cache_clear()
    parse([{"body": "x"}])
    parse([{"body": "y"}])
    info = json_api.compile_expression.cache_info()
    assert info.misses == 6 and info.hits == 6  # items and five parts, compiled by the first parse only
