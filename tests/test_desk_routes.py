"""The review desk through Flask's test client: who may do what, CSRF, sessions, throttling,
headers, escaping, and every page doing its job over the real service and a SQLite file."""

from __future__ import annotations

import io
import json
import logging
import zipfile

import pytest
from bs4 import BeautifulSoup

from monitor import cli
from monitor.web import create_app
from monitor.web.auth import PUBLIC
from tests.deskkit import (
    PASSWORD,
    PNG,
    Clock,
    csrf_of,
    desk_monitor,
    fast_hashing,  # noqa: F401 (a fixture)
    form_csrf,
    sign_in,
    store_mention,
)

pytestmark = pytest.mark.usefixtures("fast_hashing")

XSS = 'Elm Park Primary <script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> is awful'


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def monitor(tmp_path, clock):
    m = desk_monitor(tmp_path, clock=clock)
    yield m
    m.close()


@pytest.fixture
def app(monitor):
    return create_app(monitor)


def client_as(app, name=None):
    c = app.test_client()
    if name:
        assert sign_in(c, name).status_code == 303
    return c


# ---------------------------------------------------------------- the door


def every_route(app, item_id):
    """(method, path) for every route of the desk, with real ids."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        path = rule.rule.replace("<int:item_id>", str(item_id)).replace("<int:version>", "1")
        path = path.replace("<kind>", "text").replace("<name>", "rita")
        out += [(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}]
    return out


def test_without_a_session_every_page_sends_to_sign_in_and_shows_no_data(app, monitor):
    item_id = store_mention(monitor, "Elm Park Primary's head is a disgrace, secret words")
    c = app.test_client()
    routes = every_route(app, item_id)
    assert len(routes) >= 15
    for method, path in routes:
        r = c.open(path, method=method, data={"status": "reviewed"})
        assert "secret words" not in r.text and "Parents forum" not in r.text, path
        if method == "GET":
            assert r.status_code == 302 and r.headers["Location"].startswith("/login?next="), path
        else:
            assert r.status_code == 401, path
    assert c.get("/static/desk.css").status_code == 200
    assert monitor.mention(item_id).reviews == ()


def test_every_view_declares_the_role_it_needs(app):
    for endpoint, view in app.view_functions.items():
        assert endpoint in PUBLIC or getattr(view, "desk_role", None) in ("viewer", "reviewer", "admin"), endpoint


def test_sign_in_sets_a_hardened_cookie_and_a_new_session_each_time(app, monitor):
    c = app.test_client()
    r = sign_in(c, "rita")
    assert r.status_code == 303 and r.headers["Location"] == "/"
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith("desk_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    first = c.get_cookie("desk_session").value
    assert c.get("/").status_code == 200
    sign_in(c, "rita")
    second = c.get_cookie("desk_session").value
    assert second != first
    assert monitor.desk_session(first) is None  # the old session ended when the new one began
    assert monitor.desk_session(second).user.name == "rita"


def test_the_cookie_is_secure_when_the_desk_is_on_https(tmp_path):
    m = desk_monitor(tmp_path, extra='[web]\nbase_url = "https://desk.elmpark.example.org"\n')
    r = sign_in(create_app(m).test_client(), "rita")
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith("desk_session="))
    assert "Secure" in cookie


def test_a_wrong_password_or_name_says_the_same_and_signs_nobody_in(app):
    c = app.test_client()
    for name, password in (("rita", "not the password"), ("nobody", PASSWORD)):
        r = sign_in(c, name, password)
        assert r.status_code == 400 and "Wrong name or password" in r.text
        assert c.get_cookie("desk_session") is None


def test_sign_in_without_the_form_token_is_refused(app, monitor):
    c = app.test_client()
    c.get("/login")
    r = c.post("/login", data={"csrf": "forged", "username": "rita", "password": PASSWORD})
    assert r.status_code == 400 and c.get_cookie("desk_session") is None
    fresh = app.test_client()  # a page on another site posting the form: no cookie of ours
    r = fresh.post("/login", data={"csrf": "anything", "username": "rita", "password": PASSWORD})
    assert r.status_code == 400 and fresh.get_cookie("desk_session") is None


def test_after_five_failures_for_a_name_even_the_right_password_is_refused_for_15_minutes(app, monitor, clock):
    c = app.test_client()
    for _ in range(5):
        assert sign_in(c, "rita", "wrong password!").status_code == 400
        clock.advance(minutes=2)
    r = sign_in(c, "rita")
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text
    assert 0 < int(r.headers["Retry-After"]) <= 15 * 60
    other = app.test_client()  # another browser, another address: the name is still locked
    assert sign_in(other, "rita", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 429
    # The lockout holds across a restart and across processes: it is in the database.
    assert sign_in(create_app(monitor.with_config(monitor.cfg)).test_client(), "rita").status_code == 429
    clock.advance(minutes=15)
    assert sign_in(c, "rita").status_code == 303


def test_five_failures_from_one_address_lock_that_address_for_every_name(app, clock):
    c = app.test_client()
    for name in ("a1", "a2", "a3", "a4", "a5"):
        sign_in(c, name, "wrong password!")
    assert sign_in(c, "vic").status_code == 429
    elsewhere = app.test_client()
    assert sign_in(elsewhere, "vic", environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 303


def test_failures_spread_over_more_than_15_minutes_do_not_lock(app, clock):
    c = app.test_client()
    for _ in range(6):
        sign_in(c, "rita", "wrong password!")
        clock.advance(minutes=4)
    assert sign_in(c, "rita").status_code == 303


def test_a_session_ends_after_session_hours(app, clock):
    c = client_as(app, "rita")
    clock.advance(hours=11, minutes=59)
    assert c.get("/").status_code == 200
    clock.advance(minutes=2)
    r = c.get("/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")


def test_sign_out_needs_the_token_and_ends_the_session(app, monitor):
    c = client_as(app, "rita")
    token = c.get_cookie("desk_session").value
    assert c.post("/logout", data={"csrf": "forged"}).status_code == 400
    assert monitor.desk_session(token) is not None
    r = c.post("/logout", data={"csrf": csrf_of(c)})
    assert r.status_code == 303 and r.headers["Location"] == "/login"
    assert monitor.desk_session(token) is None
    assert c.get("/").status_code == 302


def test_after_sign_in_only_a_path_on_the_desk_is_followed(app):
    c = app.test_client()
    for wanted, expected in (
        ("/mentions/5", "/mentions/5"),
        ("/?label=abuse&page=2", "/?label=abuse&page=2"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("https://evil.example", "/"),
    ):
        page = c.get("/login", query_string={"next": wanted})
        r = c.post(
            "/login",
            data={"csrf": form_csrf(page.text), "username": "rita", "password": PASSWORD, "next": wanted},
        )
        assert r.headers["Location"] == expected
        c.post("/logout", data={"csrf": csrf_of(c)})


# ---------------------------------------------------------------- roles and CSRF


def test_a_post_without_a_valid_token_gets_400_and_changes_nothing(app, monitor):
    item_id = store_mention(monitor, "Elm Park Primary is badly run")
    c = client_as(app, "rita")
    for data in ({}, {"csrf": ""}, {"csrf": "forged"}):
        r = c.post(f"/mentions/{item_id}/review", data={**data, "status": "dismissed"})
        assert r.status_code == 400
        r = c.post(f"/mentions/{item_id}/label", data={**data, "label": "neutral", "note": "x"})
        assert r.status_code == 400
    another = client_as(app, "ada")  # another session's token does not do either
    r = c.post(f"/mentions/{item_id}/review", data={"csrf": csrf_of(another), "status": "dismissed"})
    assert r.status_code == 400
    mention = monitor.mention(item_id)
    assert mention.reviews == () and mention.item.label == "criticism" and mention.item.status == "new"


def test_a_viewer_reads_everything_and_every_post_is_403(app, monitor):
    item_id = store_mention(monitor, "Elm Park Primary is badly run")
    c = client_as(app, "vic")
    for path in ("/", f"/mentions/{item_id}", "/sources", "/report", f"/mentions/{item_id}/evidence.zip"):
        assert c.get(path).status_code == 200, path
    page = c.get(f"/mentions/{item_id}").text
    assert "Record a step" not in page and "Correct the label" not in page  # no form they cannot use
    token = csrf_of(c)
    for path, data in (
        (f"/mentions/{item_id}/review", {"status": "dismissed"}),
        (f"/mentions/{item_id}/label", {"label": "neutral", "note": "not critical"}),
        ("/add", {"url": "https://x.invalid/1", "text": "Elm Park Primary"}),
        ("/users", {"name": "eve", "role": "admin", "password": "x" * 12, "password2": "x" * 12}),
        ("/users/vic/role", {"role": "admin"}),
    ):
        assert c.post(path, data={"csrf": token, **data}).status_code == 403, path
    assert c.get("/add").status_code == 403 and c.get("/users").status_code == 403
    assert monitor.mention(item_id).reviews == () and [u.role for u in monitor.users() if u.name == "vic"] == ["viewer"]
    assert len(monitor.queue_sources()) == 1  # nothing was added


def test_only_an_admin_manages_accounts(app):
    assert client_as(app, "rita").get("/users").status_code == 403
    assert client_as(app, "ada").get("/users").status_code == 200


def test_every_page_carries_the_security_headers(app, monitor):
    item_id = store_mention(monitor, "Elm Park Primary is badly run")
    c = client_as(app, "ada")
    for path in ("/login", "/", f"/mentions/{item_id}", "/add", "/sources", "/report", "/users", "/nowhere"):
        r = c.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp, path
        assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["Referrer-Policy"] == "no-referrer"


# ---------------------------------------------------------------- the queue


def test_the_queue_puts_awaiting_review_first_then_the_most_severe_then_the_newest(app, monitor, clock):
    old_abuse = store_mention(monitor, "Elm Park Primary head is a liar, watch your back", label="abuse")
    clock.advance(hours=1)
    praise = store_mention(monitor, "Elm Park Primary nativity was lovely", label="praise")
    clock.advance(hours=1)
    criticism = store_mention(monitor, "Elm Park Primary never answers emails", label="criticism")
    clock.advance(hours=1)
    new_abuse = store_mention(monitor, "Elm Park Primary staff are scum", label="abuse")
    clock.advance(hours=1)
    reviewed_abuse = store_mention(monitor, "Elm Park Primary teachers should be sacked, scum", label="abuse")
    monitor.review(reviewed_abuse, status="reviewed", by="rita")
    page = BeautifulSoup(client_as(app, "vic").get("/").text, "lxml")
    links = [a["href"] for a in page.select("ol.queue h2 a")]
    assert links == [f"/mentions/{i}" for i in (new_abuse, old_abuse, criticism, praise, reviewed_abuse)]


def test_the_queue_filters_searches_counts_and_pages(app, monitor, clock):
    for n in range(55):
        store_mention(monitor, f"Elm Park Primary post {n}", label="neutral", key=f"n{n}")
    clock.advance(days=10)
    store_mention(monitor, "Elm Park Primary uses 100% of its budget_lines badly", label="criticism", source="Mumsnet")
    abuse = store_mention(monitor, "Elm Park Primary head is scum", label="abuse", source="Mumsnet")
    monitor.review(abuse, status="actioned", action="reported-to-platform", by="rita")
    c = client_as(app, "vic")

    def ids(**query):
        soup = BeautifulSoup(c.get("/", query_string=query).text, "lxml")
        return [a["href"] for a in soup.select("ol.queue h2 a")], soup

    shown, soup = ids()
    assert len(shown) == 50 and "57 mentions, page 1 of 2" in soup.get_text(" ", strip=True)
    counts = {a.contents[0].strip(): a.select_one(".count").text for a in soup.select(".tabs a")}
    assert counts == {"all": "57", "extremism": "0", "abuse": "1", "criticism": "1", "praise": "0", "neutral": "55"}
    nxt = soup.select_one("a[rel=next]")["href"]
    assert "page=2" in nxt
    assert len(BeautifulSoup(c.get(nxt).text, "lxml").select("ol.queue li")) == 7
    assert ids(label="abuse")[0] == [f"/mentions/{abuse}"]
    assert ids(status="actioned")[0] == [f"/mentions/{abuse}"]
    assert len(ids(source="Mumsnet")[0]) == 2
    assert len(ids(period="7d")[0]) == 2
    assert len(ids(q="100%")[0]) == 1 and len(ids(q="budget_lines")[0]) == 1  # % and _ are literal
    assert len(ids(q="POST 1")[0]) == 11  # any case: post 1, 10-19
    assert c.get("/", query_string={"label": "nonsense"}).status_code == 400


# ---------------------------------------------------------------- a mention


def test_a_mention_shows_everything_with_the_internet_escaped(app, monitor):
    item_id = store_mention(
        monitor,
        XSS,
        label="abuse",
        url="javascript:alert(1)",
        title="<b>bold</b> title",
        author='"><svg onload=alert(1)>',
        flags=("abuse:wish:hope she ends up in hospital", "staff:Mrs N Sale", "vader:-0.62"),
        staff=True,
    )
    r = client_as(app, "vic").get(f"/mentions/{item_id}")
    html = r.text
    assert "<script>window.__xss" not in html and "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in html
    assert "<img src=x" not in html and "<svg onload" not in html and "<b>bold</b>" not in html
    soup = BeautifulSoup(html, "lxml")
    assert not soup.select('a[href^="javascript"]')  # only http(s) becomes a link
    text = soup.get_text(" ", strip=True)
    assert "abuse — a wish of harm: “hope she ends up in hospital”" in text
    assert "names a member of staff: “Mrs N Sale”" in text
    assert "Tell the designated safeguarding lead" not in text and "If it names a pupil" in text
    ev = monitor.mention(item_id).evidence[0]
    assert ev.sha256 in text and ev.body_sha256 in text


def test_links_to_the_post_are_http_only_and_carry_rel(app, monitor):
    item_id = store_mention(monitor, "Elm Park Primary is badly run", url="https://forum.example/t/9")
    soup = BeautifulSoup(client_as(app, "vic").get(f"/mentions/{item_id}").text, "lxml")
    (link,) = soup.select('a[href="https://forum.example/t/9"]')[:1]
    assert set(link["rel"]) == {"noopener", "noreferrer", "nofollow"}


def test_a_step_and_a_correction_land_in_the_log_under_the_signed_in_name(app, monitor, capsys):
    item_id = store_mention(monitor, "Elm Park Primary head should be sacked", label="criticism")
    c = client_as(app, "rita")
    token = csrf_of(c, f"/mentions/{item_id}")
    r = c.post(
        f"/mentions/{item_id}/review",
        data={"csrf": token, "status": "actioned", "action": "deletion-requested", "note": "asked the mods"},
    )
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/mentions/{item_id}?done=review#log")
    r = c.post(f"/mentions/{item_id}/label", data={"csrf": token, "label": "abuse", "note": "a threat, in context"})
    assert r.status_code == 303
    m = monitor.mention(item_id)
    assert [(e.by, e.summary, e.note) for e in m.reviews] == [
        ("rita", "actioned, deletion-requested", "asked the mods"),
        ("rita", "relabelled criticism → abuse", "a threat, in context"),
    ]
    assert (m.item.label, m.item.severity, m.item.corrected_by) == ("abuse", "high", "rita")
    page = c.get(r.headers["Location"]).text
    assert "The label was corrected" in page and "asked the mods" in page
    # The command line shows the same log.
    assert cli.main(["--config", str(monitor.cfg.path), "show", str(item_id)]) == 0
    out = capsys.readouterr().out
    assert "rita: actioned, deletion-requested — asked the mods" in out and "rita: relabelled criticism → abuse" in out


def test_one_click_policy_actions_record_the_step_and_say_what_to_do_next(app, monitor):
    item_id = store_mention(monitor, "Elm Park Primary's Mrs Sale is a cow", label="abuse", staff=True)
    c = client_as(app, "rita")
    soup = BeautifulSoup(c.get(f"/mentions/{item_id}").text, "lxml")
    posh = soup.select_one("article[aria-labelledby=act-referred-to-posh]")
    assert "48 hours" in posh.get_text() and "0344 381 4772" in posh.get_text()
    assert "SHA-256" in soup.select_one("article[aria-labelledby=act-referred-to-police]").get_text()
    form = posh.form
    data = {i["name"]: i.get("value", "") for i in form.select("input")}
    assert data["status"] == "actioned" and data["action"] == "referred-to-posh"
    assert c.post(form["action"], data={**data, "note": "platform ignored it"}).status_code == 303
    (step,) = monitor.mention(item_id).reviews
    assert (step.by, step.status, step.action, step.note) == (
        "rita",
        "actioned",
        "referred-to-posh",
        "platform ignored it",
    )


def test_bad_steps_are_explained_and_change_nothing(app, monitor):
    item_id = store_mention(monitor, "Elm Park Primary is badly run")
    c = client_as(app, "rita")
    token = csrf_of(c)
    r = c.post(f"/mentions/{item_id}/review", data={"csrf": token, "status": "closed"})
    assert r.status_code == 400 and "Status “closed” is not one of" in r.text
    r = c.post(f"/mentions/{item_id}/label", data={"csrf": token, "label": "abuse", "note": "  "})
    assert r.status_code == 400 and "Say why the label is wrong" in r.text
    r = c.post(f"/mentions/{item_id}/label", data={"csrf": token, "label": "awful", "note": "x"})
    assert r.status_code == 400
    assert monitor.mention(item_id).reviews == ()
    assert c.get("/mentions/99999").status_code == 404


def test_evidence_is_downloaded_as_attachments_never_rendered(app, monitor):
    item_id = store_mention(monitor, XSS, label="abuse")
    c = client_as(app, "vic")
    r = c.get(f"/mentions/{item_id}/evidence.zip")
    assert r.headers["Content-Disposition"] == f'attachment; filename="mention-{item_id}-evidence.zip"'
    assert r.mimetype == "application/octet-stream" and "sandbox" in r.headers["Content-Security-Policy"]
    z = zipfile.ZipFile(io.BytesIO(r.data))
    manifest = json.loads(z.read(f"mention-{item_id}/version-1/manifest.json"))
    body = z.read(f"mention-{item_id}/version-1/body.html")
    assert XSS.encode() in body and manifest["files"]["body.html"]["bytes"] == len(body)
    r = c.get(f"/mentions/{item_id}/evidence/1/body")
    assert r.data == body and r.mimetype == "application/octet-stream"
    assert r.headers["Content-Disposition"] == f'attachment; filename="mention-{item_id}-v1-body.html"'
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    for path in (
        f"/mentions/{item_id}/evidence/1/secrets",
        f"/mentions/{item_id}/evidence/7/body",
        "/mentions/999/evidence.zip",
    ):
        assert c.get(path).status_code == 404, path


# ---------------------------------------------------------------- add by hand


def test_add_by_hand_with_a_screenshot_keeps_it_as_evidence(app, monitor):
    c = client_as(app, "rita")
    shot = PNG + b"pixels"
    r = c.post(
        "/add",
        data={
            "csrf": csrf_of(c, "/add"),
            "url": "https://www.facebook.invalid/groups/123/posts/456",
            "text": "Posted in the Elm Park Primary parents group: the head is a liar",
            "platform": "Facebook",
            "note": "screenshot from a parent governor",
            "screenshot": (io.BytesIO(shot), "IMG_0001.PNG"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 303 and "done=added" in r.headers["Location"]
    item_id = int(r.headers["Location"].split("/mentions/")[1].split("?")[0])
    m = monitor.mention(item_id)
    assert m.item.source == "added by hand: Facebook"
    assert m.reviews[0].by == "rita" and "screenshot from a parent governor" in m.reviews[0].note
    (image,) = [e for e in m.evidence if e.body == shot]
    assert image.body_content_type == "image/png"
    page = c.get(r.headers["Location"]).text
    assert image.body_sha256 in page and "The mention was added" in page
    download = c.get(f"/mentions/{item_id}/evidence/{image.version}/body")
    assert download.data == shot and download.headers["Content-Disposition"].endswith('-body.png"')


def test_add_refuses_what_is_not_an_image_and_what_is_too_large(app, monitor):
    c = client_as(app, "rita")
    token = csrf_of(c, "/add")

    def post(shot, name="shot.png"):
        data = {
            "csrf": token,
            "url": "https://x.invalid/p/1",
            "text": "Elm Park Primary is awful",
            "platform": "TikTok",
        }
        return c.post("/add", data={**data, "screenshot": (io.BytesIO(shot), name)}, content_type="multipart/form-data")

    r = post(b"<svg onload=alert(1)>", "looks.png")
    assert r.status_code == 400 and "not a PNG or JPEG image" in r.text
    r = post(PNG + bytes(10 * 1024**2))
    assert r.status_code == 400 and "over 10 MB" in r.text
    assert post(PNG + bytes(12 * 1024**2)).status_code == 413
    assert monitor.queue_sources() == []  # nothing was stored
    r = c.post("/add", data={"csrf": token, "url": "ftp://x/1", "text": "Elm Park Primary"})
    assert r.status_code == 400 and "Url" in r.text


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}", "10.0.0.8", "169.254.169.254", "192.168.1.1"]
)
def test_add_refuses_private_addresses_without_reading_them(app, monitor, httpserver, host):
    httpserver.expect_request("/latest/meta-data").respond_with_data("secret")
    c = client_as(app, "rita")
    url = f"http://{host.format(port=httpserver.port)}/latest/meta-data"
    r = c.post("/add", data={"csrf": csrf_of(c, "/add"), "url": url, "text": "Elm Park Primary is awful"})
    assert r.status_code == 400 and "private, loopback or link-local" in r.text
    assert httpserver.log == [] and monitor.queue_sources() == []


def test_add_needs_the_text_when_the_address_cannot_be_read(app):
    c = client_as(app, "rita")
    r = c.post("/add", data={"csrf": csrf_of(c, "/add"), "url": "https://tiktok.invalid/@x/video/1", "text": ""})
    assert r.status_code == 400 and "paste what the post says" in r.text
    assert 'value="https://tiktok.invalid/@x/video/1"' in r.text  # what was typed is kept


# ---------------------------------------------------------------- sources, report, accounts


def test_sources_are_listed_broken_first(tmp_path):
    from monitor.models import SourceState
    from tests.conftest import feed_source, save_state

    sources = feed_source("Fine", "https://a.example/feed") + feed_source("Gone", "https://b.example/feed")
    m = desk_monitor(tmp_path, sources=sources)
    save_state(m.engine, SourceState(name="Fine", last_success=m.now()))
    save_state(
        m.engine,
        SourceState(name="Gone", failures=3, permanent_failures=3, last_error="HTTP 410: the page is gone"),
    )
    soup = BeautifulSoup(client_as(create_app(m), "vic").get("/sources").text, "lxml")
    names = [h.get_text(" ", strip=True) for h in soup.select("li.source h2")]
    assert names == ["BROKEN Gone", "Fine"]
    assert "HTTP 410: the page is gone" in soup.get_text()


def test_the_report_is_served_with_its_own_policy_and_downloads(app, monitor):
    store_mention(monitor, XSS, label="abuse")
    c = client_as(app, "vic")
    page = c.get("/report")
    assert page.status_code == 200 and "2025-11-24" in page.text and "2026-11-24" in page.text
    r = c.get("/report/view", query_string={"since": "2026-11-01", "until": "2026-11-30"})
    csp = r.headers["Content-Security-Policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp and "style-src 'unsafe-inline'" in csp
    assert "frame-ancestors 'none'" in csp and "Elm Park Primary School" in r.text
    assert "<script>window.__xss" not in r.text
    r = c.get("/report/download", query_string={"format": "csv", "since": "2026-11-01", "until": "2026-11-30"})
    assert r.headers["Content-Disposition"].startswith("attachment; filename=report-2026-11-01-to-2026-11-30.csv")
    assert "window.__xss" in r.get_data(as_text=True)
    assert c.get("/report", query_string={"since": "yesterday"}).status_code == 400


def test_an_admin_manages_accounts_and_passwords_never_reach_the_log(app, monitor, caplog):
    caplog.set_level(logging.INFO, logger="monitor.desk")
    c = client_as(app, "ada")
    token = csrf_of(c, "/users")
    new_pw = "a long enough secret"
    data = {"csrf": token, "name": "gov1", "role": "viewer", "email": "gov1@elmpark.example.org"}
    assert c.post("/users", data={**data, "password": "short", "password2": "short"}).status_code == 400
    assert c.post("/users", data={**data, "password": new_pw, "password2": new_pw + "x"}).status_code == 400
    assert c.post("/users", data={**data, "password": new_pw, "password2": new_pw}).status_code == 303
    assert c.post("/users", data={**data, "password": new_pw, "password2": new_pw}).status_code == 400  # exists
    gov = client_as(app, None)
    assert sign_in(gov, "gov1", new_pw).status_code == 303
    assert c.post("/users/gov1/role", data={"csrf": token, "role": "reviewer"}).status_code == 303
    assert monitor.desk_session(gov.get_cookie("desk_session").value).user.role == "reviewer"  # at once
    other_pw = "another long secret"
    assert (
        c.post("/users/gov1/password", data={"csrf": token, "password": other_pw, "password2": other_pw}).status_code
        == 303
    )
    assert gov.get("/").status_code == 302  # a reset password ends the account's sessions
    assert c.post("/users/gov1/remove", data={"csrf": token}).status_code == 400  # not confirmed
    assert c.post("/users/gov1/remove", data={"csrf": token, "confirm": "yes"}).status_code == 303
    assert "gov1" not in [u.name for u in monitor.users()]
    r = c.post("/users/ada/role", data={"csrf": token, "role": "viewer"})
    assert r.status_code == 400 and "only admin" in r.text
    logged = caplog.text
    assert "user added: gov1 (viewer) by ada" in logged and "role changed: gov1 viewer -> reviewer by ada" in logged
    assert "user removed: gov1 by ada" in logged and "signed in: gov1" in logged
    assert new_pw not in logged and other_pw not in logged and PASSWORD not in logged


def test_a_session_outlives_no_password_change(app, monitor, clock):
    c = client_as(app, "rita")
    monitor.set_password("rita", "a brand new password", by="ada")
    assert c.get("/").status_code == 302
    clock.advance(seconds=1)
    assert sign_in(c, "rita", "a brand new password").status_code == 303
    assert sign_in(app.test_client(), "rita", PASSWORD).status_code == 400


def test_a_logged_in_page_lists_the_areas_by_role(app):
    def nav(name):
        page = client_as(app, name).get("/").text
        return [a.text for a in BeautifulSoup(page, "lxml").select("header nav a")]

    assert nav("vic") == ["Queue", "Sources", "Report"]
    assert nav("rita") == ["Queue", "Add by hand", "Sources", "Report"]
    assert nav("ada") == ["Queue", "Add by hand", "Sources", "Report", "Accounts"]
