"""Instant alerts and the outbox: who hears at once about which mention, and sending what is queued.

Every message is rendered (notify), queued (store.outbox) and only then sent, so a dead mail
server or channel, or a crash, loses nothing. Lanes: "main" is [alerts] recipients and urls (and
urls_env); each [[alerts.route]] is its own lane ("route:NAME") with its recipients and urls. One
message per (item, lane, destination), ever, by the outbox's dedupe key: the email to the lane's
recipients, and a note to each of its channels. Which mentions need deciding is a flag set in the
transaction that stored them, cleared in the one that queues their alerts: a kill in between
loses no alert. Quiet hours hold all but abuse and extremism, on every channel alike.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from monitor import channels, notify, schedule, store
from monitor.config import Config
from monitor.errors import NotifyError
from monitor.models import AlertResult, Delivery, Email, FlushResult, Note, StoredItem, severity_order

log = logging.getLogger("monitor")

URGENT = ("extremism", "abuse")  # never held by quiet hours
MAIN_LANE = channels.MAIN_LANE
SEND_LEASE = timedelta(minutes=10)  # a sender that dies mid-send leaves its message to be retried after this
MAX_SEND_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class Lane:
    """Who hears about a mention at once on one lane: its email recipients and its channels."""

    name: str
    recipients: tuple[str, ...]
    channels: tuple[channels.Channel, ...]


def queue_alerts(cfg: Config, engine: Engine, now: datetime) -> AlertResult:
    """Queue the instant alerts for the mentions stored since the last call.

    Posts published longer ago than [alerts] immediate_max_age go to the digest only. Past
    [alerts] max_per_hour alerted mentions in the last hour (per lane), the rest become one
    pile-on message (per destination).
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
    lanes = _lanes(cfg)
    by_lane: dict[str, list[StoredItem]] = {}
    for item in fresh:
        for lane in _lanes_for(cfg, lanes, item):
            by_lane.setdefault(lane.name, []).append(item)
    messages: list[store.Outgoing] = []
    piled = 0
    for name, items in by_lane.items():
        lane = lanes[name]
        room = max(0, a.max_per_hour - store.count_alerts_since(engine, now - timedelta(hours=1), name))
        for item in items[:room]:
            if lane.recipients:
                messages.append(_outgoing(cfg, notify.render_alert(cfg, item, lane.recipients, name), [item], now))
            note = notify.render_alert_note(cfg, item, name)
            messages += [_note_outgoing(cfg, note, ch, [item], now) for ch in lane.channels]
        if rest := items[room:]:
            if lane.recipients:
                messages.append(_outgoing(cfg, notify.render_pileon(cfg, rest, lane.recipients, name), rest, now))
            note = notify.render_pileon_note(cfg, rest, name)
            messages += [_note_outgoing(cfg, note, ch, rest, now) for ch in lane.channels]
            piled += len(rest)
    queued = store.queue_emails(engine, messages, now, alerted=new_ids)
    if queued:
        log.info("queued %d alert message(s)%s", len(queued), f", {piled} item(s) in a pile-on" if piled else "")
    return AlertResult(queued=len(queued), piled=piled)


def _lanes(cfg: Config) -> dict[str, Lane]:
    """Every lane with somewhere to send: main ([alerts] recipients and channels) and each route."""
    a = cfg.alerts
    configured = channels.configured(cfg)
    lanes = [Lane(MAIN_LANE, a.recipients, tuple(c for c in configured if c.lane == MAIN_LANE))]
    for r in a.routes:
        name = f"route:{r.name}"
        lanes.append(Lane(name, r.recipients, tuple(c for c in configured if c.lane == name)))
    return {lane.name: lane for lane in lanes if lane.recipients or lane.channels}


def _lanes_for(cfg: Config, lanes: dict[str, Lane], item: StoredItem) -> list[Lane]:
    """Who hears at once about this mention: the main lane for the immediate labels (and
    criticism naming staff), and every route whose labels include it."""
    a = cfg.alerts
    out = []
    if MAIN_LANE in lanes and (
        item.label in a.immediate or (a.immediate_staff and item.label == "criticism" and item.mentions_staff)
    ):
        out.append(lanes[MAIN_LANE])
    out += [lanes[f"route:{r.name}"] for r in a.routes if item.label in r.labels and f"route:{r.name}" in lanes]
    return out


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


def _note_outgoing(
    cfg: Config, note: Note, channel: channels.Channel, items: Sequence[StoredItem], now: datetime
) -> store.Outgoing:
    return store.Outgoing(
        kind=note.kind,
        dedupe_key=channel.dedupe_key(note.dedupe_key or f"{note.kind}:{now.isoformat()}"),
        recipients=(),
        subject=note.title,
        message=channels.encode(note),
        item_ids=note.item_ids,
        not_before=hold_until(cfg, items, now),
        channel=channel.column,
    )


