"""The daily digest: what it lists, and queueing it with its mentions marked digested.

It lists every mention not yet in a digest (grouped by label), the earlier high and medium ones
still awaiting review, the sources failing for [alerts] failing_after or FAILING_RUNS runs in a
row, and the posts confirmed gone since the last digest. With none of these, there is no digest
unless [alerts] digest_when_empty. It goes to [alerts] recipients (the email) and to each of the
main lane's channels ([alerts] urls and urls_env: a summary note), never to the routes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from monitor import channels, notify, schedule, store
from monitor.config import Config
from monitor.models import DigestResult, Email, SourceState, severity_order

FAILING_RUNS = 3  # a source failing this many runs in a row is named in the digest


def render(cfg: Config, engine: Engine, since: datetime | None, now: datetime) -> Email | None:
    """The digest as it would be sent now, or None when there is nothing to say. Marks nothing."""
    data = _data(cfg, engine, since, now)
    if data.empty and not cfg.alerts.digest_when_empty:
        return None
    return notify.render_digest(cfg, data)


def queue(cfg: Config, engine: Engine, since: datetime | None, now: datetime) -> DigestResult:
    """Queue the digest (the email and a note per main channel) and mark its mentions digested, in
    one transaction (no mention is in two digests, and none is missed); the caller sends it with
    the outbox."""
    data = _data(cfg, engine, since, now)
    if data.empty and not cfg.alerts.digest_when_empty:
        return DigestResult(email=None)
    email = notify.render_digest(cfg, data)
    targets = channels.for_lane(cfg, channels.MAIN_LANE)
    shown = tuple(c.shown for c in targets)
    if not email.to and not targets:
        return DigestResult(email=email, items=len(email.item_ids), no_recipients=True)
    hold = schedule.quiet_until(cfg.alerts.quiet_hours, now, cfg.alerts.tz)
    messages = []
    if email.to:
        messages.append(
            store.Outgoing(
                kind=email.kind,
                dedupe_key=email.dedupe_key or f"digest:{now.isoformat()}",
                recipients=email.to,
                subject=email.subject,
                message=notify.message_bytes(cfg, email, now),
                item_ids=email.item_ids,
                not_before=hold,
            )
        )
    if targets:
        note = notify.render_digest_note(cfg, data)
        messages += [
            store.Outgoing(
                kind=note.kind,
                dedupe_key=c.dedupe_key(note.dedupe_key or f"digest:{now.isoformat()}"),
                recipients=(),
                subject=note.title,
                message=channels.encode(note),
                item_ids=note.item_ids,
                not_before=hold,
                channel=c.column,
            )
            for c in targets
        ]
    queued = store.queue_digest(engine, messages, email.item_ids, now) is not None
    return DigestResult(email=email, items=len(email.item_ids), queued=queued, channels=shown)


def _data(cfg: Config, engine: Engine, since: datetime | None, now: datetime) -> notify.DigestData:
    window = since or store.last_digest(engine)
    new = store.undigested_items(engine, since=since)
    listed = {i.id for i in new}
    awaiting = sorted(
        (
            i
            for i in store.list_items(engine, statuses=["new"])
            if i.severity in ("high", "medium") and i.id not in listed
        ),
        key=severity_order,
    )
    removed = store.reviews_with_action(engine, "removed", window or now - timedelta(days=1))
    return notify.DigestData(
        since=window,
        until=now,
        items=tuple(new),
        awaiting=tuple(awaiting),
        failing=_failing(cfg, engine, now),
        removed=tuple(notify.Removed(item=it, at=r.at, by=r.by, note=r.note) for r, it in removed),
    )


def _failing(cfg: Config, engine: Engine, now: datetime) -> tuple[SourceState, ...]:
    """Configured sources failing for [alerts] failing_after, or FAILING_RUNS runs in a row."""
    states = store.load_states(engine)
    out = []
    for src in cfg.sources:
        st = states.get(src.name)
        if not src.enabled or st is None or not st.failures:
            continue
        since_ok = now - st.last_success if st.last_success else None
        if st.failures >= FAILING_RUNS or since_ok is None or since_ok >= cfg.alerts.failing_after:
            out.append(st)
    return tuple(out)
