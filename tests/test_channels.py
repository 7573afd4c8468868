"""Alert channels beside email, through Apprise, against local receivers only: a pytest-httpserver
on 127.0.0.1 behind json:// (a webhook), ntfy:// (a phone push, as a self-hosted ntfy), mmost://
(a Markdown chat) and workflows:// (Teams, over local HTTPS). The same outbox guarantees as email
(one message per mention, lane and channel; retried with backoff; quiet hours), links to the
desk, and channel secrets that never show."""

from __future__ import annotations

import json
import logging
import ssl
from datetime import UTC, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer

from monitor import channels, cli, notify, store
from monitor.models import Note
from monitor.service import alerting
from tests.conftest import monitor_for
from tests.test_alerts import (  # noqa: F401  (smtp and tls_cert are fixtures)
    DSL,
    MANAGERS,
    alerts_table,
    free_port,
    make_cfg,
    seed,
    smtp,
    smtp_table,
    tls_cert,
)

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)  # 12:00 in London
NIGHT = datetime(2026, 11, 10, 22, 30, tzinfo=UTC)  # inside quiet hours 20:00-07:00
TOKEN = "s3cretT0ken9"
DESK = "https://desk.elmpark.example.org"
WEB = f'\n[web]\nbase_url = "{DESK}/"\n'  # a trailing slash, as people paste it


def hook(server: HTTPServer, path: str = f"/hook/{TOKEN}", status: int = 200) -> str:
    """A webhook on the local server; its json:// URL."""
    server.expect_request(path, method="POST").respond_with_data("ok", status=status)
    return f"json://127.0.0.1:{server.port}{path}"


def posts(server: HTTPServer, path: str | None = None) -> list[dict]:
    return [json.loads(req.get_data()) for req, _ in server.log if path is None or req.path == path]


def toml_list(values) -> str:
    return json.dumps(list(values))


def channel_cfg(tmp_path, urls=(), extra: str = "", web: str = WEB, **keys):
    """[alerts] with the two managers and these channel URLs; emails go to data/outbox/ (no [smtp])."""
    return make_cfg(tmp_path, alerts_table(**keys) + f"urls = {toml_list(urls)}\n" + extra + web)


def route(name: str, labels, urls=(), recipients=()) -> str:
    return (
        f'\n[[alerts.route]]\nname = "{name}"\nlabels = {toml_list(labels)}\n'
        f"urls = {toml_list(urls)}\nrecipients = {toml_list(recipients)}\n"
    )


def alerted(cfg, *specs, now=NOW):
    ids, engine = seed(cfg, *specs, now=now)
    return ids, monitor_for(cfg, now=now, engine=engine).alert_new(), engine


# ---------------------------------------------------------------- one message per alert and channel


def test_a_json_channel_gets_one_post_per_alert_with_its_label_and_desk_link(tmp_path, httpserver):
    url = hook(httpserver)
    cfg = channel_cfg(tmp_path, [url])
    ids, result, engine = alerted(
        cfg,
        ("abuse", "The head of Elm Park Primary is a liar", {"flags": ("insult:liar",), "author": "angrydad"}),
        ("extremism", "Elm Park Primary is a target"),
        ("praise", "Lovely nativity at Elm Park Primary"),
    )
    assert (result.queued, result.flushed.sent, result.flushed.waiting) == (4, 4, 0)  # an email and a note each
    bodies = {b["title"].split(":")[1].split()[0]: b for b in posts(httpserver)}
    assert sorted(bodies) == ["abuse", "extremism"]
    abuse = bodies["abuse"]
    assert abuse["title"] == "HIGH: abuse about Elm Park Primary on Mumsnet" and abuse["type"] == "failure"
    assert "The head of Elm Park Primary is a liar" in abuse["message"] and "insult:liar" in abuse["message"]
    assert f"Review: {DESK}/mentions/{ids[0]}" in abuse["message"] and "angrydad" in abuse["message"]
    assert f"{DESK}/mentions/{ids[1]}" in bodies["extremism"]["message"]
    again = monitor_for(cfg, now=NOW + timedelta(minutes=5), engine=engine).alert_new()
    assert again.queued == 0 and len(posts(httpserver)) == 2  # exactly once per channel, ever
    assert monitor_for(cfg, engine=engine).outbox() == []


