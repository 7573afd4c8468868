"""Add by hand (`/add`): what staff saw where no collector can go, with a screenshot as evidence.

The same path as `school-monitor add`, with one difference: the address is only fetched when it
is public (a desk account must not make the server read the school's own network).
"""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for

from monitor.errors import InvalidInput, NothingToFetch
from monitor.web import words
from monitor.web.auth import requires, user_name
from monitor.web.state import service

bp = Blueprint("add", __name__)

FIELDS = ("url", "text", "title", "platform", "note")
PLATFORMS = ("Facebook", "Instagram", "TikTok", "WhatsApp", "X (Twitter)", "Snapchat", "YouTube", "Mumsnet", "Nextdoor")
SCREENSHOT_READ = 10 * 1024**2 + 1  # one byte over the cap, so an oversized file is told as such


@bp.get("/add")
@requires("reviewer")
def form() -> str:
    return _form()


def _form(error: str = "", values: dict[str, str] | None = None) -> str:
    return render_template("add.html", error=error, values=values or {}, platforms=PLATFORMS)


@bp.post("/add")
@requires("reviewer")
def add() -> Response | tuple[str, int]:
    values = {k: request.form.get(k, "") for k in FIELDS}
    upload = request.files.get("screenshot")
    screenshot = upload.stream.read(SCREENSHOT_READ) if upload and upload.filename else None
    try:
        added, _ = service().add_mention(
            values["url"],
            text=values["text"],
            title=values["title"],
            seen_on=values["platform"],
            note=values["note"],
            by=user_name(),
            screenshot=screenshot or None,
            public_only=True,
        )
    except InvalidInput as e:
        return _form(words.request_error(e), values), 400
    except NothingToFetch as e:
        return _form(f"The address could not be read ({e.reason}): paste what the post says.", values), 400
    done = "added" if added.new else "exists"
    return redirect(url_for("mentions.show", item_id=added.item.id, done=done), code=303)  # type: ignore[return-value]
