"""The report (HTML, CSV, JSON) and the evidence export. Pure output: plain data in, text or files out.

The HTML is one self-contained file from the `report.html` template (Jinja2, autoescaped): inline
styles, charts as inline SVG drawn by matplotlib (imported only here, and only for HTML, because
it is slow to import), A4 print styles. Whatever came from the internet is escaped, and only
http(s) links become links. CSV cells that a spreadsheet would run as a formula are defused.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from monitor import templating
from monitor.models import LABELS, Evidence, ReportData, Review, StoredItem, WeekCount

FLAGGED_LIMIT = 500  # the HTML lists this many flagged items; the CSV/JSON have them all
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
LABEL_COLOURS = {
    "extremism": "#5b2a86",
    "abuse": "#c0392b",
    "criticism": "#e67e22",
    "praise": "#27ae60",
    "neutral": "#95a5a6",
}
CSV_FIELDS = (
    "id",
    "source",
    "url",
    "title",
    "text",
    "author",
    "published",
    "first_seen",
    "updated_at",
    "digested_at",
    "label",
    "severity",
    "sentiment",
    "flags",
    "mentions_staff",
    "status",
    "last_action",
    "last_review_at",
    "last_review_by",
    "reviews",
)


# ---------------------------------------------------------------- HTML


def weeks_from_days(
    rows: Iterable[tuple[str, str, int, float]], since: datetime, until: datetime
) -> tuple[WeekCount, ...]:
    """Daily (day, label, count, sentiment sum) rows -> one WeekCount per week of the period, empty ones too."""

    def monday(day: date) -> datetime:
        return datetime.combine(day - timedelta(days=day.weekday()), datetime.min.time(), UTC)

    counts: dict[datetime, dict[str, int]] = {}
    sentiment: dict[datetime, float] = {}
    week = monday(since.astimezone(UTC).date())
    while week < until:
        counts[week], sentiment[week] = {}, 0.0
        week += timedelta(days=7)
    for day, label, n, total in rows:
        week = monday(datetime.fromisoformat(day).date())
        by_label = counts.setdefault(week, {})
        by_label[label] = by_label.get(label, 0) + n
        sentiment[week] = sentiment.get(week, 0.0) + total
    return tuple(
        WeekCount(w, counts[w], sentiment[w] / sum(counts[w].values()) if counts[w] else None) for w in sorted(counts)
    )


def render_html(data: ReportData, templates_dir: Path) -> str:
    env = templating.environment(templates_dir, data.timezone)
    return templating.render(
        env,
        templating.REPORT,
        {
            "r": data,
            "labels": LABELS,
            "colours": LABEL_COLOURS,
            "charts": charts(data.weeks),
            "more": data.flagged_total - len(data.flagged),
            "last_day": data.until - timedelta(microseconds=1),
        },
    )


def charts(weeks: tuple[WeekCount, ...]) -> dict[str, templating.Markup]:
    """Mentions per week by label, and mean sentiment per week, as inline SVG (text kept as text)."""
    if not any(w.by_label for w in weeks):
        return {}
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import date2num
    from matplotlib.figure import Figure

    x = [float(date2num(w.week)) for w in weeks]
    with matplotlib.rc_context(
        {
            "svg.fonttype": "none",
            "svg.hashsalt": "school-monitor",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    ):
        fig = Figure(figsize=(7.2, 2.8))
        ax = fig.add_subplot()
        bottom = [0] * len(weeks)
        for label in LABELS:
            values = [w.by_label.get(label, 0) for w in weeks]
            if any(values):
                ax.bar(
                    x,
                    values,
                    width=6,
                    bottom=bottom,
                    label=label,
                    color=LABEL_COLOURS[label],
                    align="edge",
                )
                bottom = [b + v for b, v in zip(bottom, values, strict=False)]
        ax.xaxis_date()
        ax.set_ylabel("mentions per week")
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=5, frameon=False, fontsize=8)
        fig.autofmt_xdate()
        mentions = _svg(FigureCanvasAgg(fig))

        fig = Figure(figsize=(7.2, 2.4))
        ax = fig.add_subplot()
        points = [(float(date2num(w.week)), w.sentiment) for w in weeks if w.sentiment is not None]
        ax.axhline(0, color="#999999", linewidth=0.8)
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3, color="#2c3e50")
        ax.xaxis_date()
        ax.set_ylim(-1, 1)
        ax.set_ylabel("mean sentiment (-1..1)")
        fig.autofmt_xdate()
        sentiment = _svg(FigureCanvasAgg(fig))
    return {"mentions": mentions, "sentiment": sentiment}


def _svg(canvas: Any) -> templating.Markup:
    buf = io.StringIO()
    canvas.print_figure(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    # Our own drawing (labels and dates, no text from the internet): embedded from <svg> on.
    return templating.Markup(text[text.index("<svg") :])


# ---------------------------------------------------------------- CSV and JSON


def defuse(value: str) -> str:
    """A text cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a leading apostrophe."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def _row(item: StoredItem, log: list[Review]) -> dict:
    last = log[-1] if log else None
    actions = [r.action for r in log if r.action]
    return {
        **item.as_json(),
        "updated_at": _iso(item.updated_at),
        "digested_at": _iso(item.digested_at),
        "last_action": actions[-1] if actions else None,
        "last_review_at": _iso(last.at) if last else None,
        "last_review_by": last.by if last else None,
    }


