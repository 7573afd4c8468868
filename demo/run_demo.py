"""`make demo`: the whole flow in a minute, offline.

Serves the small sample web in demo/site/ from 127.0.0.1 (a free port), writes a sources.toml for
it into data/demo/, and drives the real command line: check, scan, items, add, review, digest,
report; then "deletes" the abusive post on the sample forum and scans again so the follow-up
records that it has gone. Prints where the database, the emails (.eml) and the reports are.
Then the review desk (`school-monitor serve`) runs on the demo's database for a minute, or until
Ctrl-C, with a demo account: its address and the account are printed.
"""

from __future__ import annotations

import argparse
import email.utils
import json
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
SITE = HERE / "site"
REPO = HERE.parent
ABUSIVE = "#post-3"
TYPES = {
    ".xml": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}

SOURCES = """\
# Written by demo/run_demo.py: the demo school, watching the sample web served on {base}.
[school]
name = "Elm Park Primary School"
aliases = ["Elm Park Primary", "Elm Park School", "EPPS"]
exclude = ["Elm Park station", "Elm Park Road"]
context = ["school", "pupils", "Ofsted", "Hornchurch"]
staff = ["Mrs A Stevenson", "Mrs L Woods", "Mrs N Sale", "Ms V Morris"]

[alerts]                  # no [smtp]: every email is written as an .eml file under data/outbox/
recipients = ["social-media@elmpark.example.org"]
sender = "monitor@elmpark.example.org"

[storage]
database = "sqlite:///demo.db"

[[source]]
name = "Hornchurch Gazette"
type = "feed"
url = "{base}/news.xml"

[[source]]
name = "Google Alert"
type = "feed"
url = "{base}/alert.atom"
all_mentions = true

[[source]]                # a forum thread read as a page, with CSS selectors
name = "Parents forum"
type = "page"
url = "{base}/forum/thread-123.html"
item = "div.post"
text = ".body"
author = ".author"
date = "time"
link = "a.permalink"
"""


class SampleWeb(BaseHTTPRequestHandler):
    """Serves demo/site/, filling in {{BASE}}, {{DATE:n}} and {{ISO:n}} (n days ago) so the posts stay recent."""

    def __init__(self, *args, base: str, deleted: set[str], **kwargs):
        self.base, self.deleted = base, deleted
        super().__init__(*args, **kwargs)

    def do_GET(self):
        path = (SITE / self.path.split("?")[0].lstrip("/")).resolve()
        if SITE not in path.parents or not path.is_file():
            self.send_error(404)
            return
        body = self.fill(path.read_text(encoding="utf-8")).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", TYPES.get(path.suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def fill(self, text: str) -> str:
        now = datetime.now(UTC).replace(microsecond=0)
        for post in self.deleted:
            text = re.sub(rf"<!-- {post} -->.*?<!-- /{post} -->", "", text, flags=re.S)
        text = text.replace("{{BASE}}", self.base)
        text = re.sub(
            r"\{\{DATE:(\d+)\}\}",
            lambda m: email.utils.format_datetime(now - timedelta(days=int(m[1]), hours=1), usegmt=True),
            text,
        )
        return re.sub(r"\{\{ISO:(\d+)\}\}", lambda m: (now - timedelta(days=int(m[1]), hours=1)).isoformat(), text)

    def log_message(self, *args):  # quiet: the demo prints what matters
        pass


def serve(deleted: set[str]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)
    server.RequestHandlerClass = partial(SampleWeb, base=f"http://127.0.0.1:{server.server_port}", deleted=deleted)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def monitor_command() -> list[str]:
    script = Path(sys.executable).parent / "school-monitor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "monitor"]


