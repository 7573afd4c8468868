"""The outbox rows of a rendered message: an email, or a note for each channel. No decisions here:
alerting and the digest say what to send and when it may go (`hold`); this says how it is queued."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from monitor import channels, notify, store
from monitor.config import Config
from monitor.models import Email, Note


def email_row(cfg: Config, email: Email, hold: datetime | None, now: datetime) -> store.Outgoing:
    """An email as it will be sent (its Message-ID derived from its dedupe key: a retry is the same email)."""
    return store.Outgoing(
        kind=email.kind,
        dedupe_key=email.dedupe_key or f"{email.kind}:{now.isoformat()}",
        recipients=email.to,
        subject=email.subject,
        message=notify.message_bytes(cfg, email, now),
        item_ids=email.item_ids,
        not_before=hold,
    )


def note_rows(
    note: Note, targets: Sequence[channels.Channel], hold: datetime | None, now: datetime
) -> list[store.Outgoing]:
    """A note for each channel, kept as rendered; one dedupe key per channel."""
    return [
        store.Outgoing(
            kind=note.kind,
            dedupe_key=channel.dedupe_key(note.dedupe_key or f"{note.kind}:{now.isoformat()}"),
            recipients=(),
            subject=note.title,
            message=channels.encode(note),
            item_ids=note.item_ids,
            not_before=hold,
            channel=channel.column,
        )
        for channel in targets
    ]
