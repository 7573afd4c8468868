"""The only package that touches the database (SQLAlchemy Core). Plain dataclasses in and out.

Identity: an item is unique per (source, key), where key is the guid, else the canonical link,
else a content hash (see monitor.parse.identity.item_key). The unique constraint enforces it, so a crash between
two writes, or two scans at once, can never store an item twice. All times are stored as naive
UTC and returned timezone-aware. One module per concern; this one only gathers their functions
(the tables are in `monitor.store.schema`).
"""

from monitor.models import Scored
from monitor.store.ai import (
    AIAnswer,
    cached_answers,
    claim_request,
    delete_old_ai_records,
    raise_label,
    requests_on,
    save_answer,
)
from monitor.store.items import (
    SaveResult,
    add_evidence,
    corrected,
    find_item_id,
    get_item,
    iter_items,
    list_evidence,
    list_items,
    save_batch,
    save_items,
)
from monitor.store.outbox import (
    OutboxEntry,
    Outgoing,
    claim_email,
    clear_pending,
    count_alerts_since,
    count_unsent,
    drop_message,
    due_emails,
    mark_failed,
    mark_sent,
    pending_alerts,
    pending_candidates,
    queue_digest,
    queue_emails,
    stuck_messages,
    undigested_items,
    unsent_emails,
)
from monitor.store.queue import queue, sources_seen
from monitor.store.reports import count_by, count_flagged, daily_counts, flagged_items, reviews_in_period
from monitor.store.reviews import (
    add_review,
    due_follow_ups,
    list_reviews,
    relabel,
    reviews_with_action,
    set_follow_up,
)
from monitor.store.schema import SCHEMA_VERSION, connect, content_hash, safe_url
from monitor.store.sources import due_sources, load_states
from monitor.store.upkeep import (
    database_size,
    delete_old_items,
    delete_sent_emails,
    get_heartbeat,
    last_digest,
    set_heartbeat,
)
from monitor.store.users import (
    Attempt,
    add_attempt,
    add_session,
    add_user,
    attempts_since,
    count_role,
    delete_session,
    delete_user,
    get_session,
    get_user,
    list_users,
    password_hash,
    set_password_hash,
    set_role,
)

__all__ = [  # noqa: RUF022 (the desk's names in a block of their own)
    "SCHEMA_VERSION",
    "OutboxEntry",
    "Outgoing",
    "SaveResult",
    "Scored",
    "add_evidence",
    "add_review",
    "claim_email",
    "clear_pending",
    "connect",
    "content_hash",
    "corrected",
    "count_alerts_since",
    "count_by",
    "count_flagged",
    "count_unsent",
    "daily_counts",
    "database_size",
    "delete_old_items",
    "delete_sent_emails",
    "drop_message",
    "due_emails",
    "due_follow_ups",
    "due_sources",
    "find_item_id",
    "flagged_items",
    "get_heartbeat",
    "get_item",
    "iter_items",
    "last_digest",
    "list_evidence",
    "list_items",
    "list_reviews",
    "load_states",
    "mark_failed",
    "mark_sent",
    "pending_alerts",
    "pending_candidates",
    "queue_digest",
    "queue_emails",
    "relabel",
    "reviews_in_period",
    "reviews_with_action",
    "safe_url",
    "save_batch",
    "save_items",
    "set_follow_up",
    "set_heartbeat",
    "stuck_messages",
    "undigested_items",
    "unsent_emails",
    # the review desk
    "Attempt",
    "add_attempt",
    "add_session",
    "add_user",
    "attempts_since",
    "count_role",
    "delete_session",
    "delete_user",
    "get_session",
    "get_user",
    "list_users",
    "password_hash",
    "queue",
    "set_password_hash",
    "set_role",
    "sources_seen",
]

# The AI second opinion (its cache, budget and raised labels).
__all__ += [
    "AIAnswer",
    "cached_answers",
    "claim_request",
    "delete_old_ai_records",
    "raise_label",
    "requests_on",
    "save_answer",
]
