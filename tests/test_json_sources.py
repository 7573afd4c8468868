"""JSON sources end to end: APIs served from 127.0.0.1, a real SQLite file, the real CLI."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from werkzeug import Request, Response

from monitor import cli, config, store
from monitor.store import schema
from tests.conftest import feed_source, monitor_for, rss, write_config
from tests.test_lazy_imports import loaded

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
TOKEN = "s3cret-t0ken-do-not-show"

STATUSES = [  # a Mastodon tag timeline, as /api/v1/timelines/tag/Hornchurch answers
    {
        "id": "1131",
        "created_at": "2026-11-09T16:20:00.000Z",
        "url": "https://mastodon.social/@hornchurchmum/1131",
        "content": "<p>Lovely nativity at <a href='#'>#ElmParkPrimary</a> today, well done Year 2!</p>",
        "account": {"acct": "hornchurchmum", "display_name": "Hornchurch Mum"},
    },
    {
        "id": "1132",
        "created_at": "2026-11-09T18:00:00.000Z",
        "url": "https://mastodon.social/@commuter/1132",
        "content": "<p>Elm Park station closed again. #Hornchurch</p>",
        "account": {"acct": "commuter", "display_name": "Commuter"},
    },
    {
        "id": "1133",
        "created_at": "2026-11-10T08:05:00.000Z",
        "url": "https://mastodon.social/@dad/1133",
        "content": "<p>Elm Park Primary still hasn't answered my email about the trip.</p>",
        "account": {"acct": "dad", "display_name": ""},
    },
]
LATEST = {  # a Discourse forum's /latest.json
    "users": [{"id": 1, "username": "parentrep"}],
    "topic_list": {
        "topics": [
            {
                "id": 77,
                "slug": "elm-park-primary-admissions",
                "title": "Elm Park Primary admissions - any luck?",
                "created_at": "2026-11-08T10:00:00.000Z",
                "last_poster_username": "parentrep",
            },
            {
                "id": 78,
                "slug": "parking",
                "title": "Parking on Station Road",
                "created_at": "2026-11-08T11:00:00.000Z",
                "last_poster_username": "neighbour",
            },
        ]
    },
}


def json_source(name: str, url: str, **keys: object) -> str:
    lines = ["[[source]]", f"name = {json.dumps(name)}", 'type = "json"', f"url = {json.dumps(url)}"]
    for key, value in keys.items():
        if isinstance(value, dict):
            inner = ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items())
            lines.append(f"{key} = {{ {inner} }}")
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def mastodon_source(url: str, **keys: object) -> str:
    parts = dict(
        items="@", text="content", author="account.display_name || account.acct", date="created_at", link="url"
    )
    return json_source("Mastodon API", url, **{**parts, **keys})


def stored(cfg) -> list:
    return sorted(monitor_for(cfg).items(), key=lambda i: i.url)


def test_a_mastodon_statuses_list_is_stored_as_mentions(httpserver, make_config):
    httpserver.expect_request("/api/v1/timelines/tag/Hornchurch").respond_with_json(STATUSES)
    cfg = make_config(mastodon_source(httpserver.url_for("/api/v1/timelines/tag/Hornchurch")))
    (run,) = monitor_for(cfg, now=NOW).scan().runs
    assert (run.seen, run.new, run.mentions, run.error) == (3, 2, 2, None)
    dad, mum = stored(cfg)
    assert mum.text == "Lovely nativity at #ElmParkPrimary today, well done Year 2!"
    assert (mum.author, mum.url) == ("Hornchurch Mum", "https://mastodon.social/@hornchurchmum/1131")
    assert mum.published == datetime(2026, 11, 9, 16, 20, tzinfo=UTC)
    assert dad.author == "dad"  # an empty display name falls back to the account
    request = httpserver.log[0][0]
    assert request.headers["Accept"].startswith("application/json")


def test_a_rescan_stores_nothing_twice_and_an_edit_updates(httpserver, make_config):
    url = httpserver.url_for("/statuses")
    cfg = make_config(mastodon_source(url))
    httpserver.expect_oneshot_request("/statuses").respond_with_json(STATUSES)
    monitor_for(cfg, now=NOW).scan()
    httpserver.expect_oneshot_request("/statuses").respond_with_json(STATUSES)
    (run,) = monitor_for(cfg, now=NOW).scan().runs
    assert (run.seen, run.new, run.updated) == (3, 0, 0)
    edited = [dict(STATUSES[2], content="<p>Elm Park Primary answered: the trip is on Friday.</p>"), *STATUSES[:2]]
    httpserver.expect_oneshot_request("/statuses").respond_with_json(edited)
    (run,) = monitor_for(cfg, now=NOW).scan().runs
    assert (run.new, run.updated) == (0, 1)
    assert len(stored(cfg)) == 2 and stored(cfg)[0].text == "Elm Park Primary answered: the trip is on Friday."


def test_a_discourse_forums_latest_topics(httpserver, make_config):
    httpserver.expect_request("/latest.json").respond_with_json(LATEST)
    cfg = make_config(
        json_source(
            "Forum",
            httpserver.url_for("/latest.json"),
            items="topic_list.topics",
            text="excerpt || title",
            author="last_poster_username",
            date="created_at",
            link="join('/', ['/t', slug, to_string(id)])",
        )
    )
    (run,) = monitor_for(cfg, now=NOW).scan().runs
    assert (run.seen, run.mentions) == (2, 1)
    (topic,) = stored(cfg)
    assert topic.text == "Elm Park Primary admissions - any luck?" and topic.author == "parentrep"
    assert topic.url == httpserver.url_for("/t/elm-park-primary-admissions/77")  # relative to the API


def test_the_evidence_is_the_post_and_the_answer_as_served(httpserver, make_config):
    body = json.dumps(STATUSES).encode()
    httpserver.expect_request("/statuses").respond_with_data(body, content_type="application/json")
    cfg = make_config(mastodon_source(httpserver.url_for("/statuses")))
    monitor_for(cfg, now=NOW).scan()
    engine = store.connect(cfg.database_url)
    with engine.connect() as conn:
        raws = sorted((json.loads(r.raw) for r in conn.execute(schema.evidence.select()).all()), key=lambda s: s["id"])
        (served,) = conn.execute(schema.bodies.select()).all()
    assert raws == [STATUSES[0], STATUSES[2]] and served.content == body


def test_a_post_with_a_bad_date_is_kept(httpserver, make_config):
    posts = [dict(STATUSES[2], created_at="the day before yesterday-ish")]
    httpserver.expect_request("/statuses").respond_with_json(posts)
    cfg = make_config(mastodon_source(httpserver.url_for("/statuses")))
    (run,) = monitor_for(cfg, now=NOW).scan().runs
    assert (run.new, run.error) == (1, None)
    (item,) = stored(cfg)
    assert item.published == NOW  # first seen, as for any post without a date


@pytest.mark.parametrize(
    "answer, content_type, error",
    [
        (
            b"<!DOCTYPE html><html><body>Please sign in</body></html>",
            "text/html",
            "not JSON: the server sent an HTML page",
        ),
        (b'{"statuses": [', "application/json", "not JSON: Expecting value at line 1 column 15"),
        (
            b'{"error": "This API requires a login"}',
            "application/json",
            "items expression @[0].statuses matched nothing",
        ),
    ],
    ids=["html", "truncated", "items-nothing"],
)
def test_not_json_or_nothing_matched_is_that_sources_error(httpserver, tmp_path, capsys, answer, content_type, error):
    httpserver.expect_request("/api").respond_with_data(answer, content_type=content_type)
    httpserver.expect_request("/news.xml").respond_with_data(
        rss(("n1", "Elm Park Primary wins award", "Well done.")), content_type="application/rss+xml"
    )
    path = write_config(
        tmp_path,
        mastodon_source(httpserver.url_for("/api"), items="@[0].statuses")
        + feed_source("Gazette", httpserver.url_for("/news.xml")),
    )
    assert cli.main(["--config", str(path), "scan"]) == 0
    out = capsys.readouterr().out
    assert f"ERROR: {error}" in out and "1 new mention(s), 1 failed" in out
    state = monitor_for(config.load(path)).source_states()["Mastodon API"]
    assert state.failures == 1 and error in state.last_error


def test_an_empty_list_is_no_posts_and_no_error(httpserver, make_config):
    httpserver.expect_request("/statuses").respond_with_json([])
    cfg = make_config(mastodon_source(httpserver.url_for("/statuses")))
    (run,) = monitor_for(cfg, now=NOW).scan().runs
    assert (run.seen, run.error) == (0, None)


def nested_api(httpserver) -> None:
    """data.posts, answered only with the token (401 without it, as an API does)."""

    def handler(request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Response('{"error": "unauthorised"}', status=401, content_type="application/json")
        posts = [{"message": "Elm Park Primary fundraiser raised £900", "permalink": "https://social.example/p/9"}]
        return Response(json.dumps({"data": {"posts": posts}}), content_type="application/json")

    httpserver.expect_request("/v2/search").respond_with_handler(handler)


def token_source(url: str) -> str:
    return json_source(
        "Social API",
        url,
        items="data.posts",
        text="message",
        link="permalink",
        headers={"Authorization": "env:SOCIAL_TOKEN", "X-Client": "school-monitor"},
    )


def test_headers_are_sent_with_the_token_from_the_environment_and_never_shown(
    httpserver, tmp_path, capsys, caplog, monkeypatch
):
    nested_api(httpserver)
    monkeypatch.setenv("SOCIAL_TOKEN", f"Bearer {TOKEN}")
    caplog.set_level(logging.DEBUG)
    path = write_config(tmp_path, token_source(httpserver.url_for("/v2/search")))
    assert cli.main(["--config", str(path), "--log-level", "debug", "scan"]) == 0
    assert cli.main(["--config", str(path), "check"]) == 0
    assert cli.main(["--config", str(path), "items", "--json"]) == 0
    (item,) = monitor_for(config.load(path)).items()
    assert item.url == "https://social.example/p/9"
    assert httpserver.log[0][0].headers["X-Client"] == "school-monitor"
    out = capsys.readouterr()
    for seen in (out.out, out.err, caplog.text, (tmp_path / "data" / "monitor.db").read_bytes().decode("latin-1")):
        assert TOKEN not in seen


def test_a_wrong_token_is_the_sources_error_without_the_token(httpserver, make_config, monkeypatch):
    nested_api(httpserver)
    monkeypatch.setenv("SOCIAL_TOKEN", "Bearer wrong-" + TOKEN)
    cfg = make_config(token_source(httpserver.url_for("/v2/search")))
    (run,) = monitor_for(cfg, now=NOW).scan().runs
    assert "401" in run.error and TOKEN not in run.error


def test_a_missing_variable_is_the_sources_error_naming_it(httpserver, make_config, monkeypatch):
    nested_api(httpserver)
    httpserver.expect_request("/news.xml").respond_with_data(
        rss(("n1", "Elm Park Primary wins award", "Well done.")), content_type="application/rss+xml"
    )
    monkeypatch.delenv("SOCIAL_TOKEN", raising=False)
    cfg = make_config(
        token_source(httpserver.url_for("/v2/search")) + feed_source("Gazette", httpserver.url_for("/news.xml"))
    )
    social, gazette = monitor_for(cfg, now=NOW).scan().runs
    assert social.error == (
        "header Authorization: the environment variable SOCIAL_TOKEN is not set (or is empty) where the monitor runs"
    )
    assert gazette.new == 1
    assert [r.path for r, _ in httpserver.log] == ["/news.xml"]  # nothing was sent without it


def test_a_variable_holding_a_line_break_is_refused(httpserver, make_config, monkeypatch):
    nested_api(httpserver)
    monkeypatch.setenv("SOCIAL_TOKEN", f"Bearer {TOKEN}\r\nX-Injected: 1")
    cfg = make_config(token_source(httpserver.url_for("/v2/search")))
    (run,) = monitor_for(cfg, now=NOW).scan().runs
    assert "SOCIAL_TOKEN holds a line break" in run.error and TOKEN not in run.error
    assert httpserver.log == []


# ---------------------------------------------------------------- check


def test_check_reports_expressions_and_selectors_that_do_not_compile(tmp_path, capsys):
    page = "\n".join(["[[source]]", 'name = "Forum page"', 'type = "page"', 'url = "http://forum.example/t/1"'])
    path = write_config(
        tmp_path,
        mastodon_source("http://api.example/statuses", items="statuses[", author="lower(account.acct)")
        + page
        + '\nitem = "div.post["\ntext = ".body"\n',
    )
    assert cli.main(["--config", str(path), "check"]) == 2
    err = capsys.readouterr().err
    assert "source[1] (Mastodon API).items: 'statuses[' is not a JMESPath expression: it ends too soon" in err
    assert (
        "source[1] (Mastodon API).author: 'lower(account.acct)' is not a JMESPath expression: no function lower()"
        in err
    )
    assert "source[2] (Forum page).item: 'div.post[' is not valid CSS: Malformed attribute selector" in err
    assert "text" not in err.replace("Mastodon API).text", "")  # the good ones are not named


def test_check_warns_of_a_header_variable_not_set_here(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SOCIAL_TOKEN", raising=False)
    path = write_config(tmp_path, token_source("http://api.example/v2/search"))
    assert cli.main(["--config", str(path), "check"]) == 0
    err = capsys.readouterr().err
    assert (
        "warning: source[1] (Social API).headers.Authorization: $SOCIAL_TOKEN is not set in this environment "
        "(the source will fail unless the service has it)"
    ) in err
    monkeypatch.setenv("SOCIAL_TOKEN", TOKEN)
    assert cli.main(["--config", str(path), "check"]) == 0
    out = capsys.readouterr()
    assert "SOCIAL_TOKEN" not in out.err and TOKEN not in out.out + out.err


def test_check_with_json_sources_loads_no_parser(tmp_path: Path):
    path = write_config(
        tmp_path, mastodon_source("http://api.example/statuses") + token_source("http://api.example/v2")
    )
    assert loaded("--config", str(path), "check") == []
