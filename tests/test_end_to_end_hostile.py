"""One bad thing spoils only itself, end to end through the command line: a server-chosen charset
that is no charset, and terminal escapes in what a post says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from monitor import config
from tests.conftest import feed_source, monitor_for, write_config

ROOT = Path(__file__).resolve().parents[1]


def run(path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(path), *args],
        capture_output=True,
        text=True,
        cwd=path.parent,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def feed(server, items: list[tuple[str, str, str]]) -> str:
    body = "".join(
        f"<item><guid>{g}</guid><title>{t}</title><link>{link}</link><description>{t}</description></item>"
        for g, t, link in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Forum</title><link>http://forum.example/</link>'
        f"<description>d</description>{body}</channel></rss>"
    )


def test_a_recheck_of_a_page_with_a_bogus_charset_neither_fails_the_scan_nor_holds_its_alert(httpserver, tmp_path):
    post = httpserver.url_for("/post/1")
    httpserver.expect_request("/post/1").respond_with_data(
        b"<p>Elm Park Primary head is a liar</p>", content_type="text/html; charset=x-bogus"
    )
    first = feed(httpserver, [("g1", "Elm Park Primary head is a liar and a disgrace", post)])
    httpserver.expect_ordered_request("/f").respond_with_data(first, content_type="application/rss+xml")
    path = write_config(tmp_path, feed_source("Forum", httpserver.url_for("/f")))
    assert run(path, "scan").returncode == 0
    m = monitor_for(config.load(path))
    (item,) = m.items()
    m.review(item.id, status="actioned", action="deletion-requested", by="alice")
    # The next scan re-checks that page (served with a charset that is none) and finds a new threat.
    threat = "Elm Park Primary: I know where Mrs Woods parks, she'll be sorry"
    second = feed(
        httpserver, [("g1", "Elm Park Primary head is a liar and a disgrace", post), ("g2", threat, post + "2")]
    )
    httpserver.clear()
    httpserver.expect_request("/post/1").respond_with_data(
        b"<p>Elm Park Primary head is a liar</p>", content_type="text/html; charset=x-bogus"
    )
    httpserver.expect_request("/f").respond_with_data(second, content_type="application/rss+xml")
    done = run(path, "scan")
    assert done.returncode == 0, done.stderr
    assert "internal error" not in done.stderr
    new = [i for i in m.items() if i.id != item.id]
    assert new and new[0].label == "abuse" and new[0].alerted_at is not None  # alerted, not held up


def test_add_by_hand_reads_a_page_served_in_a_charset_that_is_none(httpserver, tmp_path):
    httpserver.expect_request("/p").respond_with_data(
        "<p>Elm Park Primary’s new head is brilliant</p>".encode(), content_type="text/html; charset=utf8mb4"
    )
    path = write_config(tmp_path)
    done = run(path, "add", "--url", httpserver.url_for("/p"), "--by", "alice")
    assert done.returncode == 0, done.stderr
    (item,) = monitor_for(config.load(path)).items()
    assert "brilliant" in item.text


def test_terminal_escapes_in_a_post_never_reach_the_terminal(tmp_path):
    """Printing strips them (a text pasted by hand is stored as it was; feeds lose them when parsed)."""
    erase = "\x1b[2K\x1b[1A"  # erase the line above: would hide "abuse high" in `items`
    clipboard = "\x1b]52;c;ZWNobyBwd25lZA==\x07"  # OSC 52: write the clipboard
    path = write_config(tmp_path)
    text = f"Elm Park Primary head is scum{erase} and a liar{clipboard}"
    assert run(path, "add", "--url", "https://forum.invalid/1", "--text", text, "--by", "alice").returncode == 0
    (item,) = monitor_for(config.load(path)).items()
    assert erase in item.text  # stored as it was
    for args in (["items"], ["show", str(item.id)]):
        out = run(path, *args).stdout
        assert "\x1b" not in out and "\x07" not in out
        assert "Elm Park Primary head is scum" in out
