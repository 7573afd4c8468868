"""The report (HTML, CSV, JSON) over a real SQLite file: counts match the database, hostile text is inert."""

import csv
import dataclasses
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from monitor import cli, store
from monitor.models import Item, Review, Score
from monitor.store import schema
from tests.conftest import FEEDPARSER_TESTS, feed_source, monitor_for

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=90)
SANITIZE = FEEDPARSER_TESTS / "wellformed" / "sanitize"
SEVERITY = {"extremism": "high", "abuse": "high", "criticism": "medium", "praise": "low", "neutral": "low"}


def seed(engine, rows):
    """rows: (days before NOW, label, source, title, url); returns the stored ids in order."""
    scored = [
        store.Scored(
            Item(
                source=source,
                key=f"k{n}",
                url=url,
                title=title,
                text=f"Text {n} about Elm Park Primary.",
                published=NOW - timedelta(days=days),
            ),
            Score(True, label, SEVERITY[label], -0.5 if label in ("criticism", "abuse") else 0.4, flags=(f"f{n}",)),
        )
        for n, (days, label, source, title, url) in enumerate(rows)
    ]
    store.save_items(engine, scored, NOW)
    with engine.connect() as conn:
        return [
            conn.execute(select(schema.items.c.id).where(schema.items.c.key == f"k{n}")).scalar_one()
            for n in range(len(rows))
        ]


ROWS = [
    (1, "abuse", "Mumsnet", '=HYPERLINK("http://evil.example")', "https://mumsnet.example/t/1"),
    (2, "criticism", "Mumsnet", "Admissions unfair", "javascript:alert(1)"),
    (3, "praise", "Gazette", "Great nativity", "http://gazette.example/2"),
    (10, "neutral", "Gazette", "-1 term dates", "http://gazette.example/3"),
    (40, "extremism", "Reddit", "@everyone flyer", "https://reddit.example/4"),
    (60, "praise", "Gazette", "+ sports day", ""),
    (120, "criticism", "Gazette", "Old complaint", "http://gazette.example/6"),  # previous period
    (400, "abuse", "Gazette", "Very old", "http://gazette.example/7"),  # before both periods
]


@pytest.fixture
def seeded(make_config):
    cfg = make_config(feed_source("Gazette", "http://127.0.0.1:9/feed.xml"))
    engine = store.connect(cfg.database_url)
    ids = seed(engine, ROWS)
    store.add_review(engine, Review(ids[0], NOW, "alice", "reviewed", note="seen <b>it</b>"))
    store.add_review(
        engine,
        Review(ids[0], NOW + timedelta(minutes=5), "bob", "actioned", action="reported-to-platform", note="reported"),
    )
    return cfg, engine, ids


def in_period(engine, since, until):
    when = func.coalesce(schema.items.c.published, schema.items.c.first_seen)
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(schema.items).where(when >= since, when < until)
        ).scalar_one()


def report_text(cfg, engine, fmt, since=SINCE, until=NOW):
    out = io.StringIO()
    monitor_for(cfg, now=NOW, engine=engine).write_report(out, fmt=fmt, since=since, until=until)
    return out.getvalue()


def test_json_report_counts_match_the_database(seeded):
    cfg, engine, ids = seeded
    doc = json.loads(report_text(cfg, engine, "json"))
    assert doc["mentions"] == in_period(engine, SINCE, NOW) == len(doc["items"]) == 6
    assert doc["by_label"] == {"abuse": 1, "criticism": 1, "praise": 2, "neutral": 1, "extremism": 1}
    assert doc["by_source"] == {"Mumsnet": 2, "Gazette": 3, "Reddit": 1}
    assert doc["negative"] == 3 and doc["flagged"] == 3
    assert doc["previous_period"]["by_label"] == {"criticism": 1}
    first = next(i for i in doc["items"] if i["id"] == ids[0])
    assert [r["by"] for r in first["reviews"]] == ["alice", "bob"]
    assert first["status"] == "actioned" and first["last_action"] == "reported-to-platform"
    assert first["title"] == '=HYPERLINK("http://evil.example")'  # JSON is data, not a spreadsheet


def test_csv_report_has_every_item_and_defuses_formulas(seeded):
    cfg, engine, ids = seeded
    rows = list(csv.DictReader(io.StringIO(report_text(cfg, engine, "csv"))))
    assert len(rows) == in_period(engine, SINCE, NOW) == 6
    by_id = {int(r["id"]): r for r in rows}
    assert by_id[ids[0]]["title"] == '\'=HYPERLINK("http://evil.example")'
    assert by_id[ids[3]]["title"] == "'-1 term dates"
    assert by_id[ids[4]]["title"] == "'@everyone flyer"
    assert by_id[ids[5]]["title"] == "'+ sports day"
    assert by_id[ids[2]]["title"] == "Great nativity"
    assert by_id[ids[1]]["sentiment"] == "-0.5"  # numbers are numbers, not defused text
    assert by_id[ids[0]]["status"] == "actioned" and by_id[ids[0]]["reviews"] == "2"
    assert by_id[ids[0]]["flags"] == "f0"


def test_html_report_summary_flagged_items_and_sources(seeded):
    cfg, engine, ids = seeded
    html = report_text(cfg, engine, "html")
    soup = BeautifulSoup(html, "lxml")
    text = " ".join(soup.get_text().split())
    assert "6 mentions" in text and "3 (50%) negative" in text
    assert "+5 against the previous 90 days (1)" in text
    items = soup.select("div.item")
    assert [i.h3.get_text().split()[0] for i in items] == [f"#{ids[n]}" for n in (4, 0, 1)]  # severity, then date
    assert soup.select("svg") and len(soup.select("figure svg")) == 2
    reviewed = items[1].get_text()
    assert "alice" in reviewed and "reported-to-platform" in reviewed and "seen <b>it</b>" in reviewed
    assert not items[2].find("a")  # javascript: is never a link
    assert [a["href"] for a in soup.select("div.item a")] == ["https://reddit.example/4", "https://mumsnet.example/t/1"]
    assert "Gazette" in soup.select("section")[-1].get_text() and "TikTok" in text


