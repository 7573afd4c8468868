"""Train the grave-label text model (monitor/score/grave.py) on the studied sets and our probes.

    .venv/bin/python benchmarks/train_grave_model.py [--loso]

A TF-IDF of words and word pairs (seen in two texts or more, sublinear counts) and two balanced
logistic regressions, abuse against the rest and extremism against the rest, trained with
scikit-learn (the test extra has it) on the studied held-out sets (STUDIED) and benchmarks/probes_*.jsonl
(never the dev corpus, heldout_blind7 to 10 or the falsealarm sets: those measure). Written to
monitor/score/data/grave_model.json.gz; grave.py scores with it in plain Python, and
tests/test_score_grave.py checks the shipped file is what this script makes today.

--loso: leave one set out: each set scored by a model trained on all the others (the figures
in benchmarks/README.md), instead of writing the file.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from monitor.score.grave import prepare  # noqa: E402

OUT = REPO / "monitor/score/data/grave_model.json.gz"
# The held-out sets already studied, named one by one: a new blind set measures, and is never
# trained on unless it is added here after it has been studied (its first figures recorded).
STUDIED = (
    "heldout",
    "heldout_blind",
    "heldout_blind2",
    "heldout_blind3",
    "heldout_blind4",
    "heldout_blind5",
    "heldout_blind6",
)
# The sets that measure: never trained on.
UNSEEN = ("heldout_blind7", "heldout_blind8", "heldout_blind9", "heldout_blind10", "falsealarm")
ALIASES = ("Elm Park Primary School", "Elm Park Primary", "Elm Park School", "EPPS")
LABELS = ("abuse", "extremism")
PARAMS = {"ngram_range": (1, 2), "min_df": 2, "sublinear_tf": True, "token_pattern": r"(?u)\b\w\w+\b"}
C = 4.0


def training_sets() -> dict[str, list[dict]]:
    paths = [REPO / "benchmarks" / f"{name}.jsonl" for name in STUDIED]
    paths += sorted(REPO.glob("benchmarks/probes_*.jsonl"))  # ours, written knowing the rules
    return {
        p.stem: [json.loads(line) for line in p.read_text("utf-8").splitlines() if line.strip()]
        for p in paths
        if not any(u in p.stem for u in UNSEEN)
    }


def text_of(row: dict) -> str:
    title = row.get("title", "")
    return prepare(f"{title.rstrip('.')}.\n{row['text']}" if title else row["text"], ALIASES)


def fit(rows: list[dict]):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(**PARAMS)
    x = vectorizer.fit_transform([text_of(r) for r in rows])
    models = {
        label: LogisticRegression(C=C, class_weight="balanced", max_iter=5000).fit(
            x, [r["label"] == label for r in rows]
        )
        for label in LABELS
    }
    return vectorizer, models


def export(vectorizer, models) -> dict:
    vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
    return {
        "source": "benchmarks/train_grave_model.py",
        "vocabulary": vocabulary,
        "idf": [round(float(v), 12) for v in vectorizer.idf_],
        "labels": {
            label: {"coef": [round(float(v), 12) for v in m.coef_[0]], "intercept": float(m.intercept_[0])}
            for label, m in models.items()
        },
    }


def loso() -> None:
    sets = training_sets()
    for name, rows in sets.items():
        vectorizer, models = fit([r for other, rs in sets.items() if other != name for r in rs])
        x = vectorizer.transform([text_of(r) for r in rows])
        line = [name]
        for label, model in models.items():
            p = model.predict_proba(x)[:, 1]
            gold = [r["label"] == label for r in rows]
            hits = sum(g and q >= 0.5 for g, q in zip(gold, p, strict=True))
            false = sum(not g and q >= 0.5 for g, q in zip(gold, p, strict=True))
            line.append(f"{label} {hits}/{sum(gold)} (false {false})")
        print("  ".join(line))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loso", action="store_true", help="leave one set out instead of writing the model")
    if parser.parse_args().loso:
        loso()
        return 0
    rows = [r for rs in training_sets().values() for r in rs]
    data = export(*fit(rows))
    OUT.write_bytes(gzip.compress(json.dumps(data, separators=(",", ":")).encode(), mtime=0))
    print(f"{OUT.relative_to(REPO)}: {len(rows)} texts, {len(data['vocabulary'])} terms, {OUT.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
