"""sources.toml validation: every problem named with its file and key; exit status 2, no traceback."""

import subprocess
import sys

import pytest

from monitor import cli, config
from monitor.errors import ConfigError
from tests.conftest import SCHOOL, write_config


def problems(tmp_path, text: str) -> str:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        config.load(path)
    return str(e.value)


@pytest.mark.parametrize(
    "extra, key, words",
    [
        ('[alerts]\nrecipents = ["a@b.org"]\n', "alerts.recipents", "did you mean 'recipients'"),
        ('[[source]]\nname = "x"\ntype = "feed"\n', "source[1] (x).url", "missing required key"),
        (
            '[[source]]\nname = "x"\ntype = "feed"\nurl = "ftp://example.org/feed"\n',
            "source[1] (x).url",
            "not an http(s) URL",
        ),
        (
            '[[source]]\nname = "x"\ntype = "tweet"\nurl = "https://example.org/"\n',
            "source[1] (x).type",
            "unknown source type",
        ),
        (
            '[[source]]\nname = "x"\ntype = "feed"\nurl = "https://example.org/"\ninterval = "90"\n',
            "source[1] (x).interval",
            "not a duration",
        ),
        (
            '[[source]]\nname = "x"\ntype = "feed"\nurl = "https://e.org/a"\n[[source]]\nname = "x"\ntype = "feed"\nurl = "https://e.org/b"\n',
            "source[2] (x).name",
            "duplicate source name",
        ),
        (
            '[[source]]\nname = "x"\ntype = "feed"\nurl = "https://e.org/a"\nitem = "div.post"\n',
            "source[1] (x).item",
            "only for type",
        ),
        ('[smtp]\nhost = "smtp.example.org"\npassword = "hunter2"\n', "smtp.password", "environment variable"),
        ('[smtp]\nhost = "smtp.example.org"\nsecurity = "ssl"\n', "smtp.security", "not one of"),
        ('[defaults]\nmax_bytes = "lots"\n', "defaults.max_bytes", "not a size"),
        ("[alerts.x]\n", "alerts.x", "unknown key"),
    ],
)
def test_each_problem_names_its_key(tmp_path, extra, key, words):
    school_only = SCHOOL.split("[alerts]")[0]
    message = problems(tmp_path, school_only + extra)
    assert f"sources.toml: {key}: " in message
    assert words in message


def test_a_missing_type_is_one_problem_not_a_cascade(tmp_path):
    school_only = SCHOOL.split("[alerts]")[0]
    page_keys = 'item = "div.post"\ntext = ".body"\nauthor = ".a"\ndate = "time"\nlink = "a"\ntitle = "h2"\n'
    message = problems(tmp_path, school_only + '[[source]]\nname = "Forum"\nurl = "https://e.org/"\n' + page_keys)
    assert message.splitlines() == [f"{tmp_path / 'sources.toml'}: source[1] (Forum).type: missing required key"]


def test_json_sources_need_items_and_text_and_take_headers(tmp_path):
    school_only = SCHOOL.split("[alerts]")[0]
    message = problems(tmp_path, school_only + '[[source]]\nname = "API"\ntype = "json"\nurl = "https://e.org/"\n')
    assert "source[1] (API).items: missing required key" in message
    assert "source[1] (API).text: missing required key" in message
    cfg = config.load(
        write_config(
            tmp_path,
            '[[source]]\nname = "API"\ntype = "json"\nurl = "https://e.org/"\nitems = "data.posts"\n'
            'text = "body"\nheaders = { Authorization = "env:SOCIAL_TOKEN", Accept = "application/json" }\n',
        )
    )
    (src,) = cfg.sources
    assert src.items == "data.posts" and src.text == "body" and not src.robots
    assert dict(src.headers) == {"Authorization": "env:SOCIAL_TOKEN", "Accept": "application/json"}