def test_html_report_lists_at_most_the_limit_and_says_how_many_more(seeded):
    cfg, engine, _ = seeded
    data = monitor_for(cfg, now=NOW, engine=engine).report_data(SINCE, NOW, flagged_limit=2)
    from monitor import report

    text = " ".join(BeautifulSoup(report.render_html(data, cfg.templates_dir), "lxml").get_text().split())
    assert "1 more flagged item(s) are not shown here" in text


def test_report_command_writes_into_data_reports(seeded, capsys):
    cfg, _, _ = seeded
    assert (
        cli.main(
            ["--config", str(cfg.path), "report", "--since", "2026-09-12", "--until", "2026-11-10", "--format", "csv"]
        )
        == 0
    )
    path = cfg.data_dir / "reports" / "report-2026-09-12-to-2026-11-10.csv"
    assert capsys.readouterr().out.startswith(str(path))
    assert len(list(csv.DictReader(path.open(encoding="utf-8")))) == 5  # the 60-day-old one is before the 12th
    assert cli.main(["--config", str(cfg.path), "report", "--since", "2026-11-10", "--until", "2026-11-01"]) == 2


def test_a_template_beside_sources_toml_overrides_the_packaged_one(seeded):
    cfg, engine, _ = seeded
    cfg.templates_dir.mkdir()
    (cfg.templates_dir / "report.html").write_text("<p>{{ r.school }} {{ r.total }}</p>", encoding="utf-8")
    assert report_text(cfg, engine, "html") == "<p>Elm Park Primary School 6</p>"


def test_empty_database_gives_a_report_without_charts(make_config):
    cfg = make_config()
    html = report_text(cfg, store.connect(cfg.database_url), "html")
    assert "No mentions in this period" in html and "<svg" not in html


@pytest.mark.skipif(not SANITIZE.is_dir(), reason=f"{SANITIZE} is absent (it sits in ../shared beside the clone)")
def test_report_over_the_sanitizer_corpus_has_no_active_content(httpserver, make_config):
    files = sorted(SANITIZE.glob("*.xml"))
    for n, path in enumerate(files):
        httpserver.expect_request(f"/{n}").respond_with_data(path.read_bytes(), content_type="application/xml")
    cfg = make_config(
        "".join(feed_source(f"s{n}", httpserver.url_for(f"/{n}"), all_mentions=True) for n in range(len(files)))
    )
    engine = store.connect(cfg.database_url)
    monitor_for(cfg, now=NOW, engine=engine).scan()
    stored = store.list_items(engine)
    assert len(stored) > 300
    # Every stored item is shown (as if all were flagged), its author and title in the byline too.
    data = monitor_for(cfg, now=NOW, engine=engine).report_data(NOW - timedelta(days=3650), NOW + timedelta(days=1))
    data = dataclasses.replace(data, flagged=tuple(stored))
    from monitor import report

    html = report.render_html(data, cfg.templates_dir)
    soup = BeautifulSoup(html, "lxml")
    assert "javascript:" not in html.lower() and "<script" not in html.lower()
    assert not soup.find_all(["script", "iframe", "object", "embed", "applet", "base", "form"])
    for tag in soup.find_all(True):
        for name, value in tag.attrs.items():
            assert not name.lower().startswith("on"), (tag.name, name)
            assert "javascript:" not in " ".join(value if isinstance(value, list) else [value]).lower()
    assert all(a["href"].startswith(("http://", "https://")) for a in soup.find_all("a"))
    shown = " ".join(soup.get_text().split())
    missing = [i.id for i in stored if " ".join(i.text.split()) not in shown]
    assert not missing, missing[:5]


def test_scan_since_keeps_an_old_item_that_a_plain_scan_ignores(httpserver, make_config, capsys):
    old = datetime.now(UTC) - timedelta(days=270)
    body = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><guid>old</guid>'
        f"<title>Elm Park Primary parents complain</title><description>Nine months ago.</description>"
        f"<pubDate>{old.strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate></item></channel></rss>"
    ).encode()
    httpserver.expect_request("/f").respond_with_data(body, content_type="application/rss+xml")
    cfg = make_config(feed_source("F", httpserver.url_for("/f")), extra="[storage]\nkeep_days = 90\n")
    assert cli.main(["--config", str(cfg.path), "scan"]) == 0
    assert monitor_for(cfg).items() == []
    since = (old - timedelta(days=30)).date().isoformat()
    assert cli.main(["--config", str(cfg.path), "scan", "--since", since]) == 0
    (item,) = monitor_for(cfg).items()
    assert item.title == "Elm Park Primary parents complain"
    capsys.readouterr()
    assert cli.main(["--config", str(cfg.path), "report", "--since", since, "--format", "json", "-o", "-"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [i["title"] for i in doc["items"]] == ["Elm Park Primary parents complain"]


def test_report_of_a_period_uses_published_dates_not_when_collected(seeded):
    cfg, engine, ids = seeded
    doc = json.loads(report_text(cfg, engine, "json", since=NOW - timedelta(days=401), until=NOW - timedelta(days=399)))
    assert [i["id"] for i in doc["items"]] == [ids[7]]
    assert re.match(r"2025-10-0\dT", doc["items"][0]["published"])