def test_the_safeguarding_route_reaches_the_dsls_phone_with_extremism_only(tmp_path, httpserver):
    httpserver.expect_request("/", method="POST").respond_with_data("{}")  # a self-hosted ntfy server
    phone = f"ntfy://127.0.0.1:{httpserver.port}/elmpark-dsl"
    cfg = channel_cfg(tmp_path, [hook(httpserver)], extra=route("safeguarding", ["extremism"], urls=[phone]))
    ids, result, _ = alerted(cfg, ("extremism", "Elm Park Primary deserves what is coming"), ("abuse", "EPPS scum"))
    (push,) = posts(httpserver, "/")
    assert push["topic"] == "elmpark-dsl" and push["title"].startswith("HIGH: extremism about Elm Park Primary")
    assert f"{DESK}/mentions/{ids[0]}" in push["message"]
    assert len(posts(httpserver, f"/hook/{TOKEN}")) == 2  # the main channel hears about both
    assert result.flushed.waiting == 0


def test_a_pile_on_is_one_note_per_channel_and_the_cap_counts_mentions_not_messages(tmp_path, httpserver):
    cfg = channel_cfg(tmp_path, [hook(httpserver)], max_per_hour=2)
    ids, result, engine = alerted(cfg, *[("abuse", f"Elm Park Primary pile-on post {n}") for n in range(5)])
    assert (result.queued, result.piled) == (6, 3)  # two alerts and a pile-on, by email and on the channel
    kinds = [b["title"] for b in posts(httpserver)]
    assert [k.startswith("HIGH: abuse") for k in kinds] == [True, True, False]
    pileon = posts(httpserver)[2]
    assert "pile-on about Elm Park Primary, 3 more items (abuse)" in pileon["title"]
    assert all(f"#{i} " in pileon["message"] and f"{DESK}/mentions/{i}" in pileon["message"] for i in ids[2:])
    assert f"Review them: {DESK}/" in pileon["message"]
    assert store.count_alerts_since(engine, NOW - timedelta(hours=1), "main") == 2  # mentions, not 4 messages
    _, later, _ = alerted(cfg, ("abuse", "Elm Park Primary one more"), now=NOW + timedelta(minutes=10))
    assert (later.queued, later.piled) == (2, 1)  # still past the cap: a pile-on, by email and on the channel


# ---------------------------------------------------------------- the outbox: nothing lost, nothing twice


def test_receiver_down_then_back_delivers_once(tmp_path):
    port = free_port()  # nothing listens here yet
    cfg = channel_cfg(tmp_path, [f"json://127.0.0.1:{port}/hook/{TOKEN}"])
    _, result, engine = alerted(cfg, ("abuse", "Elm Park Primary head is a crook"))
    assert (result.flushed.sent, result.flushed.failed, result.flushed.waiting) == (1, 1, 1)  # the email went
    (queued,) = monitor_for(cfg, engine=engine).outbox()
    assert queued.channel.endswith(f" json://127.0.0.1:{port}") and queued.attempts == 1
    assert queued.last_error.startswith(f"json://127.0.0.1:{port}: ") and "connection" in queued.last_error.lower()
    assert queued.next_attempt == NOW + timedelta(minutes=1)
    receiver = HTTPServer(host="127.0.0.1", port=port)
    receiver.expect_request(f"/hook/{TOKEN}", method="POST").respond_with_data("ok")
    receiver.start()
    try:
        assert monitor_for(cfg, now=NOW + timedelta(seconds=30), engine=engine).flush_outbox().sent == 0  # backing off
        done = monitor_for(cfg, now=NOW + timedelta(minutes=2), engine=engine).flush_outbox()
        assert (done.sent, done.waiting) == (1, 0)
        assert monitor_for(cfg, now=NOW + timedelta(hours=3), engine=engine).flush_outbox(force=True).sent == 0
        assert monitor_for(cfg, now=NOW + timedelta(hours=3), engine=engine).alert_new().queued == 0
    finally:
        receiver.stop()
    assert len(receiver.log) == 1