def test_new_tables_web_hosts_channels_and_ai(tmp_path):
    cfg = config.load(
        write_config(
            tmp_path,
            extra="""
            [web]
            listen = "127.0.0.1:8090"
            base_url = "https://monitor.elmpark.example.org"
            [hosts."www.reddit.com"]
            min_gap = "60s"
            [scoring.ai]
            url = "http://127.0.0.1:11434/v1"
            model = "llama3.1:8b"
            """,
        )
    )
    assert cfg.web.listen == "127.0.0.1:8090" and cfg.web.session_hours == 12
    assert cfg.host_gaps == {"www.reddit.com": 60.0}
    assert cfg.scoring.ai is not None and cfg.scoring.ai.max_per_day == 200 and cfg.scoring.learn_from_corrections
    message = problems(tmp_path, SCHOOL + '[alerts.x]\n[hosts."a.org"]\nmin_gap = "soon"\n[scoring.ai]\nmodel = "m"\n')
    assert 'hosts."a.org".min_gap: ' in message and "scoring.ai.url: missing required key" in message


def test_a_channel_url_with_a_secret_is_not_repeated_in_the_problem(tmp_path):
    text = SCHOOL.replace("sender = ", 'urls = ["hooks.slack.com/services/T000/SECRET"]\nsender = ')
    message = problems(tmp_path, text)
    assert "alerts.urls" in message and "SECRET" not in message


def test_bad_email_address_is_named(tmp_path):
    message = problems(tmp_path, SCHOOL.replace("social-media@elmpark.example.org", "social-media at elmpark"))
    assert "alerts.recipients: 'social-media at elmpark' is not an email address" in message


def test_invalid_toml_gives_the_line(tmp_path):
    message = problems(tmp_path, SCHOOL + "\n[[source]\nname = 1\n")
    assert "invalid TOML" in message and "line 13" in message


def test_all_problems_at_once(tmp_path):
    message = problems(tmp_path, SCHOOL + '[[source]]\nname = "x"\ntype = "rss"\nurl = "nope"\ninterval = "soon"\n')
    assert len(message.splitlines()) == 3


def test_good_intervals_and_defaults(tmp_path):
    cfg = config.load(
        write_config(
            tmp_path,
            """
        [defaults]
        interval = "90m"
        [[source]]
        name = "a"
        type = "feed"
        url = "https://e.org/a"
        [[source]]
        name = "b"
        type = "page"
        url = "https://e.org/b"
        interval = "1d"
        [[source]]
        name = "c"
        type = "feed"
        url = "https://e.org/c"
        interval = "1h"
        """,
        )
    )
    a, b, c = cfg.sources
    assert a.interval.total_seconds() == 90 * 60 and not a.robots
    assert b.interval.days == 1 and b.robots  # pages obey robots.txt by default
    assert c.interval.total_seconds() == 3600


def test_relative_database_is_beside_the_config(tmp_path, monkeypatch):
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    cfg = config.load(write_config(tmp_path))
    assert cfg.database_url == f"sqlite:///{tmp_path.resolve()}/data/monitor.db"
    monkeypatch.setenv("MONITOR_DATABASE_URL", "sqlite:///other.db")
    assert cfg.database_url == f"sqlite:///{tmp_path.resolve()}/other.db"


def test_no_sources_is_valid_with_a_warning(tmp_path, capsys):
    path = write_config(tmp_path)
    assert cli.main(["--config", str(path), "check"]) == 0
    assert "no [[source]] configured" in capsys.readouterr().err


def test_cli_exit_2_without_traceback(tmp_path):
    path = write_config(tmp_path, '[[source]]\nname = "x"\ntype = "feed"\nurl = "gopher://x"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(path), "check"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "source[1] (x).url" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_config_file(tmp_path, capsys):
    assert cli.main(["--config", str(tmp_path / "nope.toml"), "check"]) == 2
    assert "file not found" in capsys.readouterr().err


def test_repository_sources_toml_is_valid():
    from pathlib import Path

    cfg = config.load(Path(__file__).resolve().parents[1] / "sources.toml")
    assert cfg.school.aliases == ("Elm Park Primary", "Elm Park School", "EPPS")
    assert len(cfg.alerts.recipients) == 3
    assert {s.type for s in cfg.sources} == {"feed", "page"}
