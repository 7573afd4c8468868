"""The app factory: blueprints per area, the security headers every response carries, error pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, Response, g, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from monitor.errors import InvalidChoice, InvalidInput, InvalidPeriod, ItemNotFound, NoEvidence, RequestError
from monitor.text import http_url, local_time, redact_url
from monitor.web import words
from monitor.web.state import service, set_service

if TYPE_CHECKING:
    from monitor.service import Monitor

MAX_UPLOAD = 11 * 1024**2  # a 10 MB screenshot and the form around it

# No inline script anywhere: scripts, styles and images come from the desk itself.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

__all__ = ["create_app", "set_service"]


def create_app(monitor: Monitor) -> Flask:
    """The desk for one school's monitor (replace it after a reload with `set_service`)."""
    from monitor.web import add, auth, mentions, queue, reports, sources, users

    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config.update(MAX_CONTENT_LENGTH=MAX_UPLOAD, SEND_FILE_MAX_AGE_DEFAULT=3600)
    set_service(app, monitor)
    for module in (auth, queue, mentions, add, sources, reports, users):
        app.register_blueprint(module.bp)
    _check_every_view_has_a_role(app, public=auth.PUBLIC)
    env = app.jinja_env
    env.trim_blocks = env.lstrip_blocks = True
    env.filters.update(
        local=lambda when, fmt="%d %b %Y %H:%M": local_time(when, service().cfg.alerts.tz, fmt, missing="—"),
        http_url=http_url,
        redact_url=redact_url,
        flag_words=words.flag,
        label_words=words.label,
    )
    app.context_processor(_context)
    app.after_request(_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(RequestError, _request_error)
    return app


def _context() -> dict:
    desk = g.get("desk")
    return {"me": desk.user if desk else None, "csrf": desk.csrf if desk else "", "school": service().school}


def _headers(resp: Response) -> Response:
    resp.headers.setdefault("Content-Security-Policy", CSP)
    for name, value in HEADERS.items():
        resp.headers.setdefault(name, value)
    if request.endpoint != "static":
        resp.headers.setdefault("Cache-Control", "no-store")  # pages hold what staff are dealing with
    if request.is_secure:  # reached over https (directly or through the trusted proxy): only ever so
        resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return resp


def _http_error(e: HTTPException) -> ResponseReturnValue:
    if e.code is None or e.code < 400:
        return e.get_response()
    return render_template("error.html", code=e.code, message=words.http_error(e.code)), e.code


def _request_error(e: RequestError) -> tuple[str, int]:
    """A service error no view handled: 404 for what does not exist, 400 for a bad value."""
    code = 404 if isinstance(e, ItemNotFound | NoEvidence) else 400
    if isinstance(e, InvalidChoice | InvalidInput | InvalidPeriod | ItemNotFound | NoEvidence):
        message = words.request_error(e)
    else:
        message = str(e)
    return render_template("error.html", code=code, message=message), code


def _check_every_view_has_a_role(app: Flask, public: frozenset[str]) -> None:
    """A view added without `@requires(role)` would be open to anyone signed in: refuse to start."""
    open_views = [
        name for name, view in app.view_functions.items() if name not in public and not hasattr(view, "desk_role")
    ]
    if open_views:
        raise RuntimeError(f"desk views without @requires(role): {', '.join(sorted(open_views))}")