def test_a_failing_channel_keeps_its_error_and_does_not_hold_up_the_others(tmp_path, httpserver, smtp):
    good = hook(httpserver)
    bad = hook(httpserver, "/broken/hook", status=503)
    cfg = channel_cfg(tmp_path, [bad, good], extra="", web=WEB + smtp_table(smtp.port))
    _, result, engine = alerted(cfg, ("abuse", "EPPS staff are scum"), ("abuse", "Elm Park Primary thugs"))
    assert (result.flushed.sent, result.flushed.failed) == (4, 1)  # two emails, two good notes; one try at the bad
    assert len(smtp.envelopes) == 2 and len(posts(httpserver, f"/hook/{TOKEN}")) == 2
    assert len(posts(httpserver, "/broken/hook")) == 1  # the second note for it waits: the service is failing
    waiting = monitor_for(cfg, engine=engine).outbox()
    assert len(waiting) == 2 and all(e.channel.endswith(f"json://127.0.0.1:{httpserver.port}") for e in waiting)
    assert "503" in waiting[0].last_error and waiting[1].attempts == 0
    assert "503" in result.flushed.errors[0]


def test_outbox_send_flushes_whatever_the_backoff_but_leaves_quiet_hours_alone_unless_held(tmp_path):
    port = free_port()
    cfg = channel_cfg(tmp_path, [f"json://127.0.0.1:{port}/hook/{TOKEN}"], quiet_hours='"20:00-07:00"')
    _, result, engine = alerted(
        cfg,
        ("abuse", "Elm Park Primary teachers are vermin"),
        ("criticism", "Ms Morris of Elm Park Primary is unfair", {"staff": True, "severity": "high"}),
        now=NIGHT,
    )
    assert (result.flushed.sent, result.flushed.failed) == (1, 1)  # the abuse email; its note failed
    receiver = HTTPServer(host="127.0.0.1", port=port)
    receiver.expect_request(f"/hook/{TOKEN}", method="POST").respond_with_data("ok")
    receiver.start()
    try:
        later = NIGHT + timedelta(seconds=20)  # the failed note backs off until NIGHT + 1 minute
        assert monitor_for(cfg, now=later, engine=engine).flush_outbox().sent == 0
        flushed = monitor_for(cfg, now=later, engine=engine).flush_outbox(force=True)
        assert (flushed.sent, flushed.waiting) == (1, 2)  # the abuse note; criticism's email and note are held
        assert "abuse" in json.loads(receiver.log[0][0].get_data())["title"]
        held = monitor_for(cfg, now=later, engine=engine).flush_outbox(force=True, held=True)
        assert (held.sent, held.waiting) == (2, 0)
    finally:
        receiver.stop()
    assert len(receiver.log) == 2


def test_a_flush_that_ignores_backoff_leaves_a_message_another_sender_is_sending(tmp_path, httpserver):
    cfg = channel_cfg(tmp_path, [hook(httpserver)], web="")
    ids, engine = seed(cfg, ("abuse", "Elm Park Primary is run by thugs"))
    item = store.get_item(engine, ids[0])
    (ch,) = channels.configured(cfg)
    note = notify.render_alert_note(cfg, item, "main")
    store.queue_emails(engine, [alerting._note_outgoing(cfg, note, ch, [item], NOW)], NOW)
    (entry,) = store.due_emails(engine, NOW)
    assert store.claim_email(engine, entry.id, NOW, NOW + alerting.SEND_LEASE)  # ...and that sender is still at it
    assert monitor_for(cfg, now=NOW + timedelta(minutes=1), engine=engine).flush_outbox(force=True).sent == 0
    assert monitor_for(cfg, now=NOW + alerting.SEND_LEASE, engine=engine).flush_outbox().sent == 1
    assert len(posts(httpserver)) == 1
    assert alerting.SEND_LEASE not in {alerting.retry_delay(n) for n in range(1, 30)}  # a lease is told from a backoff


