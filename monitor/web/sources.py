"""The sources (`/sources`): each configured source's health, BROKEN ones first."""

from __future__ import annotations

from flask import Blueprint, render_template

from monitor.config import format_duration
from monitor.web.auth import requires
from monitor.web.state import service

bp = Blueprint("sources", __name__)


@bp.get("/sources")
@requires("viewer")
def index() -> str:
    m = service()
    rows = m.sources_health()
    return render_template(
        "sources.html",
        rows=rows,
        every={r.source.name: format_duration(r.source.interval) for r in rows},
        broken=sum(r.broken for r in rows),
        not_watched=m.cfg.alerts.not_watched,
    )