# ---------------------------------------------------------------- sending the outbox


def retry_delay(attempts: int) -> timedelta:
    """1 minute after the first failure, doubling, at most an hour (never SEND_LEASE: see `_leased`)."""
    return min(timedelta(minutes=1) * 2 ** min(attempts - 1, 10), MAX_SEND_BACKOFF)


def _leased(entry: store.OutboxEntry, now: datetime) -> bool:
    """Claimed by a sender that may be sending it right now: claiming sets next_attempt exactly
    SEND_LEASE after last_attempt, and a failure sets it a retry_delay after, never equal."""
    return bool(
        entry.next_attempt
        and entry.last_attempt
        and entry.next_attempt > now
        and entry.next_attempt - entry.last_attempt == SEND_LEASE
    )


def flush(cfg: Config, engine: Engine, now: datetime, *, force: bool = False, held: bool = False) -> FlushResult:
    """Send every due message in the outbox, email and channels. A failure stays queued with its
    error and is retried with backoff; the rest for that destination wait for the next run (the
    server is likely down for them too), the other destinations go on.

    `force` (`outbox --send`, as a mail server's "flush the queue"): every message waiting for a
    retry, whatever its backoff, but none that another sender is sending; `held`: those quiet hours
    hold as well.
    """
    sent, errors = 0, []
    failed: set[str] = set()  # destinations that failed in this pass
    known = channels.by_key(cfg)  # a queued note's channel, found again by its key (urls_env read now)
    for entry in store.due_emails(engine, now, flush=force, held=held):
        if entry.channel in failed or (force and _leased(entry, now)):
            continue
        attempts = entry.attempts if force else None
        if not store.claim_email(engine, entry.id, now, now + SEND_LEASE, attempts=attempts):
            continue  # another sender has it
        where = channels.shown_of(entry.channel)
        try:
            _send(cfg, entry, known)
        except notify.PartlyRefused as e:  # taken for the others: sending again would repeat it
            log.warning("message %d (%s, %s): %s", entry.id, entry.kind, where, e)
            store.mark_sent(engine, entry.id, now, note=str(e))
            sent += 1
        except NotifyError as e:
            attempts_now = entry.attempts + 1
            retry = now + retry_delay(attempts_now)
            store.mark_failed(engine, entry.id, str(e), retry)
            log.warning(
                "message %d (%s, %s) not sent (attempt %d), queued for %s: %s",
                entry.id,
                entry.kind,
                where,
                attempts_now,
                retry.isoformat(timespec="minutes"),
                e,
            )
            errors.append(str(e) if entry.channel != channels.EMAIL else f"email: {e}")
            failed.add(entry.channel)
        else:
            store.mark_sent(engine, entry.id, now)
            sent += 1
    return FlushResult(sent=sent, failed=len(errors), waiting=store.count_unsent(engine), errors=tuple(errors))


def _send(cfg: Config, entry: store.OutboxEntry, known: dict[str, channels.Channel]) -> None:
    if entry.channel == channels.EMAIL:
        notify.deliver(cfg, entry.message, entry.recipients)
        return
    channel = known.get(channels.key_of(entry.channel))
    if channel is None:
        raise NotifyError(
            f"{channels.shown_of(entry.channel)}: this channel is no longer in sources.toml "
            "([alerts] urls, the variable urls_env names, or a route's urls); put it back to send this message"
        )
    channels.send(channel, channels.decode(entry.message, entry.kind))


# ---------------------------------------------------------------- notify-test


def test_destinations(cfg: Config, now: datetime) -> list[Delivery]:
    """One test message to every email recipient (as one email) and every channel, sent now (not
    through the outbox); what each said."""
    out = []
    recipients = tuple(dict.fromkeys([*cfg.alerts.recipients, *(r for rt in cfg.alerts.routes for r in rt.recipients)]))
    if recipients:
        email = notify.render_test_email(cfg, recipients)
        where = f"email to {', '.join(recipients)}"
        try:
            notify.deliver(cfg, notify.message_bytes(cfg, email, now), recipients)
        except notify.PartlyRefused as e:
            out.append(Delivery(where, note=str(e)))
        except NotifyError as e:
            out.append(Delivery(where, error=str(e)))
        else:
            out.append(Delivery(where, note="" if cfg.smtp else f"no [smtp]: written under {cfg.outbox_dir}"))
    note = notify.render_test_note(cfg)
    seen: set[str] = set()
    for channel in channels.configured(cfg):
        if channel.key in seen:
            continue
        seen.add(channel.key)
        lane = channels.lane_name(channel.lane)
        try:
            channels.send(channel, note)
        except NotifyError as e:
            error = str(e).removeprefix(f"{channel.shown}: ")
            out.append(Delivery(f"{channel.shown} ({lane})", error=error))
        else:
            out.append(Delivery(f"{channel.shown} ({lane})"))
    return out