def test_quiet_hours_hold_channel_notes_but_never_abuse(tmp_path, httpserver):
    cfg = channel_cfg(tmp_path, [hook(httpserver)], quiet_hours='"20:00-07:00"')
    _, result, engine = alerted(
        cfg,
        ("abuse", "Elm Park Primary teachers are vermin"),
        ("criticism", "Ms Morris of Elm Park Primary is unfair", {"staff": True, "severity": "high"}),
        now=NIGHT,
    )
    assert (result.queued, result.flushed.sent, result.flushed.waiting) == (4, 2, 2)
    assert [b["title"].split()[1] for b in posts(httpserver)] == ["abuse"]
    assert monitor_for(cfg, now=datetime(2026, 11, 11, 6, 59, tzinfo=UTC), engine=engine).flush_outbox().sent == 0
    assert monitor_for(cfg, now=datetime(2026, 11, 11, 7, 0, tzinfo=UTC), engine=engine).flush_outbox().sent == 2
    assert [b["title"].split()[1] for b in posts(httpserver)] == ["abuse", "criticism"]
    assert posts(httpserver)[1]["type"] == "failure"  # criticism naming staff is high


def test_a_channel_taken_out_of_the_config_fails_clearly_and_stays_in_the_outbox(tmp_path, httpserver, monkeypatch):
    monkeypatch.setenv("TEST_ALERT_URLS", hook(httpserver, status=503))
    cfg = channel_cfg(tmp_path, extra='urls_env = "TEST_ALERT_URLS"\n')
    _, result, engine = alerted(cfg, ("abuse", "EPPS staff are scum"))
    assert result.flushed.failed == 1 and len(posts(httpserver)) == 1  # read from the environment when sent
    monkeypatch.delenv("TEST_ALERT_URLS")
    flushed = monitor_for(cfg, now=NOW + timedelta(minutes=5), engine=engine).flush_outbox()
    assert flushed.failed == 1 and "no longer in sources.toml" in flushed.errors[0]
    (entry,) = monitor_for(cfg, engine=engine).outbox()
    assert entry.attempts == 2 and "no longer in sources.toml" in entry.last_error
    assert len(posts(httpserver)) == 1


# ---------------------------------------------------------------- the digest


def test_the_digest_goes_to_the_main_channels_as_a_summary_with_links_to_the_desk(tmp_path, httpserver):
    httpserver.expect_request("/", method="POST").respond_with_data("{}")
    phone = f"ntfy://127.0.0.1:{httpserver.port}/elmpark-dsl"
    cfg = channel_cfg(tmp_path, [hook(httpserver)], extra=route("safeguarding", ["extremism"], urls=[phone]))
    ids, engine = seed(
        cfg,
        ("abuse", "Elm Park Primary staff are scum"),
        ("criticism", "Elm Park Primary lost my form"),
        ("praise", "Lovely nativity at Elm Park Primary"),
    )
    store.clear_pending(engine, ids)  # no instant alerts: only the digest
    result = monitor_for(cfg, now=NOW, engine=engine).send_digest()
    assert result.queued and result.channels == (f"json://127.0.0.1:{httpserver.port}",)
    (note,) = posts(httpserver)  # the main channel only, not the route's phone
    assert note["title"] == "Elm Park Primary daily digest Tue 10 Nov 2026: 3 new, 1 high"
    assert "3 new: 1 abuse, 1 criticism, 1 praise" in note["message"]
    assert f"#{ids[0]} high abuse on Mumsnet: Elm Park Primary staff are scum" in note["message"]
    assert f"{DESK}/mentions/{ids[0]}" in note["message"] and f"Open the queue: {DESK}/" in note["message"]
    (eml,) = cfg.outbox_dir.glob("*.eml")
    text = eml.read_text()
    assert all(f"{DESK}/mentions/{i}" in text for i in ids) and f"Review on the desk: {DESK}/" in text
    again = monitor_for(cfg, now=NOW + timedelta(days=1), engine=engine).send_digest()
    assert again.email is None and len(posts(httpserver)) == 1


# ---------------------------------------------------------------- what arrives, and what never shows

