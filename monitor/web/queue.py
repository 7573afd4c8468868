"""The queue (`/`): mentions awaiting review first, most severe, then newest; filters, search, paging."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Blueprint, render_template, request, url_for

from monitor.models import LABELS, REVIEW_STATUSES, QueueQuery
from monitor.web import words
from monitor.web.auth import requires
from monitor.web.state import service

bp = Blueprint("queue", __name__)

PERIODS = {
    "1d": ("the last day", 1),
    "7d": ("the last 7 days", 7),
    "30d": ("the last 30 days", 30),
    "365d": ("the last 12 months", 365),
}
FILTERS = ("label", "status", "source", "period", "q")


@dataclass(frozen=True)
class Tab:
    label: str
    count: int
    url: str
    current: bool


@bp.get("/")
@requires("viewer")
def index() -> str:
    args = {k: request.args.get(k, "").strip() for k in FILTERS}
    m = service()
    period = PERIODS.get(args["period"])
    page = m.queue(
        QueueQuery(
            label=args["label"] or None,
            status=args["status"] or None,
            source=args["source"] or None,
            since=m.now() - timedelta(days=period[1]) if period else None,
            text=args["q"],
            page=_int(request.args.get("page"), 1),
        )
    )
    shown = {k: v for k, v in args.items() if v}

    def link(**changes: Any) -> str:
        wanted: dict[str, Any] = {**shown, **changes}  # an empty filter and page 1 are left out of the address
        return url_for("queue.index", **{k: v for k, v in wanted.items() if v and not (k == "page" and v == 1)})

    tabs = [Tab("all", sum(page.by_label.values()), link(label="", page=1), not args["label"])]
    tabs += [Tab(lb, page.by_label.get(lb, 0), link(label=lb, page=1), args["label"] == lb) for lb in LABELS]
    return render_template(
        "queue.html",
        page=page,
        args=args,
        tabs=tabs,
        labels=LABELS,
        statuses=[(s, words.status(s)) for s in REVIEW_STATUSES],
        periods=[(k, v[0]) for k, v in PERIODS.items()],
        sources=m.queue_sources(),
        previous=link(page=page.page - 1) if page.page > 1 else None,
        next=link(page=page.page + 1) if page.page < page.pages else None,
        filtered=bool(shown),
    )


def _int(value: str | None, default: int) -> int:
    try:
        return max(1, int(value or default))
    except ValueError:
        return default