def paired(items: Iterator[StoredItem], logs: dict[int, list[Review]]) -> Iterator[tuple[StoredItem, list[Review]]]:
    """Each mention with its review log, still streamed."""
    for item in items:
        yield item, logs.get(item.id, [])


def write_csv(out: TextIO, rows: Iterable[tuple[StoredItem, list[Review]]]) -> int:
    """One line per mention with every stored field and its review status; returns the number written."""
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    n = 0
    for item, log in rows:
        row = _row(item, log)
        row["flags"] = "; ".join(row["flags"])
        row["reviews"] = len(log)
        writer.writerow([defuse(v) if v.__class__ is str and v else v for v in map(row.get, CSV_FIELDS)])
        n += 1
    return n


def review_json(r: Review) -> dict:
    return {"at": _iso(r.at), "by": r.by, "status": r.status, "action": r.action, "note": r.note}


def write_json(out: TextIO, header: dict, rows: Iterable[tuple[StoredItem, list[Review]]]) -> int:
    """{...header, "items": [...]}: written item by item, never held as one list."""
    out.write(json.dumps(header, ensure_ascii=False, indent=1)[:-2] + ',\n "items": [')
    n = 0
    for item, log in rows:
        obj = {**_row(item, log), "reviews": [review_json(r) for r in log]}
        out.write(("\n  " if n == 0 else ",\n  ") + json.dumps(obj, ensure_ascii=False))
        n += 1
    out.write("\n ]\n}\n")
    return n


def json_header(data: ReportData) -> dict:
    return {
        "school": data.school,
        "since": _iso(data.since),
        "until": _iso(data.until),
        "generated_at": _iso(data.generated_at),
        "mentions": data.total,
        "negative": data.negative,
        "by_label": data.by_label,
        "by_source": data.by_source,
        "previous_period": {"since": _iso(data.since - (data.until - data.since)), "by_label": data.previous_by_label},
        "flagged": data.flagged_total,
        "not_watched": list(data.not_watched),
    }


# ---------------------------------------------------------------- evidence


IMAGE_SUFFIXES = {"image/png": ".png", "image/jpeg": ".jpg"}


def write_evidence(out_dir: Path, versions: list[Evidence]) -> list[Path]:
    """Each version into its own folder: the body as served (byte for byte), the item's fragment,
    its text, and manifest.json (url, fetched_at, the SHA-256 of each file). Returns the manifests."""
    manifests = []
    for ev in versions:
        folder = out_dir / f"version-{ev.version}"
        folder.mkdir(parents=True, exist_ok=True)
        files = {"fragment" + _suffix(ev.raw): ev.raw, "text.txt": ev.text.encode("utf-8")}
        if ev.body is not None:
            files["body" + _suffix(ev.body, ev.body_content_type)] = ev.body
        for name, content in files.items():
            (folder / name).write_bytes(content)
        manifest = {
            "item_id": ev.item_id,
            "version": ev.version,
            "url": ev.url,
            "fetched_at": _iso(ev.fetched_at),
            "body": {"url": ev.body_url, "fetched_at": _iso(ev.body_fetched_at), "content_type": ev.body_content_type}
            if ev.body is not None
            else None,
            "files": {
                name: {"sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
                for name, content in files.items()
            },
        }
        path = folder / "manifest.json"
        path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        manifests.append(path)
    return manifests


def _suffix(content: bytes, content_type: str = "") -> str:
    if content_type in IMAGE_SUFFIXES:  # a screenshot added by hand (its type checked by content)
        return IMAGE_SUFFIXES[content_type]
    head = content[:200].lstrip().lower()
    if "html" in content_type or head.startswith((b"<!doctype html", b"<html")):
        return ".html"
    if "xml" in content_type or head.startswith(b"<"):
        return ".xml"
    return ".txt"