class Cli:
    """Runs `school-monitor --config ... ARGS`, showing the command and its output as a user would see them."""

    def __init__(self, config: Path):
        self.base = monitor_command() + ["--config", str(config)]

    def __call__(
        self, *args: str, show: bool = True, optional: bool = False, stdin: str | None = None
    ) -> subprocess.CompletedProcess:
        if show:
            print(f"\n$ school-monitor {shlex.join(args)}", flush=True)
        done = subprocess.run(self.base + list(args), capture_output=True, text=True, cwd=REPO, input=stdin)
        if optional and done.returncode == 2 and "invalid choice" in done.stderr:
            print(f"(note: `{args[0]}` is not in this build of school-monitor yet; the demo goes on)")
            return done
        if show:
            print((done.stdout + done.stderr).rstrip())
        if done.returncode != 0:
            print(done.stderr.rstrip(), file=sys.stderr)
            raise SystemExit(f"demo: `school-monitor {shlex.join(args)}` failed (exit {done.returncode})")
        return done


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", type=Path, default=REPO / "data" / "demo", help="where to write (default: data/demo)")
    p.add_argument(
        "--desk-seconds",
        type=float,
        default=DESK_SECONDS,
        help=f"how long the review desk stays up at the end (default {DESK_SECONDS:g}; 0: check it answers, then stop)",
    )
    options = p.parse_args(argv)
    out = options.dir.resolve()
    if out.exists():
        shutil.rmtree(out)  # a fresh database every time
    out.mkdir(parents=True)
    deleted: set[str] = set()
    server = serve(deleted)
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        config = out / "sources.toml"
        config.write_text(SOURCES.format(base=base), encoding="utf-8")
        print(f"Serving the sample web from demo/site/ on {base}; config written to {config}")
        run = Cli(config)
        run("check")
        run("scan")
        run("items")
        # Seen by a member of staff in a private group the monitor cannot read (here a page that is not public).
        run(
            "add",
            "--url",
            f"{base}/private/elm-park-parents/posts/1",
            "--seen-on",
            "Facebook",
            "--text",
            "Posted in the private Elm Park Primary parents group: the new lunch menu is awful.",
            "--note",
            "screenshot from a parent governor",
            "--by",
            "demo",
        )
        abusive = [
            i
            for i in map(json.loads, run("items", "--json", show=False).stdout.splitlines())
            if i["url"].endswith(ABUSIVE)
        ]
        for item in abusive:
            run(
                "review",
                str(item["id"]),
                "--status",
                "actioned",
                "--action",
                "deletion-requested",
                "--note",
                "asked the forum moderators to delete it",
                "--by",
                "demo",
            )
        print("\n(the sample forum now deletes the abusive post, as its moderators would)")
        deleted.add("post:3")
        run("scan")
        for item in abusive:
            run("show", str(item["id"]))
        run("digest", "--send", optional=True)
        report = run("report").stdout.split(" (")[0]
        csv = run("report", "--format", "csv").stdout.split(" (")[0]
        if abusive:
            run("evidence", str(abusive[0]["id"]), "-o", str(out / "evidence"))
    finally:
        server.shutdown()
    emails = sorted((out / "data" / "outbox").glob("*.eml")) if (out / "data" / "outbox").is_dir() else []
    print("\nThe demo wrote:")
    print(f"  database:  {out / 'demo.db'}")
    print(f"  emails:    {len(emails)} .eml file(s) in {out / 'data' / 'outbox'}")
    print(f"  report:    {report}\n  CSV:       {csv}")
    if abusive:
        print(f"  evidence:  {out / 'evidence'}")
    run("user", "add", DESK_USER, "--role", "admin", stdin=DESK_PASSWORD + "\n")
    desk(config, options.desk_seconds)
    return 0


DESK_SECONDS = 60.0
DESK_USER, DESK_PASSWORD = "demo", "elm-park-demo"


def desk(config: Path, seconds: float) -> None:
    """`school-monitor serve` on the demo's database: its address and the demo account printed,
    up for `seconds` or until Ctrl-C."""
    with socket.socket() as s:  # a free port (the desk binds it a moment later)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    print(f"\n$ school-monitor serve --listen 127.0.0.1:{port}", flush=True)
    proc = subprocess.Popen(
        monitor_command() + ["--config", str(config), "serve", "--listen", f"127.0.0.1:{port}"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(f"{url}/login", proc)
        print(f"The review desk is at {url}/ : sign in as {DESK_USER!r} with the password {DESK_PASSWORD!r}.")
        if seconds > 0:
            print(f"It stays up for {seconds:g} seconds (Ctrl-C stops it sooner).", flush=True)
            proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        pass
    except KeyboardInterrupt:
        print()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    if proc.returncode not in (0, -signal.SIGTERM):
        raise SystemExit(f"demo: the desk failed (exit {proc.returncode}): {err.strip()}")
    print("The review desk has stopped.")


def _wait_for(url: str, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"demo: the desk did not start: {proc.communicate()[1].strip()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"demo: the desk did not answer at {url}")


if __name__ == "__main__":
    sys.exit(main())
