"""The desk in a real browser: Debian's Chromium driven through its chromedriver (Selenium), the desk
served by waitress on 127.0.0.1. Staff's tasks end to end, a post holding a script that never
runs, labels on every input, and a phone-sized screen.

One browser for the module. Without Chromium these tests are skipped with the reason, except
under CI=true, where a missing browser fails them (.ci/run installs it).
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from monitor.service import utc_now
from monitor.web.server import DeskServer
from tests.deskkit import PASSWORD, PNG, desk_monitor, store_mention

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
XSS = (
    "Elm Park Primary <script>window.__xss = 'script ran'</script>"
    "<img src=x onerror=\"window.__xss = 'onerror ran'\"> head is a liar"
)


def _browser_missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is not installed (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    """The desk served on a free port over a school with three accounts and a few mentions."""
    from argon2 import PasswordHasher

    from monitor.service import accounts

    with pytest.MonkeyPatch.context() as mp:  # cheap hashing (the real cost is tested elsewhere)
        cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        mp.setattr(accounts, "_hasher", cheap)
        mp.setattr(accounts, "_UNKNOWN", cheap.hash("unknown"))
        m = desk_monitor(tmp_path_factory.mktemp("school"), clock=utc_now)  # the browser's cookies expire in real time
        ids = {
            "xss": store_mention(m, XSS, label="abuse", flags=("abuse:liar",), url="https://forum.example/t/1"),
            "criticism": store_mention(m, "Elm Park Primary never answers emails", label="criticism"),
            "praise": store_mention(m, "Elm Park Primary's nativity was lovely", label="praise"),
        }
        server = DeskServer(m, "127.0.0.1:0").start()
        yield server.url, m, ids
        server.stop()
        m.close()


@pytest.fixture(scope="module")
def browser():
    missing = _browser_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser tests must run in CI: {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="desk-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def click(driver, css: str) -> None:
    """Click a link or a submit button and wait until the next page has replaced this one, whole.
    (The old page is marked; chromedriver may answer anything while a page is being replaced.)"""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("window.__leaving = true")
    driver.find_element(By.CSS_SELECTOR, css).click()
    WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return !window.__leaving && document.readyState === 'complete'")
    )


def sign_in(driver, base: str, name: str, password: str = PASSWORD) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/login")
    driver.delete_all_cookies()
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    click(driver, "form[action='/login'] button")


def sign_out(driver) -> None:
    click(driver, "form.signout button")


def test_a_reviewer_does_the_day_s_work_in_the_browser(desk, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base, m, ids = desk
    d = browser
    sign_in(d, base, "rita")
    assert d.current_url == f"{base}/", d.page_source[-1500:]
    assert "rita (reviewer)" in d.page_source

    # Filter the queue: criticism only.
    click(d, ".tabs a[href*='label=criticism']")
    shown = [a.get_attribute("href") for a in d.find_elements(By.CSS_SELECTOR, "ol.queue h2 a")]
    assert shown == [f"{base}/mentions/{ids['criticism']}"]
    Select(d.find_element(By.ID, "status")).select_by_visible_text("awaiting review")
    click(d, "form.filters button")
    assert "status=new" in d.current_url and "label=criticism" in d.current_url

    # Open the mention, record a step.
    click(d, "ol.queue h2 a")
    assert d.current_url == f"{base}/mentions/{ids['criticism']}"
    Select(d.find_element(By.ID, "status")).select_by_value("reviewed")
    Select(d.find_element(By.ID, "action")).select_by_value("responded")
    d.find_element(By.ID, "note").send_keys("replied on the forum: please call the office")
    click(d, "form.step button")
    assert "The step was added to the review log." in d.find_element(By.CSS_SELECTOR, "[role=status]").text

    # Correct the label, with a reason.
    Select(d.find_element(By.ID, "label")).select_by_value("neutral")
    d.find_element(By.ID, "reason").send_keys("a question, not a complaint")
    click(d, "form.correct button")
    log = d.find_element(By.CSS_SELECTOR, "ol.log").text
    assert "rita: reviewed, responded" in log and "rita: relabelled criticism → neutral" in log

    # A one-click policy action.
    d.find_element(By.ID, "note-reported-to-platform").send_keys("reported with the forum's button")
    click(d, "article[aria-labelledby=act-reported-to-platform] button")
    steps = m.mention(ids["criticism"]).reviews
    assert [(s.by, s.summary) for s in steps] == [
        ("rita", "reviewed, responded"),
        ("rita", "relabelled criticism → neutral"),
        ("rita", "actioned, reported-to-platform"),
    ]
    sign_out(d)
    assert d.current_url == f"{base}/login"
    d.get(f"{base}/mentions/{ids['criticism']}")
    assert d.current_url.startswith(f"{base}/login") and "never answers emails" not in d.page_source


def test_add_by_hand_with_a_screenshot(desk, browser, tmp_path):
    from selenium.webdriver.common.by import By

    base, m, _ = desk
    d = browser
    shot = tmp_path / "screenshot.png"
    shot.write_bytes(PNG + b"a phone's screenshot")
    sign_in(d, base, "rita")
    click(d, "header nav a[href='/add']")
    d.find_element(By.ID, "url").send_keys("https://www.tiktok.invalid/@someone/video/1")
    d.find_element(By.ID, "text").send_keys("Elm Park Primary's head should watch her back")
    d.find_element(By.ID, "platform").send_keys("TikTok")
    d.find_element(By.ID, "note").send_keys("a parent sent the screenshot")
    d.find_element(By.ID, "screenshot").send_keys(str(shot))
    click(d, "form.add button")
    assert "The mention was added and scored." in d.page_source
    item_id = int(d.current_url.split("/mentions/")[1].split("?")[0])
    mention = m.mention(item_id)
    assert mention.item.source == "added by hand: TikTok" and mention.reviews[0].by == "rita"
    assert any(e.body == shot.read_bytes() and e.body_content_type == "image/png" for e in mention.evidence)
    sign_out(d)


def test_a_post_holding_a_script_never_runs_it(desk, browser):
    from selenium.webdriver.common.by import By

    base, _, ids = desk
    d = browser
    sign_in(d, base, "vic")
    for path in ("/", f"/mentions/{ids['xss']}", "/report/view"):
        d.get(base + path)
        assert d.execute_script("return window.__xss") is None, path
    d.get(f"{base}/mentions/{ids['xss']}")
    text = d.find_element(By.CSS_SELECTOR, "blockquote.post-text").text
    assert "<script>window.__xss = 'script ran'</script>" in text and 'onerror="window.__xss' in text
    sign_out(d)


def test_every_input_has_a_label_and_a_phone_screen_needs_no_sideways_scroll(desk, browser):
    base, _, ids = desk
    d = browser
    sign_in(d, base, "ada")
    unlabelled = """return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(e => e.labels.length === 0).map(e => e.name || e.id)"""
    try:
        d.set_window_size(390, 844)  # a phone
        for path in ("/", f"/mentions/{ids['xss']}", "/add", "/sources", "/report", "/users"):
            d.get(base + path)
            assert d.execute_script(unlabelled) == [], path
            overflow = d.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
    finally:
        d.set_window_size(1280, 1000)
    sign_out(d)


def test_the_keyboard_reaches_the_content_first(desk, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    base, _, _ = desk
    d = browser
    sign_in(d, base, "vic")
    d.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    focused = d.switch_to.active_element
    assert focused.text == "Skip to the content"
    focused.send_keys(Keys.ENTER)
    assert d.execute_script("return document.activeElement.id") == "main"
    sign_out(d)
