"""A mention (`/mentions/<id>`): everything known about it, its review log, the forms that add to
the log (a step, a one-click policy action, a label correction), and its evidence as downloads."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for

from monitor.errors import InvalidChoice, InvalidInput, RequestError
from monitor.models import ACTIONS, LABELS, REVIEW_STATUSES
from monitor.web import guidance, words
from monitor.web.auth import requires, user_name
from monitor.web.state import service

bp = Blueprint("mentions", __name__)
EVIDENCE_KINDS = ("body", "fragment", "text", "manifest")
DOWNLOAD_CSP = "default-src 'none'; sandbox"  # should a browser show a download after all, nothing in it runs

DONE = {  # what a redirect after a form says; a fixed word, never text from the request
    "review": "The step was added to the review log.",
    "label": "The label was corrected; the old one is kept in the review log.",
    "added": "The mention was added and scored.",
    "exists": "That post was already stored: here it is.",
}


@bp.get("/mentions/<int:item_id>")
@requires("viewer")
def show(item_id: int) -> str:
    return _page(item_id)


def _page(item_id: int, error: str = "", form: str = "") -> str:
    m = service().mention(item_id)
    return render_template(
        "mention.html",
        m=m,
        it=m.item,
        statuses=[(s, words.status(s)) for s in REVIEW_STATUSES[1:]],
        actions=[(a, words.action(a)) for a in ACTIONS],
        labels=LABELS,
        steps=guidance.STEPS,
        first=guidance.FIRST.get(m.item.label, ""),
        done=DONE.get(request.args.get("done", ""), ""),
        error=error,
        error_form=form,
        edited=bool(m.item.text_label and m.item.text_label != m.item.label),
    )


@bp.post("/mentions/<int:item_id>/review")
@requires("reviewer")
def review(item_id: int) -> Response | tuple[str, int]:
    f = request.form
    try:
        service().review(
            item_id,
            status=f.get("status", ""),
            action=f.get("action") or None,
            note=f.get("note", ""),
            by=user_name(),
        )
    except (InvalidChoice, InvalidInput) as e:
        return _page(item_id, words.request_error(e), "review"), 400
    return _back(item_id, "review")


@bp.post("/mentions/<int:item_id>/label")
@requires("reviewer")
def correct(item_id: int) -> Response | tuple[str, int]:
    f = request.form
    note = f.get("note", "").strip()
    if not note:  # a correction teaches the monitor: the reason is part of the record
        return _page(item_id, "Say why the label is wrong (the reason is kept in the review log).", "label"), 400
    try:
        service().correct_label(item_id, label=f.get("label", ""), note=note, by=user_name())
    except InvalidChoice as e:
        return _page(item_id, words.request_error(e), "label"), 400
    return _back(item_id, "label")


def _back(item_id: int, done: str) -> Response:
    return redirect(url_for("mentions.show", item_id=item_id, done=done, _anchor="log"), code=303)  # type: ignore[return-value]


@bp.get("/mentions/<int:item_id>/evidence.zip")
@requires("viewer")
def evidence_zip(item_id: int) -> Response:
    return download(service().evidence_archive(item_id), f"mention-{item_id}-evidence.zip")


@bp.get("/mentions/<int:item_id>/evidence/<int:version>/<kind>")
@requires("viewer")
def evidence_file(item_id: int, version: int, kind: str) -> Response:
    """One file of one version: body, fragment, text or manifest (named as the export names it)."""
    if kind not in EVIDENCE_KINDS:
        abort(404)
    try:
        files = service().evidence_files(item_id, version)
    except RequestError:
        abort(404)
    found = [name for name in files if name.split(".")[0] == kind]
    if not found:
        abort(404)
    return download(files[found[0]], f"mention-{item_id}-v{version}-{found[0]}")


def download(content: bytes, filename: str) -> Response:
    """Evidence is never rendered: an attachment, a type no browser runs, and a sandbox to be sure."""
    resp = Response(content, mimetype="application/octet-stream")
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    return resp
