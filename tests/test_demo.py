"""`make demo` runs end to end offline: the sample web on 127.0.0.1, the real CLI, a report at the end."""

from bs4 import BeautifulSoup

from demo import run_demo


def test_demo_runs_the_whole_flow(tmp_path, capsys):
    assert run_demo.main(["--dir", str(tmp_path / "demo"), "--desk-seconds", "0"]) == 0
    out = capsys.readouterr().out
    assert "sign in as 'demo' with the password 'elm-park-demo'" in out  # the desk answered
    assert "The review desk has stopped." in out
    assert "the post has gone (re-checked)" in out
    assert "Elm Park station" not in out  # the off-topic item is never stored
    (report,) = (tmp_path / "demo" / "data" / "reports").glob("*.html")
    soup = BeautifulSoup(report.read_text(encoding="utf-8"), "lxml")
    flagged = soup.select("div.item")
    assert any("scum" in i.get_text() and "removed" in i.get_text() for i in flagged)
    assert "added by hand: Facebook" in soup.get_text()