HOSTILE = (
    "Elm Park Primary \x1b[2K\x1b]52;c;ZXZpbA==\x07 [Review now](https://evil.example/phish) **urgent** "
    "<script>alert(1)</script>\u202e\nReview: https://evil.example/forged " + "x" * 3000
)


def test_hostile_text_arrives_as_text_on_a_plain_and_a_markdown_channel(tmp_path, httpserver):
    plain = hook(httpserver)
    httpserver.expect_request("/hooks/mmtoken", method="POST").respond_with_data("ok")
    markdown = f"mmost://127.0.0.1:{httpserver.port}/mmtoken?format=markdown"  # a chat that renders Markdown
    cfg = channel_cfg(tmp_path, [plain, markdown])
    ids, _, _ = alerted(cfg, ("abuse", HOSTILE, {"author": "<b>anon</b>\u202e", "source": "Mumsnet\r\nX-Evil: 1"}))
    (note,) = posts(httpserver, f"/hook/{TOKEN}")
    for text in (note["title"], note["message"]):
        assert not any(c in text for c in "\x1b\x07\u202e\r")
    assert len(note["title"]) <= notify.NOTE_TITLE_MAX and len(note["message"]) <= notify.NOTE_BODY_MAX
    assert "](" not in note["message"] and "<script>alert(1)</script>" in note["message"]  # text, as written
    lines = note["message"].splitlines()
    assert not any(line.startswith("Review: https://evil") for line in lines)  # no forged line
    assert lines[-1] == f"Review: {DESK}/mentions/{ids[0]}"
    (chat,) = posts(httpserver, "/hooks/mmtoken")
    assert r"\*\*urgent\*\*" in chat["text"] and r"\<script\>" in chat["text"] and "](" not in chat["text"]
    assert f"<{DESK}/mentions/{ids[0]}>" in chat["text"]  # our own link stays a link


def test_a_teams_workflow_receives_a_card_with_the_alert(tmp_path, tls_cert, monkeypatch):
    cert, key = tls_cert
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # the test certificate is trusted; verified as always
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    teams = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    teams.expect_request("/workflows/elmparkflow/triggers/manual/paths/invoke", method="POST").respond_with_data("")
    teams.start()
    try:
        # Teams gives https://HOST:443/workflows/ID/triggers/manual/paths/invoke?…&sig=SIG: workflows://HOST:443/ID/SIG
        url = f"workflows://127.0.0.1:{teams.port}/elmparkflow/{TOKEN}"
        cfg = channel_cfg(tmp_path, [url])
        ids, result, _ = alerted(cfg, ("abuse", "Elm Park Primary's head is a *liar*", {"flags": ("insult:liar",)}))
    finally:
        teams.stop()
    assert result.flushed.failed == 0
    ((request, _),) = teams.log
    assert request.args["sig"] == TOKEN
    blocks = {b.get("id"): b for b in json.loads(request.get_data())["attachments"][0]["content"]["body"]}
    assert "HIGH: abuse about Elm Park Primary on Mumsnet" in blocks["title"]["text"]
    assert r"\*liar\*" in blocks["body"]["text"] and f"<{DESK}/mentions/{ids[0]}>" in blocks["body"]["text"]


def test_a_token_in_a_channel_url_never_shows_in_output_logs_or_the_database(
    tmp_path, httpserver, smtp, capsys, caplog, monkeypatch
):
    password, query = "pAssw0rdX", "qUeryS3cret"
    httpserver.expect_request(f"/hook/{TOKEN}", method="POST").respond_with_data("no", status=500)
    url = f"json://monitor:{password}@127.0.0.1:{httpserver.port}/hook/{TOKEN}?key={query}"
    monkeypatch.setenv("TEST_ALERT_URLS", f"ntfy://127.0.0.1:{free_port()}/{TOKEN}topic")  # nothing listens
    cfg = channel_cfg(tmp_path, [url], extra='urls_env = "TEST_ALERT_URLS"\n', web=WEB + smtp_table(smtp.port))
    caplog.set_level(logging.DEBUG)
    alerted(cfg, ("abuse", "Elm Park Primary threats"))
    for argv in (["check"], ["outbox"], ["outbox", "--send"], ["notify-test"], ["status"]):
        cli.main(["--config", str(cfg.path), "--log-level", "debug", *argv])
    out, err = capsys.readouterr()
    assert len(httpserver.log) >= 3  # the alert, its retry and the test all reached it, secrets and all
    logged = "\n".join(r.getMessage() for r in caplog.records if reaches_the_log(r.name))
    assert "apprise: " in logged and 'HTTP/1.1" 500' in logged and f"json://127.0.0.1:{httpserver.port}" in out
    database = b"".join(p.read_bytes() for p in cfg.data_dir.glob("monitor.db*"))
    for secret in (TOKEN, password, query):
        assert secret not in out and secret not in err and secret not in logged, secret
        assert secret.encode() not in database, secret


