"""Per-source state: validators, errors, next check (the one truth the daemon, `scan` and a restart share)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import (
    select,
)
from sqlalchemy.engine import Connection, Engine

from monitor.models import (
    SourceState,
)
from monitor.store.schema import (
    sources,
    upsert,
)

# ---------------------------------------------------------------- sources


def load_states(engine: Engine) -> dict[str, SourceState]:
    with engine.connect() as conn:
        rows = conn.execute(select(sources)).mappings().all()
    return {r["name"]: SourceState(**{k: r[k] for k in r}) for r in rows}


def _state_row(state: SourceState) -> dict:
    return {c.name: getattr(state, c.name) for c in sources.c}


def _upsert_state(conn: Connection, values: dict) -> None:
    _upsert_states(conn, [values])


# One statement for many rows (executemany): a scan's 400 states cost one round of SQL, not 400.
def _upsert_states(conn: Connection, rows: Sequence[dict]) -> None:
    """Insert or update each source's state in one statement (another process may insert the
    same new source at the same moment: the second write updates the first's row)."""
    if rows:
        conn.execute(upsert(conn, sources, ("name",)), list(rows))


def due_sources(engine: Engine, names: Iterable[str], now: datetime) -> list[str]:
    """Those of `names` whose next check has come, or that were never checked, in the given order."""
    names = list(names)
    with engine.connect() as conn:
        rows = conn.execute(select(sources.c.name, sources.c.next_check).where(sources.c.name.in_(names)))
        next_at = {r.name: r.next_check for r in rows}
    return [n for n in names if next_at.get(n) is None or next_at[n] <= now]
