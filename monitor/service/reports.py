"""The report (HTML, CSV, JSON) of what is said online, and the evidence export of one mention.

The report's period is [since, until), by default the twelve months before now; mentions are
dated by when they were published (when first seen if the source gave no date). Counts are taken
in SQL and the rows streamed, so a report over 100,000 mentions holds none of them at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from sqlalchemy.engine import Engine

from monitor import report, store
from monitor.config import Config
from monitor.errors import InvalidChoice, InvalidPeriod, ItemNotFound, NoEvidence
from monitor.models import ReportData, Review, SourceHealth

FORMATS = ("html", "csv", "json")
DEFAULT_PERIOD = timedelta(days=365)


def period(since: datetime | None, until: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The report's [since, until): by default the last 12 months up to now."""
    until = until or now
    since = since or until - DEFAULT_PERIOD
    if since >= until:
        raise InvalidPeriod(since, until)
    return since, until


def data(
    cfg: Config, engine: Engine, since: datetime, until: datetime, now: datetime, flagged_limit: int | None = None
) -> ReportData:
    """Counts in SQL, the most severe flagged items with their review logs, the sources' health."""
    previous = since - (until - since)
    limit = report.FLAGGED_LIMIT if flagged_limit is None else flagged_limit
    flagged = store.flagged_items(engine, since, until, limit)
    reviews: dict[int, tuple[Review, ...]] = {}
    for r in store.list_reviews(engine, [i.id for i in flagged]) if flagged else []:
        reviews[r.item_id] = (*reviews.get(r.item_id, ()), r)
    states = store.load_states(engine)
    return ReportData(
        school=cfg.school.name,
        since=since,
        until=until,
        generated_at=now,
        by_label=store.count_by(engine, "label", since, until),
        by_source=store.count_by(engine, "source", since, until),
        previous_by_label=store.count_by(engine, "label", previous, since),
        weeks=report.weeks_from_days(store.daily_counts(engine, since, until), since, until),
        flagged=tuple(flagged),
        flagged_total=store.count_flagged(engine, since, until),
        reviews=reviews,
        sources=tuple(SourceHealth.of(s.name, s.type, s.url, s.enabled, states.get(s.name)) for s in cfg.sources),
        not_watched=cfg.alerts.not_watched,
        timezone=cfg.alerts.timezone,
    )


def default_path(cfg: Config, since: datetime, until: datetime, fmt: str) -> Path:
    tz = cfg.alerts.tz
    last = (until - timedelta(microseconds=1)).astimezone(tz)
    return cfg.data_dir / "reports" / f"report-{since.astimezone(tz):%Y-%m-%d}-to-{last:%Y-%m-%d}.{fmt}"


def write(cfg: Config, engine: Engine, out: TextIO, fmt: str, since: datetime, until: datetime, now: datetime) -> int:
    """Write the report in one format to a text stream; returns the number of mentions in the period."""
    if fmt not in FORMATS:
        raise InvalidChoice("format", fmt, FORMATS)
    if fmt == "html":
        full = data(cfg, engine, since, until, now)
        out.write(report.render_html(full, cfg.templates_dir))
        return full.total
    rows = report.paired(store.iter_items(engine, since, until), store.reviews_in_period(engine, since, until))
    if fmt == "csv":
        return report.write_csv(out, rows)
    header = data(cfg, engine, since, until, now, flagged_limit=1)  # the header's counts only
    return report.write_json(out, report.json_header(header), rows)


def export_evidence(engine: Engine, item_id: int, out_dir: Path) -> list[Path]:
    """Write every evidence version of a mention under out_dir; returns the manifests written.
    OSError (a folder that cannot be written) is the caller's to word."""
    if store.get_item(engine, item_id) is None:
        raise ItemNotFound(item_id)
    versions = store.list_evidence(engine, item_id)
    if not versions:
        raise NoEvidence(item_id)
    return report.write_evidence(out_dir, versions)