def reaches_the_log(name: str) -> bool:
    """Whether a logger's records reach the root logger, where the monitor's log handler is. (pytest
    also listens on loggers that do not propagate, as Apprise's own does not: its records reach the
    log only through the channels module, stripped.) The receiver's own access log is not ours."""
    logger: logging.Logger | None = logging.getLogger(name)
    while logger is not None and logger.name != "root":
        if not logger.propagate:
            return False
        logger = logger.parent
    return not name.startswith("werkzeug")


# ---------------------------------------------------------------- notify-test and check


def test_notify_test_sends_to_every_recipient_and_channel_and_says_what_each_did(tmp_path, httpserver, smtp, capsys):
    good = hook(httpserver)
    bad = hook(httpserver, "/broken/hook", status=500)
    extra = route("safeguarding", ["extremism"], urls=[good], recipients=[DSL])
    cfg = channel_cfg(tmp_path, [good, bad], extra=extra, web=WEB + smtp_table(smtp.port))
    assert cli.main(["--config", str(cfg.path), "notify-test"]) == 1
    out = capsys.readouterr().out.splitlines()
    shown = f"json://127.0.0.1:{httpserver.port}"
    assert out[0] == f"email to {', '.join(MANAGERS)}, {DSL}: delivered"
    assert out[1] == f"{shown} ([alerts]): delivered"
    assert out[2].startswith(f"{shown} ([alerts]): FAILED: ") and "500" in out[2]
    assert len(out) == 3  # the route's channel is the same as the first: tested once
    ((_, rcpt, _, _),) = smtp.envelopes
    assert sorted(rcpt) == sorted([*MANAGERS, DSL])
    (note,) = posts(httpserver, f"/hook/{TOKEN}")
    assert note["title"] == "[Elm Park Primary] Test message from school-monitor" and f"{DESK}/" in note["message"]
    assert monitor_for(cfg).outbox() == []  # sent directly, never queued
    ok = channel_cfg(tmp_path / "ok", [good], web=smtp_table(smtp.port))
    assert cli.main(["--config", str(ok.path), "notify-test"]) == 0
    nowhere = make_cfg(tmp_path / "none", '[alerts]\nsender = "monitor@elmpark.example.org"\n')
    assert cli.main(["--config", str(nowhere.path), "notify-test"]) == 1
    assert "nowhere to send" in capsys.readouterr().err


def test_check_lists_the_channels_without_secrets_and_refuses_one_apprise_does_not_know(
    tmp_path, httpserver, capsys, monkeypatch
):
    monkeypatch.delenv("TEST_ALERT_URLS", raising=False)
    urls = [hook(httpserver), "workflows://prod-161.westeurope.logic.azure.com:443/flowid/sigsecret"]
    extra = 'urls_env = "TEST_ALERT_URLS"\n' + route("safeguarding", ["extremism"], urls=["ntfy://elmpark-dsl-topic"])
    cfg = channel_cfg(tmp_path, urls, extra=extra)
    assert cli.main(["--config", str(cfg.path), "check"]) == 0
    out, err = capsys.readouterr()
    assert (
        f"channels: json://127.0.0.1:{httpserver.port} ([alerts]), "
        "workflows://prod-161.westeurope.logic.azure.com:443 ([alerts]), ntfy://… (route safeguarding)"
    ) in out
    assert "TEST_ALERT_URLS, which is not set" in err
    assert TOKEN not in out + err and "sigsecret" not in out + err and "elmpark-dsl-topic" not in out + err
    retired = channel_cfg(tmp_path / "old", ["msteams://elmpark/tokenA/tokenB/tokenC"])
    assert cli.main(["--config", str(retired.path), "check"]) == 2
    err = capsys.readouterr().err
    assert "alerts.urls[1]: msteams://…: Apprise does not know this service" in err and "tokenA" not in err


