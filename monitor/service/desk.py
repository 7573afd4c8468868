"""What the review desk reads besides single mentions: the queue, the sources' health, and a
mention's evidence as files to download.

The evidence files are the ones `school-monitor evidence` writes (the same code writes them), so
what staff download from the desk and what the command line exports are byte for byte the same.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.engine import Engine

from monitor import report, store
from monitor.config import Config, Source
from monitor.errors import InvalidChoice, ItemNotFound, NoEvidence
from monitor.models import LABELS, REVIEW_STATUSES, QueuePage, QueueQuery, SourceState

MAX_PER_PAGE = 200


@dataclass(frozen=True)
class SourceRow:
    """A configured source and its stored health (None: never run)."""

    source: Source
    state: SourceState | None

    @property
    def broken(self) -> bool:
        return self.state is not None and self.state.broken

    @property
    def failing(self) -> bool:
        return self.state is not None and self.state.failures > 0


def queue(engine: Engine, q: QueueQuery) -> QueuePage:
    if q.label is not None and q.label not in LABELS:
        raise InvalidChoice("label", q.label, LABELS)
    if q.status is not None and q.status not in REVIEW_STATUSES:
        raise InvalidChoice("status", q.status, REVIEW_STATUSES)
    q = replace(q, page=max(1, q.page), per_page=min(max(1, q.per_page), MAX_PER_PAGE), text=q.text[:200])
    return store.queue(engine, q)


def sources(cfg: Config, engine: Engine | None) -> list[SourceRow]:
    """Every configured source, BROKEN ones first, then failing ones, then the rest (each group
    in the config's order)."""
    states = store.load_states(engine) if engine is not None else {}
    rows = [SourceRow(s, states.get(s.name)) for s in cfg.sources]
    return sorted(rows, key=lambda r: (not r.broken, not r.failing))


def evidence_archive(engine: Engine, item_id: int) -> bytes:
    """Every evidence version of a mention, as `school-monitor evidence` writes them, in one zip."""
    with tempfile.TemporaryDirectory(prefix="evidence-") as tmp:
        root = Path(tmp) / f"mention-{item_id}"
        _export(engine, item_id, root)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    z.write(path, path.relative_to(root.parent).as_posix())
        return buf.getvalue()


def evidence_files(engine: Engine, item_id: int, version: int) -> dict[str, bytes]:
    """One version's files by name (manifest.json, fragment.*, text.txt, body.*)."""
    with tempfile.TemporaryDirectory(prefix="evidence-") as tmp:
        _export(engine, item_id, Path(tmp))
        folder = Path(tmp) / f"version-{version}"
        if not folder.is_dir():
            raise ItemNotFound(item_id)
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _export(engine: Engine, item_id: int, out: Path) -> None:
    if store.get_item(engine, item_id) is None:
        raise ItemNotFound(item_id)
    versions = store.list_evidence(engine, item_id)
    if not versions:
        raise NoEvidence(item_id)
    report.write_evidence(out, versions)
