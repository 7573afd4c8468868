"""Instant alerts, the pile-on cap, routing, quiet hours and the outbox, against a real local SMTP
server (aiosmtpd on 127.0.0.1) and a real SQLite file. Scores are seeded with explicit labels, so
these tests do not depend on the scorer."""

from __future__ import annotations

import email
import itertools
import shutil
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from monitor import cli, config, notify, schedule, store
from monitor.models import Item, Score
from monitor.service import alerting, outgoing
from tests.conftest import feed_source, monitor_for, rss, write_config

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)  # 12:00 in London
MANAGERS = ["a.stevenson@elmpark.example.org", "l.woods@elmpark.example.org"]
DSL = "dsl@elmpark.example.org"
SEVERITY = {"extremism": "high", "abuse": "high", "criticism": "medium", "praise": "low", "neutral": "low"}


# ---------------------------------------------------------------- a real SMTP server on loopback


class Recorder:
    """An aiosmtpd handler that keeps every envelope it accepts."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content, session.ssl is not None))
        return "250 OK"

    def messages(self):
        return [email.message_from_bytes(content, policy=policy.default) for _, _, content, _ in self.envelopes]


def free_port() -> int:
    # aiosmtpd 1.4's Controller cannot take port 0: ask the kernel for a free port, then release it.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_smtp(port: int, **kwargs):
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, recorder


@pytest.fixture
def smtp():
    port = free_port()
    controller, recorder = start_smtp(port)
    recorder.port = port
    yield recorder
    controller.stop()


def smtp_table(port: int, **keys) -> str:
    lines = ["[smtp]", 'host = "127.0.0.1"', f"port = {port}", 'security = "none"']
    lines += [f'{k} = "{v}"' for k, v in keys.items()]
    return "\n".join(lines) + "\n"


def alerts_table(**keys) -> str:
    """[alerts] with two managers; keys are TOML values as text."""
    lines = ["[alerts]", f"recipients = {MANAGERS!r}".replace("'", '"'), 'sender = "monitor@elmpark.example.org"']
    lines += [f"{k} = {v}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"


DSL_ROUTE = f"""
[[alerts.route]]
name = "safeguarding"
labels = ["extremism"]
recipients = ["{DSL}"]
"""


def make_cfg(tmp_path, extra: str) -> config.Config:
    # conftest's SCHOOL has its own [alerts]; these tests write their own after the school table.
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = write_config(tmp_path)
    school = path.read_text().split("[alerts]")[0]
    path.write_text(school + extra)
    return config.load(path)


_keys = itertools.count(1)


def seed(cfg, *specs, now=NOW):
    """Store mentions with explicit labels; specs are (label, title) or (label, title, extra Item/Score
    fields). Returns the new ids, in order."""
    scored = []
    for spec in specs:
        label, title, extra = (*spec, {})[:3]
        n = next(_keys)
        item = Item(
            source=extra.get("source", "Mumsnet"),
            key=f"k{n}",
            url=extra.get("url", f"https://mumsnet.example/t/{n}"),
            title=title,
            text=extra.get("text", f"Post {n} about Elm Park Primary."),
            author=extra.get("author", "parent42"),
            published=extra.get("published", now - timedelta(hours=1)),
        )
        score = Score(
            mention=True,
            label=label,
            severity=extra.get("severity", SEVERITY[label]),
            sentiment=-0.8,
            flags=extra.get("flags", (f"lexicon:{label}",)),
            mentions_staff=extra.get("staff", False),
        )
        scored.append(store.Scored(item, score))
    engine = store.connect(cfg.database_url)
    return list(store.save_items(engine, scored, now).new_ids), engine


def alert(cfg, *specs, now=NOW):
    _ids, engine = seed(cfg, *specs, now=now)
    return monitor_for(cfg, now=now, engine=engine).alert_new(), engine


# ---------------------------------------------------------------- instant alerts


def test_abusive_item_is_one_email_with_both_parts_to_every_recipient(tmp_path, smtp):
    cfg = make_cfg(tmp_path, alerts_table() + smtp_table(smtp.port))
    result, _ = alert(
        cfg,
        (
            "abuse",
            "The head of Elm Park Primary is a disgusting liar, watch your back",
            {"flags": ("threat:watch your back", "insult:liar"), "author": "angrydad"},
        ),
    )
    assert (result.queued, result.flushed.sent, result.flushed.waiting) == (1, 1, 0)
    ((mail_from, rcpt, _, _),) = smtp.envelopes
    assert mail_from == "monitor@elmpark.example.org" and sorted(rcpt) == sorted(MANAGERS)
    (msg,) = smtp.messages()
    assert msg["Subject"] == ('[Elm Park Primary] HIGH: abuse on Mumsnet — "The head of Elm Park Primary is a…"')
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for part in (text, html):
        assert "threat:watch your back" in part and "angrydad" in part and "Mumsnet" in part
        assert "https://mumsnet.example/t/" in part and "POSH" in part and "police" in part


def test_a_second_run_never_sends_the_same_alert_again(tmp_path, smtp):
    cfg = make_cfg(tmp_path, alerts_table() + smtp_table(smtp.port))
    _ids, engine = seed(cfg, ("abuse", "Elm Park Primary staff are scum"))
    monitor_for(cfg, now=NOW, engine=engine).alert_new()
    again = monitor_for(cfg, now=NOW + timedelta(minutes=5), engine=engine).alert_new()
    assert again.queued == 0 and len(smtp.envelopes) == 1


def test_a_kill_between_storing_and_alerting_loses_no_alert(tmp_path, smtp):
    cfg = make_cfg(tmp_path, alerts_table() + smtp_table(smtp.port))
    ids, engine = seed(cfg, ("abuse", "Elm Park Primary staff are scum"))  # stored, then the process died
    assert store.pending_alerts(engine) == ids
    result = monitor_for(cfg, now=NOW + timedelta(minutes=1), engine=engine).alert_new()  # the next scan or daemon tick
    assert result.queued == 1 and len(smtp.envelopes) == 1
    assert store.pending_alerts(engine) == []


def test_criticism_and_praise_wait_for_the_digest_but_criticism_naming_staff_is_sent(tmp_path, smtp):
    cfg = make_cfg(tmp_path, alerts_table() + smtp_table(smtp.port))
    result, _ = alert(
        cfg,
        ("criticism", "Elm Park Primary lost my form"),
        ("praise", "Lovely nativity"),
        ("criticism", "Mrs Sale at Elm Park Primary ignores us", {"staff": True, "severity": "high"}),
    )
    assert result.queued == 1
    (msg,) = smtp.messages()
    assert "Mrs Sale" in msg["Subject"] and "HIGH: criticism" in msg["Subject"]


def test_old_posts_found_now_go_to_the_digest_only(tmp_path, smtp):
    cfg = make_cfg(tmp_path, alerts_table(immediate_max_age='"14d"') + smtp_table(smtp.port))
    result, _ = alert(cfg, ("abuse", "Old abuse of Elm Park Primary", {"published": NOW - timedelta(days=30)}))
    assert result.queued == 0 and smtp.envelopes == []
    email_ = monitor_for(cfg, now=NOW).render_digest()
    assert "Old abuse of Elm Park Primary" in email_.text


def test_extremism_goes_to_the_safeguarding_lead_and_criticism_does_not(tmp_path, smtp):
    cfg = make_cfg(tmp_path, alerts_table() + DSL_ROUTE + smtp_table(smtp.port))
    alert(
        cfg,
        ("extremism", "Elm Park Primary deserves what is coming, join us"),
        ("criticism", "Mrs Woods at Elm Park Primary is useless", {"staff": True, "severity": "high"}),
    )
    by_rcpt = {}
    for _, rcpt, content, _ in smtp.envelopes:
        subject = email.message_from_bytes(content, policy=policy.default)["Subject"]
        by_rcpt.setdefault(tuple(sorted(rcpt)), []).append(subject)
    assert [s.split(" on ")[0] for s in by_rcpt[(DSL,)]] == ["[Elm Park Primary] HIGH: extremism"]
    assert sorted(s.split(" on ")[0] for s in by_rcpt[tuple(sorted(MANAGERS))]) == [
        "[Elm Park Primary] HIGH: criticism",
        "[Elm Park Primary] HIGH: extremism",
    ]


def test_a_route_sends_its_labels_even_when_they_are_not_immediate(tmp_path, smtp):
    cfg = make_cfg(tmp_path, alerts_table(immediate="[]") + DSL_ROUTE + smtp_table(smtp.port))
    alert(cfg, ("extremism", "Elm Park Primary is a target"))
    assert [rcpt for _, rcpt, _, _ in smtp.envelopes] == [[DSL]]


def test_quiet_hours_hold_criticism_but_not_abuse(tmp_path, smtp):
    cfg = make_cfg(
        tmp_path, alerts_table(quiet_hours='"20:00-07:00"', timezone='"Europe/London"') + smtp_table(smtp.port)
    )
    night = datetime(2026, 11, 10, 22, 30, tzinfo=UTC)  # 22:30 in London (GMT in November)
    result, engine = alert(
        cfg,
        ("abuse", "Elm Park Primary teachers are vermin"),
        ("criticism", "Ms Morris of Elm Park Primary is unfair", {"staff": True, "severity": "high"}),
        now=night,
    )
    assert (result.queued, result.flushed.sent, result.flushed.waiting) == (2, 1, 1)
    assert "abuse" in smtp.messages()[0]["Subject"]
    (held,) = monitor_for(cfg, engine=engine).outbox()
    assert held.not_before == datetime(2026, 11, 11, 7, 0, tzinfo=UTC)
    assert monitor_for(cfg, now=datetime(2026, 11, 11, 6, 59, tzinfo=UTC), engine=engine).flush_outbox().sent == 0
    assert monitor_for(cfg, now=datetime(2026, 11, 11, 7, 0, tzinfo=UTC), engine=engine).flush_outbox().sent == 1
    assert "criticism" in smtp.messages()[1]["Subject"] and len(smtp.envelopes) == 2


def test_quiet_hours_end_is_in_the_school_time_zone_in_summer(tmp_path):
    cfg = make_cfg(tmp_path, alerts_table(quiet_hours='"20:00-07:00"'))
    # 05:00 UTC in June is 06:00 in London (BST): quiet until 07:00 BST = 06:00 UTC.
    assert schedule.quiet_until(
        cfg.alerts.quiet_hours, datetime(2026, 6, 1, 5, 0, tzinfo=UTC), cfg.alerts.tz
    ) == datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
    assert schedule.quiet_until(cfg.alerts.quiet_hours, datetime(2026, 6, 1, 12, 0, tzinfo=UTC), cfg.alerts.tz) is None


def test_a_pile_on_becomes_one_summary_email_past_the_hourly_cap(tmp_path, smtp):
    cfg = make_cfg(tmp_path, alerts_table(max_per_hour=3) + smtp_table(smtp.port))
    specs = [("abuse", f"Elm Park Primary pile-on post {n}") for n in range(12)]
    result, _engine = alert(cfg, *specs)
    assert (result.queued, result.piled) == (4, 9)
    kinds = [m["X-School-Monitor"] for m in smtp.messages()]
    assert kinds == ["alert", "alert", "alert", "pileon"]
    pileon = smtp.messages()[3]
    assert "pile-on, 9 more items (abuse)" in pileon["Subject"]
    assert pileon.get_body(("plain",)).get_content().count("pile-on post") == 9
    # within the same hour the cap is still spent: the next burst is one more summary
    later, _ = alert(
        cfg,
        ("abuse", "Elm Park Primary one more"),
        ("abuse", "Elm Park Primary and another"),
        now=NOW + timedelta(minutes=30),
    )
    assert (later.queued, later.piled) == (1, 2)
    # an hour on, single alerts again
    after, _ = alert(cfg, ("abuse", "Elm Park Primary next day"), now=NOW + timedelta(hours=2))
    assert (after.queued, after.piled) == (1, 0)
    assert len(smtp.envelopes) == 6


# ---------------------------------------------------------------- hostile input


def test_a_header_injection_in_a_title_adds_no_header(tmp_path, smtp):
    cfg = make_cfg(tmp_path, alerts_table() + smtp_table(smtp.port))
    alert(cfg, ("abuse", "Elm Park Primary\r\nBcc: x@evil.example\r\n\r\nbody", {"url": "javascript:alert(1)"}))
    ((_, rcpt, content, _),) = smtp.envelopes
    assert sorted(rcpt) == sorted(MANAGERS)
    msg = email.message_from_bytes(content, policy=policy.default)
    assert msg["Bcc"] is None and "evil" not in str(msg["To"])
    assert "\n" not in msg["Subject"] and "Bcc: x@evil.example" in msg["Subject"]
    assert 'href="javascript' not in msg.get_body(("html",)).get_content()


def test_script_in_a_title_arrives_escaped(tmp_path, smtp):
    cfg = make_cfg(tmp_path, alerts_table() + smtp_table(smtp.port))
    alert(
        cfg,
        (
            "abuse",
            'Elm Park Primary <script>alert("x")</script>',
            {"text": "<img src=x onerror=alert(1)> Elm Park Primary", "author": "<b>anon</b>"},
        ),
    )
    (msg,) = smtp.messages()
    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>anon" not in html
    assert "<script>" in msg.get_body(("plain",)).get_content()  # plain text is shown as written


def test_a_very_long_title_gives_a_capped_subject(tmp_path, smtp):
    cfg = make_cfg(tmp_path, alerts_table() + smtp_table(smtp.port))
    alert(cfg, ("abuse", "Elm\u2028Park\x00Primary " + "x" * 5000, {"source": "S" * 500}))
    (msg,) = smtp.messages()
    assert len(msg["Subject"]) <= 200 and "\x00" not in msg["Subject"] and "\u2028" not in msg["Subject"]


# ---------------------------------------------------------------- the outbox: nothing lost, nothing twice


def test_server_down_then_up_delivers_exactly_once(tmp_path):
    port = free_port()  # nothing listens here yet
    cfg = make_cfg(tmp_path, alerts_table() + smtp_table(port))
    result, engine = alert(cfg, ("abuse", "Elm Park Primary head is a crook"))
    assert (result.queued, result.flushed.sent, result.flushed.failed, result.flushed.waiting) == (1, 0, 1, 1)
    (queued,) = monitor_for(cfg, engine=engine).outbox()
    assert queued.attempts == 1 and "cannot send by 127.0.0.1" in queued.last_error
    assert queued.next_attempt == NOW + timedelta(minutes=1)
    controller, recorder = start_smtp(port)
    try:
        assert monitor_for(cfg, now=NOW + timedelta(seconds=30), engine=engine).flush_outbox().sent == 0  # backing off
        done = monitor_for(cfg, now=NOW + timedelta(minutes=2), engine=engine).flush_outbox()
        assert (done.sent, done.waiting) == (1, 0)
        assert monitor_for(cfg, now=NOW + timedelta(hours=3), engine=engine).flush_outbox().sent == 0
        assert monitor_for(cfg, now=NOW + timedelta(hours=3), engine=engine).alert_new().queued == 0
    finally:
        controller.stop()
    assert len(recorder.envelopes) == 1
    assert monitor_for(cfg, engine=engine).outbox() == []


def test_a_send_killed_mid_way_is_retried_after_the_lease_and_not_before(tmp_path, smtp):
    cfg = make_cfg(tmp_path, alerts_table() + smtp_table(smtp.port))
    ids, engine = seed(cfg, ("abuse", "Elm Park Primary is run by thugs"))
    item = store.get_item(engine, ids[0])
    email_ = notify.render_alert(cfg, item, cfg.alerts.recipients, "main")
    store.queue_emails(engine, [outgoing.email_row(cfg, email_, None, NOW)], NOW)
    (entry,) = store.due_emails(engine, NOW)
    assert store.claim_email(engine, entry.id, NOW, NOW + alerting.SEND_LEASE)  # ...and the sender dies here
    assert monitor_for(cfg, now=NOW + timedelta(minutes=1), engine=engine).flush_outbox().sent == 0
    assert monitor_for(cfg, now=NOW + alerting.SEND_LEASE, engine=engine).flush_outbox().sent == 1
    assert len(smtp.envelopes) == 1


def test_without_smtp_each_email_is_a_parseable_eml_file(tmp_path):
    cfg = make_cfg(tmp_path, alerts_table())
    result, engine = alert(cfg, ("abuse", "Elm Park Primary <b>is</b> a disgrace"))
    assert result.flushed.sent == 1
    (path,) = cfg.outbox_dir.glob("*.eml")
    assert not list(cfg.outbox_dir.glob("*.tmp"))
    msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert msg["To"] == ", ".join(MANAGERS) and msg["Subject"].startswith("[Elm Park Primary] HIGH: abuse")
    assert msg.get_body(("plain",)) is not None and "&lt;b&gt;" in msg.get_body(("html",)).get_content()
    assert monitor_for(cfg, engine=engine).outbox() == []


# ---------------------------------------------------------------- STARTTLS, login, certificates


@pytest.fixture
def tls_cert(tmp_path):
    """A self-signed certificate for 127.0.0.1, made with the openssl command-line tool."""
    if not shutil.which("openssl"):
        pytest.skip("the openssl command is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def starttls_smtp(tls_cert):
    import ssl

    cert, key = tls_cert
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret-pw")

    port = free_port()
    controller, recorder = start_smtp(
        port, tls_context=server_ctx, require_starttls=True, authenticator=authenticator, auth_require_tls=True
    )
    recorder.port, recorder.logins, recorder.cert = port, logins, cert
    yield recorder
    controller.stop()


def test_starttls_and_the_password_from_the_environment(tmp_path, starttls_smtp, monkeypatch, caplog):
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret-pw")
    cfg = make_cfg(
        tmp_path,
        alerts_table()
        + smtp_table(
            starttls_smtp.port,
            security="starttls",
            username="monitor",
            password_env="TEST_SMTP_PASSWORD",
            ca_file=str(starttls_smtp.cert),
        ).replace('security = "none"\n', ""),
    )
    caplog.set_level("DEBUG")
    result, _ = alert(cfg, ("abuse", "Elm Park Primary threats"))
    assert result.flushed.sent == 1
    assert starttls_smtp.logins == [(b"monitor", b"s3cret-pw")]
    ((_, _, _, over_tls),) = starttls_smtp.envelopes
    assert over_tls
    assert "s3cret-pw" not in caplog.text


def test_an_unverifiable_certificate_is_refused_and_queued(tmp_path, starttls_smtp, monkeypatch):
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret-pw")
    cfg = make_cfg(
        tmp_path,
        alerts_table()
        + smtp_table(
            starttls_smtp.port, security="starttls", username="monitor", password_env="TEST_SMTP_PASSWORD"
        ).replace('security = "none"\n', ""),
    )
    result, engine = alert(cfg, ("abuse", "Elm Park Primary threats"))
    assert (result.flushed.sent, result.flushed.failed) == (0, 1)
    assert "CERTIFICATE_VERIFY_FAILED" in monitor_for(cfg, engine=engine).outbox()[0].last_error
    assert starttls_smtp.logins == [] and starttls_smtp.envelopes == []


def test_a_missing_password_variable_is_a_queued_error_naming_it(tmp_path, starttls_smtp, monkeypatch):
    monkeypatch.delenv("TEST_SMTP_PASSWORD", raising=False)
    cfg = make_cfg(
        tmp_path,
        alerts_table()
        + smtp_table(
            starttls_smtp.port,
            security="starttls",
            username="monitor",
            password_env="TEST_SMTP_PASSWORD",
            ca_file=str(starttls_smtp.cert),
        ).replace('security = "none"\n', ""),
    )
    result, engine = alert(cfg, ("abuse", "Elm Park Primary threats"))
    assert result.flushed.failed == 1
    assert "TEST_SMTP_PASSWORD" in monitor_for(cfg, engine=engine).outbox()[0].last_error


# ---------------------------------------------------------------- end to end through a scan and the CLI


def test_scan_of_a_feed_sends_the_alert_and_no_alerts_sends_none(httpserver, tmp_path, smtp, capsys):
    # A threat and insults: abuse to a full scorer, at least criticism to any; both are immediate here.
    httpserver.expect_request("/feed").respond_with_data(
        rss(
            (
                "g1",
                "Mrs Sale at Elm Park Primary",
                "Mrs Sale at Elm Park Primary is a horrible, hateful, disgusting bully. Watch your back, you pathetic liar.",
            )
        ),
        content_type="application/rss+xml",
    )
    httpserver.expect_request("/quiet").respond_with_data(
        rss(
            (
                "q1",
                "Mrs Woods at Elm Park Primary",
                "Mrs Woods at Elm Park Primary is a horrible, hateful, disgusting bully. Watch your back, you pathetic liar.",
            )
        ),
        content_type="application/rss+xml",
    )
    immediate = 'immediate = ["extremism", "abuse", "criticism"]'
    cfg = make_cfg(
        tmp_path,
        alerts_table() + immediate + "\n" + smtp_table(smtp.port) + feed_source("Gazette", httpserver.url_for("/feed")),
    )
    summary = monitor_for(cfg, now=NOW).scan()
    assert summary.alerts_queued == 1
    (msg,) = smtp.messages()
    assert msg["Subject"].startswith("[Elm Park Primary] ") and " on Gazette — " in msg["Subject"]
    assert "Watch your back" in msg.get_body(("plain",)).get_content()
    quiet = make_cfg(
        tmp_path / "q",
        alerts_table() + immediate + "\n" + smtp_table(smtp.port) + feed_source("Quiet", httpserver.url_for("/quiet")),
    )
    assert cli.main(["--config", str(quiet.path), "scan", "--no-alerts"]) == 0
    assert len(smtp.envelopes) == 1 and len(monitor_for(quiet).items()) == 1


def test_cli_says_an_unsent_email_is_queued_and_exits_0(tmp_path, capsys):
    cfg = make_cfg(tmp_path, alerts_table() + smtp_table(free_port()))
    alert(cfg, ("abuse", "Elm Park Primary head is a crook"))
    assert cli.main(["--config", str(cfg.path), "outbox"]) == 0
    out = capsys.readouterr().out
    assert "alert" in out and "HIGH: abuse" in out and "1 attempt(s)" in out and "cannot send by" in out
    assert cli.main(["--config", str(cfg.path), "outbox", "--send"]) == 0
    out = capsys.readouterr().out
    assert "0 sent" in out and "retried" in out


def test_check_validates_the_templates_and_an_override_replaces_one(tmp_path, smtp, capsys):
    cfg = make_cfg(tmp_path, alerts_table() + smtp_table(smtp.port))
    (tmp_path / "alerts").mkdir()
    (tmp_path / "alerts" / "alert.txt").write_text("Custom alert for #{{ item.id }}: {{ item.label }}\n")
    assert cli.main(["--config", str(cfg.path), "check"]) == 0
    alert(cfg, ("abuse", "Elm Park Primary <i>x</i>"))
    (msg,) = smtp.messages()
    assert msg.get_body(("plain",)).get_content().startswith("Custom alert for #")
    assert "POSH" in msg.get_body(("html",)).get_content()  # the packaged HTML part still applies
    (tmp_path / "alerts" / "digest.html").write_text("<p>{% for x in %}</p>")
    (tmp_path / "alerts" / "pileon.txt").write_text("{{ items|length }\n")
    assert cli.main(["--config", str(cfg.path), "check"]) == 2
    err = capsys.readouterr().err
    assert "digest.html: line 1:" in err and "pileon.txt: line 1:" in err and "Traceback" not in err


def test_the_templates_are_package_data():
    from importlib.resources import files

    names = {p.name for p in files("monitor.templates").iterdir()}
    assert {f"{t}.{ext}" for t in ("alert", "digest", "pileon") for ext in ("txt", "html")} <= names


def test_a_possible_reading_is_alerted_at_once_and_says_possible(tmp_path, smtp):
    """The scorer's `possible` abuse (signals that disagreed on a grave reading) is alerted at once,
    at medium severity, worded as what it is for a person to judge."""
    cfg = make_cfg(tmp_path, alerts_table() + smtp_table(smtp.port))
    result, _ = alert(
        cfg,
        ("abuse", "Someone at Elm Park Primary should sort her out", {"severity": "medium", "flags": ("possible",)}),
    )
    assert result.queued == 1
    (msg,) = smtp.messages()
    assert msg["Subject"].startswith("[Elm Park Primary] MEDIUM: Possible abuse on Mumsnet")
