"""Signing in and out, the session every request carries, CSRF, and the role each view requires.

The session cookie holds a random token (its SHA-256 is the database's key): HttpOnly,
SameSite=Lax, Secure when the desk is reached over https, a new one at each sign-in. Each session
has its own CSRF token, which every form carries; before a session exists, the sign-in form's
token is checked against a cookie of its own (double submit), so no other site can sign a
browser in under an account of its choosing.
"""

from __future__ import annotations

import functools
import hmac
import re
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for

from monitor.errors import SignInFailed, SignInThrottled
from monitor.text import local_time
from monitor.web.state import service

COOKIE = "desk_session"
LOGIN_COOKIE = "desk_signin"  # the sign-in form's CSRF token, before there is a session
# They check what they need themselves (the sign-in form's token; the session's, to sign out).
PUBLIC = frozenset({"auth.login", "auth.login_post", "auth.logout", "static"})

TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # what secrets.token_urlsafe(32) makes

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])


def requires(role: str) -> Callable[[F], F]:
    """The view needs a signed-in user with `role`'s rights: 401 without one, 403 with too few."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            desk = g.get("desk")
            if desk is None:
                abort(401)
            if not desk.user.can(role):
                abort(403)
            return view(*args, **kwargs)

        inner.desk_role = role  # type: ignore[attr-defined]
        return inner  # type: ignore[return-value]

    return wrap


def user_name() -> str:
    """Who is signed in (the name every review step is recorded under)."""
    return str(g.desk.user.name)


@bp.before_app_request
def load_session() -> Response | None:
    """Who is asking; anyone not signed in is sent to the sign-in page and sees no data; a POST
    without the session's CSRF token changes nothing."""
    token = request.cookies.get(COOKIE, "")
    g.desk = service().desk_session(token) if token else None
    if request.endpoint in PUBLIC:
        return None
    if g.desk is None:
        if request.method in ("GET", "HEAD"):
            return redirect(url_for("auth.login", next=_wanted()))  # type: ignore[return-value]
        abort(401)
    if request.method not in ("GET", "HEAD") and not _same(request.form.get("csrf", ""), g.desk.csrf):
        abort(400)
    return None


def _wanted() -> str:
    return request.full_path.rstrip("?") if request.query_string else request.path


def _same(given: str, expected: str) -> bool:
    return bool(given and expected) and hmac.compare_digest(given.encode(), expected.encode())


def _secure() -> bool:
    return request.is_secure or service().cfg.web.base_url.startswith("https://")


@bp.get("/login")
def login() -> Response:
    """The sign-in form (also to someone signed in: a shared office computer changes hands)."""
    return _login_form()


def _login_form(status: int = 200, error: str = "", name: str = "", retry_after: int = 0) -> Response:
    # The browser's token is kept when it has one: another tab's sign-in form (or a stray request
    # sent here) must not make this form's token stale.
    kept = request.cookies.get(LOGIN_COOKIE, "")
    token = kept if TOKEN.fullmatch(kept) else secrets.token_urlsafe(32)
    html = render_template(
        "login.html", login_csrf=token, error=error, name=name, next=safe_next(request.values.get("next"))
    )
    resp = Response(html, status=status)
    resp.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="Lax", secure=_secure(), path="/login")
    if retry_after:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


@bp.post("/login")
def login_post() -> Response:
    if not _same(request.form.get("csrf", ""), request.cookies.get(LOGIN_COOKIE, "")):
        return _login_form(400, "The sign-in form had expired. Please try again.")
    name = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    m = service()
    try:
        signed = m.sign_in(
            name, password, address=request.remote_addr or "unknown", replaces=request.cookies.get(COOKIE, "")
        )
    except SignInThrottled as e:
        until = local_time(e.until, m.cfg.alerts.tz, "%H:%M")  # type: ignore[arg-type]
        seconds = max(1, int((e.until - m.now()).total_seconds()))  # type: ignore[operator]
        return _login_form(429, f"Too many failed sign-ins. Try again after {until}.", name, retry_after=seconds)
    except SignInFailed:
        return _login_form(400, "Wrong name or password.", name)
    resp = redirect(safe_next(request.form.get("next")), code=303)
    resp.set_cookie(
        COOKIE, signed.token, httponly=True, samesite="Lax", secure=_secure(), expires=signed.session.expires
    )
    resp.delete_cookie(LOGIN_COOKIE, path="/login")
    return resp  # type: ignore[return-value]


@bp.post("/logout")
def logout() -> Response:
    """Ends the session (with its CSRF token: no other site can sign anyone out)."""
    token = request.cookies.get(COOKIE, "")
    if g.desk is not None:
        if not _same(request.form.get("csrf", ""), g.desk.csrf):
            abort(400)
        service().sign_out(token)
    resp = redirect(url_for("auth.login"), code=303)
    resp.delete_cookie(COOKIE)
    return resp  # type: ignore[return-value]


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this desk only (never another site)."""
    # Browsers drop tabs and line breaks from an address and read a backslash as "/": "/<tab>/evil"
    # and "/<backslash>evil" would lead off the desk.
    if not value or not value.startswith("/") or "\\" in value or any(c <= " " for c in value):
        return "/"
    return "/" if value.startswith("//") else value
