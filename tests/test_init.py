"""`school-monitor init`: flags or questions -> a commented sources.toml that `check` accepts."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from monitor import cli, config, wizard
from tests.conftest import monitor_for

FLAGS = [
    *("--name", "Elm Park Primary School", "--town", "Hornchurch", "--alias", "EPPS", "--urn", "102345"),
    *("--staff", "Mrs A Stevenson", "--staff", "Mr B Khan"),
    *("--recipient", "a.stevenson@elmpark.example.org", "--recipient", "l.woods@elmpark.example.org"),
    *("--dsl", "dsl@elmpark.example.org"),
]


def init(tmp_path: Path, *flags: str, name: str = "sources.toml") -> tuple[int, Path]:
    path = tmp_path / name
    return cli.main(["init", *flags, "-o", str(path)]), path


def sources(cfg: config.Config) -> dict[str, config.Source]:
    return {s.name: s for s in cfg.sources}


def test_init_with_flags_writes_a_config_that_check_accepts(tmp_path, capsys):
    code, path = init(tmp_path, *FLAGS, "--yes")
    assert code == 0
    out = capsys.readouterr().out
    assert f"wrote {path}" in out and "OK — Elm Park Primary School, 7 source(s)" in out
    assert cli.main(["--config", str(path), "check"]) == 0
    assert capsys.readouterr().err == ""  # no warning either


def test_the_sources_are_the_ones_described(tmp_path):
    _, path = init(tmp_path, *FLAGS, "--yes")
    cfg = config.load(path)
    by_name = sources(cfg)
    news = "https://news.google.com/rss/search?q=%22Elm+Park+Primary%22{}&hl=en-GB&gl=GB&ceid=GB:en"
    assert by_name["Google News: Elm Park Primary"].url == news.format("")
    assert by_name["Google News: Elm Park Primary, Hornchurch"].url == news.format("+Hornchurch")
    reddit = by_name["Reddit search"]
    assert reddit.url == "https://www.reddit.com/search.rss?q=%22Elm+Park+Primary%22&sort=new"
    assert reddit.interval.total_seconds() == 3600
    assert [(h.host, h.min_gap.total_seconds()) for h in cfg.hosts] == [("www.reddit.com", 60)]
    assert by_name["Mastodon #Hornchurch"].url == "https://mastodon.social/tags/Hornchurch.rss"
    ofsted, parent_view = by_name["Ofsted report page"], by_name["Ofsted Parent View"]
    assert ofsted.url == "https://reports.ofsted.gov.uk/provider/21/102345"
    assert parent_view.url == "https://parentview.ofsted.gov.uk/parent-view-results/urn/102345"
    for watched in (ofsted, parent_view):
        assert (watched.type, watched.item, watched.all_mentions) == ("page", None, True)
        assert watched.interval.total_seconds() == 86400
    alert = by_name["Google Alert"]
    assert (alert.enabled, alert.all_mentions, alert.type) == (False, True, "feed")
    assert all(s.type in ("feed", "page") for s in cfg.sources) and len(cfg.sources) == 7


def test_the_school_the_alerts_and_the_safeguarding_route(tmp_path):
    _, path = init(tmp_path, *FLAGS, "--yes")
    cfg = config.load(path)
    school = cfg.school
    assert school.name == "Elm Park Primary School" and school.aliases == ("Elm Park Primary", "EPPS")
    assert school.context == ("Hornchurch",) and school.staff == ("Mrs A Stevenson", "Mr B Khan")
    assert {"Elm Park station", "Elm Park Road"} <= set(school.exclude)
    assert cfg.alerts.recipients == ("a.stevenson@elmpark.example.org", "l.woods@elmpark.example.org")
    assert cfg.alerts.sender == "school-monitor@elmpark.example.org"
    (route,) = cfg.alerts.routes
    assert (route.name, route.labels, route.recipients) == (
        "safeguarding",
        ("extremism", "abuse"),
        ("dsl@elmpark.example.org",),
    )
    assert cfg.smtp is None  # written commented: emails go to data/outbox/ until it is filled in
    text = path.read_text(encoding="utf-8")
    assert "# password_env = " in text and "never goes in this file" in text
    assert "https://www.google.com/alerts" in text and '"Deliver to" to "RSS feed"' in text


@pytest.mark.parametrize(
    "text, mention",
    [
        ("Elm Park Primary School's nativity was lovely", True),
        ("elm park primary parents evening tonight", True),
        ("Signal failure at Elm Park station, and Elm Park Road is shut", False),
        ("EPPS summer fair in Hornchurch on Saturday", True),  # the acronym, with the town as context
        ("EPPS annual conference: pipe stress analysis", False),  # the acronym alone
    ],
)
def test_the_names_it_seeds_find_the_school_and_not_the_place(tmp_path, text, mention):
    _, path = init(tmp_path, *FLAGS, "--yes")
    assert monitor_for(config.load(path)).classify(text).mention is mention


def test_it_refuses_to_overwrite_without_force(tmp_path, capsys):
    path = tmp_path / "sources.toml"
    path.write_text("# mine\n", encoding="utf-8")
    code, _ = init(tmp_path, *FLAGS, "--yes")
    assert code == 2 and path.read_text(encoding="utf-8") == "# mine\n"
    assert f"{path} exists; pass --force to replace it" in capsys.readouterr().err
    code, _ = init(tmp_path, *FLAGS, "--yes", "--force")
    assert code == 0 and config.load(path).school.name == "Elm Park Primary School"
    assert not (tmp_path / "sources.toml.part").exists()


def test_yes_without_a_name_is_one_clear_line(tmp_path, capsys):
    code, path = init(tmp_path, "--town", "Hornchurch", "--yes")
    assert code == 2 and not path.exists()
    err = capsys.readouterr().err
    assert err.splitlines() == ["school-monitor: --name is required (init asks for them on a terminal, without --yes)"]


def test_bad_answers_are_named_with_their_flags_and_nothing_is_written(tmp_path, capsys):
    code, path = init(
        tmp_path, "--name", "X School", "--town", "Y", "--urn", "12", "--recipient", "not-an-address", "--yes"
    )
    assert code == 2 and not path.exists()
    err = capsys.readouterr().err
    assert "--urn: '12' is not a URN: a school's URN is 6 or 7 digits" in err
    assert "--recipient: 'not-an-address' is not an email address" in err


def test_without_a_urn_or_dsl_and_with_the_website_feed(tmp_path):
    code, path = init(
        tmp_path,
        *("--name", "The Campion School", "--town", "Hornchurch", "--recipient", "comms@campion.example.org"),
        *("--website-feed", "https://www.campion.example.org/feed/", "--yes"),
    )
    assert code == 0
    cfg = config.load(path)
    by_name = sources(cfg)
    assert "Ofsted report page" not in by_name and "Ofsted Parent View" not in by_name
    website = by_name["School website news"]
    assert (website.url, website.all_mentions) == ("https://www.campion.example.org/feed/", True)
    assert cfg.alerts.routes == () and '# recipients = ["dsl@example.org"]' in path.read_text(encoding="utf-8")
    assert cfg.school.aliases == ("The Campion School",)  # "Campion School" alone is not sure
    assert "Campion station" in cfg.school.exclude


def test_on_a_terminal_it_asks_for_what_the_flags_did_not_give(tmp_path, monkeypatch, capsys):
    answers = iter(
        [
            "Elm Park Primary School",  # name
            "",  # town: required, asked again
            "Hornchurch",
            "",  # other names: Enter keeps the suggested acronym
            "12345",  # URN: not one, asked again
            "102345",
            "Mrs A Stevenson, Mr B Khan",
            "a@elmpark.example.org, b@elmpark.example.org",
            "",  # no DSL
            "",  # no website feed
        ]
    )
    prompts = []

    def fake_input(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", fake_input)
    code, path = init(tmp_path)
    assert code == 0
    assert "Other names people use for it, comma-separated (an acronym) [EPPS]: " in prompts
    out = capsys.readouterr().out
    assert "needed: every source is built from it" in out and "'12345' is not a URN" in out
    cfg = config.load(path)
    assert cfg.school.aliases == ("Elm Park Primary", "EPPS") and cfg.school.staff == ("Mrs A Stevenson", "Mr B Khan")
    assert cfg.alerts.recipients == ("a@elmpark.example.org", "b@elmpark.example.org")
    assert sources(cfg)["Ofsted report page"].url.endswith("/102345")


def test_flags_given_are_not_asked_and_ctrl_d_writes_nothing(tmp_path, monkeypatch, capsys):
    prompts = []

    def fake_input(prompt: str) -> str:
        prompts.append(prompt)
        raise EOFError

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", fake_input)
    code, path = init(tmp_path, "--name", "Elm Park Primary School", "--town", "Hornchurch")
    assert code == 2 and not path.exists()
    assert prompts == ["Other names people use for it, comma-separated (an acronym) [EPPS]: "]
    assert "nothing written" in capsys.readouterr().err


def test_a_dash_declines_a_suggestion():
    replies = iter(["-", "-", "", "", "", ""])
    given = wizard.Answers(name="Elm Park Primary School", town="Hornchurch")
    answers = wizard.ask(given, lambda prompt: next(replies), lambda line: None)
    assert answers == given  # no acronym, no URN, nothing else


@pytest.mark.parametrize(
    "name, town",
    [
        ('The "Best" School \\ Academy', "Newcastle upon Tyne"),
        ("St Mary's Church of England Primary School", "King's Lynn"),
        ("Ysgol Gymraeg Aberystwyth", "Aberystwyth"),
        ("École Française de Londres Jacques Prévert", "Hammersmith & Fulham"),
    ],
)
def test_any_name_makes_valid_toml_that_says_what_was_given(tmp_path, name, town):
    answers, problems = wizard.from_values({"name": name, "town": town, "aliases": ["A&B"], "urn": "1234567"})
    assert problems == []
    text = wizard.render(answers)
    cfg = config.from_dict(tomllib.loads(text), tmp_path / "sources.toml")
    assert cfg.school.name == name and cfg.school.context == (town,)
    assert all(s.url.isascii() for s in cfg.sources)


def test_control_characters_and_non_text_are_refused():
    for bad in ("Elm\x1b[2K Park", "Elm\u202e Park", "Elm \udcff Park", "1234"):
        with pytest.raises(ValueError):
            wizard.check_answer("name", bad)


def test_the_generated_config_runs(tmp_path, httpserver, capsys):
    """From nothing to a scan: the school website's feed served on 127.0.0.1 is read and stored."""
    from tests.conftest import rss

    httpserver.expect_request("/feed/").respond_with_data(
        rss(("w1", "Year 6 residential", "Elm Park Primary pupils are back from Kingswood.")),
        content_type="application/rss+xml",
    )
    code, path = init(tmp_path, *FLAGS, "--website-feed", httpserver.url_for("/feed/"), "--yes")
    assert code == 0
    assert cli.main(["--config", str(path), "scan", "--source", "School website news"]) == 0
    assert "1 source(s), 1 new mention(s), 0 failed" in capsys.readouterr().out
    (item,) = monitor_for(config.load(path)).items()
    assert item.title == "Year 6 residential" and (tmp_path / "data" / "monitor.db").exists()
