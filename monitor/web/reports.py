"""The report (`/report`): the HTML report of a period, and its HTML, CSV and JSON downloads.

The HTML report is the one `school-monitor report` writes (the same template, self-contained,
inline styles, no script). It is served on its own, not inside the desk's pages, with a policy
of its own that allows those inline styles and nothing else: no script at all, nothing fetched,
no framing. The desk's own pages keep their stricter policy.
"""

from __future__ import annotations

import io
import tempfile
from datetime import date, datetime, time, timedelta

from flask import Blueprint, Response, abort, render_template, request, send_file

from monitor.errors import InvalidInput
from monitor.web.auth import requires
from monitor.web.mentions import DOWNLOAD_CSP
from monitor.web.state import service

bp = Blueprint("reports", __name__)

FORMATS = {"html": "HTML", "csv": "CSV", "json": "JSON"}
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


@bp.get("/report")
@requires("viewer")
def index() -> str:
    since, until = _period()
    tz = service().cfg.alerts.tz
    shown = {"since": since.astimezone(tz).date().isoformat(), "until": _last_day(until, tz).isoformat()}
    return render_template("report.html", period=shown, formats=FORMATS)


@bp.get("/report/view")
@requires("viewer")
def view() -> Response:
    since, until = _period()
    out = io.StringIO()
    service().write_report(out, fmt="html", since=since, until=until)
    resp = Response(out.getvalue(), mimetype="text/html")
    resp.headers["Content-Security-Policy"] = REPORT_CSP
    return resp


@bp.get("/report/download")
@requires("viewer")
def download_report() -> Response:
    fmt = request.args.get("format", "html")
    if fmt not in FORMATS:
        abort(404)
    since, until = _period()
    m = service()
    # Through a temporary file, so a year's CSV is never held in memory whole.
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (send_file closes it once sent)
    text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
    m.write_report(text, fmt=fmt, since=since, until=until)
    text.flush()
    text.detach()
    spool.seek(0)
    name = m.default_report_path(since, until, fmt).name
    resp = send_file(spool, mimetype="application/octet-stream", as_attachment=True, download_name=name)
    resp.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    return resp


def _period() -> tuple[datetime, datetime]:
    """[since, until) from the form's dates in the school's zone (`until` includes its day);
    by default the last 12 months."""
    m = service()
    tz = m.cfg.alerts.tz
    since = _day(request.args.get("since", ""), "since")
    until = _day(request.args.get("until", ""), "until")
    return m.report_period(
        datetime.combine(since, time(), tz) if since else None,
        datetime.combine(until + timedelta(days=1), time(), tz) if until else None,
    )


def _day(text: str, field: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(field, f"{text[:40]!r} is not a date (YYYY-MM-DD)") from None


def _last_day(until: datetime, tz: object) -> date:
    return (until - timedelta(microseconds=1)).astimezone(tz).date()  # type: ignore[arg-type]
