"""Instant alerts and the outbox: who hears at once about which mention, and sending what is queued.

Every message is rendered (notify), queued (store.outbox) and only then sent, so a dead mail
server or a crash loses nothing. Lanes: "main" is [alerts] recipients; each [[alerts.route]] is its
own lane ("route:NAME"); one message per (item, lane), ever, by the outbox's dedupe key. Which
mentions need deciding is a flag set in the transaction that stored them, cleared in the one that
queues their alerts: a kill in between loses no alert. Quiet hours hold all but abuse and extremism.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from monitor import notify, schedule, store
from monitor.config import Config
from monitor.errors import NotifyError
from monitor.models import AlertResult, Email, FlushResult, StoredItem, severity_order

log = logging.getLogger("monitor")

URGENT = ("extremism", "abuse")  # never held by quiet hours
MAIN_LANE = "main"
SEND_LEASE = timedelta(minutes=10)  # a sender that dies mid-send leaves its message to be retried after this
MAX_SEND_BACKOFF = timedelta(hours=1)


def queue_alerts(cfg: Config, engine: Engine, now: datetime) -> AlertResult:
    """Queue the instant alerts for the mentions stored since the last call.

    Posts published longer ago than [alerts] immediate_max_age go to the digest only. Past
    [alerts] max_per_hour alerts in the last hour (per lane), the rest become one pile-on message.
    """
    new_ids = store.pending_alerts(engine)
    if not new_ids:
        return AlertResult()
    a = cfg.alerts
    alertable = {
        *a.immediate,
        *(("criticism",) if a.immediate_staff else ()),
        *(label for route in a.routes for label in route.labels),
    }
    fresh = sorted(store.pending_candidates(engine, alertable, now - a.immediate_max_age), key=severity_order)
    by_lane: dict[tuple[str, tuple[str, ...]], list[StoredItem]] = {}
    for item in fresh:
        for lane in _lanes(cfg, item):
            by_lane.setdefault(lane, []).append(item)
    emails, piled = [], 0
    for (lane_name, recipients), items in by_lane.items():
        room = max(0, a.max_per_hour - store.count_alerts_since(engine, now - timedelta(hours=1), lane_name))
        for item in items[:room]:
            emails.append(_outgoing(cfg, notify.render_alert(cfg, item, recipients, lane_name), [item], now))
        if rest := items[room:]:
            emails.append(_outgoing(cfg, notify.render_pileon(cfg, rest, recipients, lane_name), rest, now))
            piled += len(rest)
    queued = store.queue_emails(engine, emails, now, alerted=new_ids)
    if queued:
        log.info("queued %d alert email(s)%s", len(queued), f", {piled} item(s) in a pile-on" if piled else "")
    return AlertResult(queued=len(queued), piled=piled)


def _lanes(cfg: Config, item: StoredItem) -> list[tuple[str, tuple[str, ...]]]:
    """Who hears at once about this mention: [alerts] recipients for the immediate labels (and
    criticism naming staff), and every route whose labels include it."""
    a = cfg.alerts
    lanes = []
    if a.recipients and (
        item.label in a.immediate or (a.immediate_staff and item.label == "criticism" and item.mentions_staff)
    ):
        lanes.append((MAIN_LANE, a.recipients))
    lanes += [(f"route:{r.name}", r.recipients) for r in a.routes if item.label in r.labels]
    return lanes


def hold_until(cfg: Config, items: Sequence[StoredItem], now: datetime) -> datetime | None:
    """When quiet hours let a message about these mentions go (None: now); urgent ones never wait."""
    if any(i.label in URGENT for i in items):
        return None
    return schedule.quiet_until(cfg.alerts.quiet_hours, now, cfg.alerts.tz)


def _outgoing(cfg: Config, email: Email, items: Sequence[StoredItem], now: datetime) -> store.Outgoing:
    return store.Outgoing(
        kind=email.kind,
        dedupe_key=email.dedupe_key or f"{email.kind}:{now.isoformat()}",
        recipients=email.to,
        subject=email.subject,
        message=notify.message_bytes(cfg, email, now),
        item_ids=email.item_ids,
        not_before=hold_until(cfg, items, now),
    )


def flush(cfg: Config, engine: Engine, now: datetime) -> FlushResult:
    """Send every due message in the outbox. A failure stays queued with its error and is retried
    with backoff; the rest wait for the next run (the server is likely down for them too)."""
    sent, errors = 0, []
    for entry in store.due_emails(engine, now):
        if not store.claim_email(engine, entry.id, now, now + SEND_LEASE):
            continue  # another sender has it
        try:
            notify.deliver(cfg, entry.message, entry.recipients)
        except notify.PartlyRefused as e:  # taken for the others: sending again would repeat it
            log.warning("email %d (%s): %s", entry.id, entry.kind, e)
            store.mark_sent(engine, entry.id, now, note=str(e))
            sent += 1
        except NotifyError as e:
            attempts = entry.attempts + 1
            retry = now + min(timedelta(minutes=1) * 2 ** min(attempts - 1, 10), MAX_SEND_BACKOFF)
            store.mark_failed(engine, entry.id, str(e), retry)
            log.warning(
                "email %d (%s) not sent (attempt %d), queued for %s: %s",
                entry.id,
                entry.kind,
                attempts,
                retry.isoformat(timespec="minutes"),
                e,
            )
            errors.append(str(e))
            break
        else:
            store.mark_sent(engine, entry.id, now)
            sent += 1
    return FlushResult(sent=sent, failed=len(errors), waiting=store.count_unsent(engine), errors=tuple(errors))
