"""Accounts (`/users`, admins only): add one, change a role, set a password, remove one.

The same service as `school-monitor user`; each change is logged with the admin's name.
"""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for

from monitor.errors import InvalidChoice, InvalidInput, InvalidPassword, LastAdmin, UserExists, UserNotFound
from monitor.models import ROLES
from monitor.web import words
from monitor.web.auth import requires, user_name
from monitor.web.state import service

bp = Blueprint("users", __name__)

DONE = {
    "added": "The account was added.",
    "role": "The role was changed.",
    "password": "The password was set; that account's sessions have ended.",
    "removed": "The account was removed.",
}
ROLE_WORDS = {
    "viewer": "reads the queue, mentions, sources and reports (governors)",
    "reviewer": "also records review steps, corrects labels, adds by hand (managers, the DSL)",
    "admin": "also manages accounts",
}
PROBLEMS = (InvalidChoice, InvalidInput, InvalidPassword, LastAdmin, UserExists, UserNotFound)


@bp.get("/users")
@requires("admin")
def index() -> str:
    return _page()


def _page(error: str = "", values: dict[str, str] | None = None) -> str:
    return render_template(
        "users.html",
        users=service().users(),
        roles=[(r, ROLE_WORDS[r]) for r in ROLES],
        done=DONE.get(request.args.get("done", ""), ""),
        error=error,
        values=values or {},
    )


def _problem(e: Exception) -> str:
    if isinstance(e, InvalidChoice | InvalidInput):
        return words.request_error(e)
    return str(e)[:1].upper() + str(e)[1:] + "."


def _done(what: str) -> Response:
    return redirect(url_for("users.index", done=what), code=303)  # type: ignore[return-value]


@bp.post("/users")
@requires("admin")
def add() -> Response | tuple[str, int]:
    f = request.form
    values = {"name": f.get("name", "").strip(), "role": f.get("role", ""), "email": f.get("email", "")}
    try:
        if f.get("password", "") != f.get("password2", ""):
            raise InvalidPassword("the two entries differ")
        service().add_user(
            values["name"], role=values["role"], email=values["email"], password=f.get("password", ""), by=user_name()
        )
    except PROBLEMS as e:
        return _page(_problem(e), values), 400
    return _done("added")


@bp.post("/users/<name>/role")
@requires("admin")
def role(name: str) -> Response | tuple[str, int]:
    try:
        service().set_role(name, request.form.get("role", ""), by=user_name())
    except PROBLEMS as e:
        return _page(_problem(e)), 400
    return _done("role")


@bp.post("/users/<name>/password")
@requires("admin")
def password(name: str) -> Response | tuple[str, int]:
    f = request.form
    try:
        if f.get("password", "") != f.get("password2", ""):
            raise InvalidPassword("the two entries differ")
        service().set_password(name, f.get("password", ""), by=user_name())
    except PROBLEMS as e:
        return _page(_problem(e)), 400
    return _done("password")


@bp.post("/users/<name>/remove")
@requires("admin")
def remove(name: str) -> Response | tuple[str, int]:
    if request.form.get("confirm") != "yes":
        return _page(f"Tick the box to confirm that {name} is to be removed."), 400
    try:
        service().remove_user(name, by=user_name())
    except PROBLEMS as e:
        return _page(_problem(e)), 400
    return _done("removed")