def test_status_is_unhealthy_when_a_message_waits_over_an_hour_because_sending_fails(tmp_path):
    cfg = channel_cfg(tmp_path, [f"json://127.0.0.1:{free_port()}/hook/{TOKEN}"], quiet_hours='"20:00-07:00"')
    _, _, engine = alerted(cfg, ("abuse", "Elm Park Primary threats"), now=NIGHT)  # its note fails
    seed_held = seed(
        cfg, ("criticism", "Ms Morris of Elm Park Primary", {"staff": True, "severity": "high"}), now=NIGHT
    )
    monitor_for(cfg, now=NIGHT, engine=seed_held[1]).alert_new()  # held until 07:00, not failing
    assert monitor_for(cfg, now=NIGHT + timedelta(minutes=59), engine=engine).status().healthy
    st = monitor_for(cfg, now=NIGHT + timedelta(minutes=61), engine=engine).status()
    assert not st.healthy and st.unsent == 3
    (problem,) = st.problems
    assert problem.startswith("1 message(s) waited more than 60 minutes because sending fails (json://127.0.0.1:")
    assert TOKEN not in problem


# ---------------------------------------------------------------- desk links in email; showing a URL


def test_emails_link_to_the_desk_and_keep_todays_wording_without_it(tmp_path, smtp):
    cfg = channel_cfg(tmp_path, web=WEB + smtp_table(smtp.port))
    ids, _, _ = alerted(cfg, ("abuse", "Elm Park Primary <b>is</b> a disgrace"))
    (msg,) = smtp.messages()
    text, html = msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()
    assert f"Review it and record what you do on the desk: {DESK}/mentions/{ids[0]}" in text
    assert f'<a href="{DESK}/mentions/{ids[0]}">' in html and "school-monitor review" not in text
    plain = channel_cfg(tmp_path / "plain", web=smtp_table(smtp.port))
    alerted(plain, ("abuse", "Elm Park Primary is a disgrace again"))
    text = smtp.messages()[1].get_body(("plain",)).get_content()
    assert "mentions/" not in text and "Record what you do: school-monitor review" in text


@pytest.mark.parametrize(
    "url, shown",
    [
        (f"json://user:pw@127.0.0.1:8080/hook/{TOKEN}", "json://127.0.0.1:8080"),
        (
            "workflows://prod-161.westeurope.logic.azure.com:443/flow/sig",
            "workflows://prod-161.westeurope.logic.azure.com:443",
        ),
        ("https://hooks.slack.com/services/T1/B2/C3secret", "https://hooks.slack.com"),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general", "slack://…"),
        ("ntfy://elmpark-dsl", "ntfy://…"),
        ("ntfys://ntfy.example.org/elmpark-dsl", "ntfys://ntfy.example.org"),
        ("tgram://123456789:AAbbCCddEEff/4242", "tgram://…"),
        ("json://[::1]:9000/x", "json://[::1]:9000"),
    ],
)
def test_a_channel_is_shown_by_scheme_and_host_only(url, shown):
    assert channels.shown(url) == shown
    said = f"Failed to reach {url} (token {url.rpartition('/')[2]})"
    hidden = channels.conceal(said, [url])
    assert shown in hidden and url not in hidden
    assert all(secret not in hidden for secret in channels.secrets(url) if secret not in shown)


def test_a_note_is_kept_as_rendered():
    note = Note(title="t", body="b\nc", title_markdown="t", body_markdown=r"b\.", kind="pileon", level="warning")
    assert channels.decode(channels.encode(note), "pileon") == note
