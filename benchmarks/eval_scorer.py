"""Scorer quality on a labelled corpus: per-label precision/recall/F1, macro-F1, the confusion
matrix, the 'possible' alerts and how many were false alarms, and throughput against plain VADER.
Prints figures; asserts nothing.

    python benchmarks/eval_scorer.py [../shared/corpora/dev.jsonl]
    python benchmarks/eval_scorer.py --rules FILE    # each rule's coverage, precision, conflicts
    python benchmarks/eval_scorer.py --no-model FILE # the rules alone

The school config is the repo's sources.toml when there is one, else the embedded Elm Park one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from monitor import config as monitor_config
from monitor.config import Config, School
from monitor.mentions import MentionFinder
from monitor.models import LABELS, OFFTOPIC, Score
from monitor.score import Scorer

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared/corpora/dev.jsonl"
ALL_LABELS = LABELS + (OFFTOPIC,)
TIMING_ROUNDS = 15

ELM_PARK = School(
    name="Elm Park Primary School",
    aliases=("Elm Park Primary", "Elm Park School", "EPPS"),
    exclude=("Elm Park station", "Elm Park Road", "Elm Park Avenue", "Elm Park Gardens"),
    context=(
        "school",
        "pupils",
        "Ofsted",
        "Hornchurch",
        "Havering",
        "head",
        "headteacher",
        "teacher",
        "teachers",
        "Reception",
        "SENCO",
        "PTA",
        "parents",
        "class",
        "Year 6",
    ),
    not_context=(
        "Auckland",
        "New Zealand",
        "Pakuranga",
        "Dublin",
        "Worcester",
        "Massachusetts",
        "Winnipeg",
        "Reading FC",
    ),
    staff=("Mrs A Stevenson", "Mrs L Woods", "Mrs N Sale", "Ms V Morris"),
)


def load_config() -> Config:
    """The repo's sources.toml when there is one, else the embedded Elm Park Primary config."""
    path = REPO / "sources.toml"
    if path.exists():
        return monitor_config.load(path)
    return Config(path=REPO / "sources.toml", school=ELM_PARK)


def read_corpus(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def evaluate(
    path: str | Path = DEFAULT_CORPUS, config: Config | None = None, model: bool = True, timing: bool = True
) -> dict:
    """Score every row of a JSONL corpus and return the figures `main` prints."""
    config = config or load_config()
    rows = read_corpus(Path(path))
    finder, scorer = MentionFinder(config.school), Scorer(config.scoring, model=model)
    scores = [score_row(finder, scorer, r) for r in rows]
    predicted = [s.label for s in scores]
    gold = [r["label"] for r in rows]
    possible = [(g, s.label) for g, s in zip(gold, scores, strict=True) if "possible" in s.flags]
    metrics = per_label(gold, predicted)
    return {
        "n": len(rows),
        "labels": metrics,
        "macro_f1": sum(m["f1"] for m in metrics.values()) / len(metrics),
        "confusion": confusion(gold, predicted),
        "staff_accuracy": staff_accuracy(finder, rows),
        "errors": [(r["id"], r["label"], p) for r, p in zip(rows, predicted, strict=False) if p != r["label"]],
        "possible": {"alerts": len(possible), "false_alarms": sum(g != p for g, p in possible)},
        "throughput": throughput(finder, scorer, rows) if timing else None,
    }


def score_row(finder: MentionFinder, scorer: Scorer, row: dict) -> Score:
    match = finder.find(row["text"], row.get("title", ""))
    return scorer.score(row["text"], row.get("title", ""), match)


def predict(finder: MentionFinder, scorer: Scorer, row: dict) -> str:
    return score_row(finder, scorer, row).label


GRAVE_AND_STANCE = ("extremism", "abuse", "criticism", "praise")


def rule_analysis(path: str | Path, config: Config | None = None) -> list[dict]:
    """Each rule that hit a text of the corpus, as Snorkel analyses labelling functions: coverage
    (share of the texts it hits), precision (share of those whose gold label is the rule's), and
    conflicts (share of its texts where a rule arguing for another label also hit). Cue lists
    (sarcasm, reporting, notice) have no precision of their own. Texts the mention finder drops
    are left out: a rule is not asked about them."""
    config = config or load_config()
    rows = read_corpus(Path(path))
    finder, scorer = MentionFinder(config.school), Scorer(config.scoring, model=False)
    rules = scorer.registry.by_id()
    texts: dict[str, list[tuple[str, set[str]]]] = {}
    counted = 0
    for row in rows:
        if not finder.find(row["text"], row.get("title", "")).is_mention:
            continue
        counted += 1
        hits = scorer.hits(row["text"], row.get("title", ""))
        labels = {rules[h.rule].label for h in hits if rules[h.rule].label in GRAVE_AND_STANCE}
        for rule_id in {h.rule for h in hits}:
            texts.setdefault(rule_id, []).append((row["label"], labels))
    out = []
    for rule_id, seen in texts.items():
        rule = rules[rule_id]
        own = rule.label in GRAVE_AND_STANCE
        out.append(
            {
                "id": rule_id,
                "label": rule.label,
                "strength": rule.strength,
                "hits": len(seen),
                "coverage": len(seen) / counted if counted else 0.0,
                "precision": sum(g == rule.label for g, _ in seen) / len(seen) if own else None,
                "conflicts": sum(bool(labels - {rule.label}) for _, labels in seen) / len(seen) if own else None,
            }
        )
    return sorted(out, key=lambda r: (-r["hits"], r["id"]))


def rules_report(analysis: list[dict], n_rules: int) -> str:
    lines = [
        f"{len(analysis)} of {n_rules} rules hit a text",
        "",
        f"{'rule':<52} {'label':<10} {'str':<6} {'hits':>5} {'cover':>6} {'prec':>5} {'confl':>5}",
    ]
    for r in analysis:
        precision = "" if r["precision"] is None else f"{r['precision']:.2f}"
        conflicts = "" if r["conflicts"] is None else f"{r['conflicts']:.2f}"
        lines.append(
            f"{r['id'][:52]:<52} {r['label']:<10} {r['strength']:<6} {r['hits']:5d} {r['coverage']:6.3f} "
            f"{precision:>5} {conflicts:>5}"
        )
    return "\n".join(lines)


def per_label(gold: list[str], predicted: list[str]) -> dict[str, dict[str, float]]:
    out = {}
    for label in ALL_LABELS:
        tp = sum(g == p == label for g, p in zip(gold, predicted, strict=False))
        n_pred, n_gold = predicted.count(label), gold.count(label)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[label] = {"precision": precision, "recall": recall, "f1": f1, "support": n_gold}
    return out


def confusion(gold: list[str], predicted: list[str]) -> dict[str, dict[str, int]]:
    table = {g: {p: 0 for p in ALL_LABELS} for g in ALL_LABELS}
    for g, p in zip(gold, predicted, strict=False):
        table[g][p] += 1
    return table


def staff_accuracy(finder: MentionFinder, rows: list[dict]) -> float:
    right = sum(
        finder.find(r["text"], r.get("title", "")).mentions_staff == r["mentions_staff"]
        for r in rows
        if "mentions_staff" in r
    )
    return right / len(rows) if rows else 0.0


def throughput(finder: MentionFinder, scorer: Scorer, rows: list[dict]) -> dict[str, float]:
    """Texts per second of what `score` runs per text (mention finding, then scoring), of the
    scorer alone on found matches, and of VADER's polarity_scores alone, on the same texts."""
    vader = SentimentIntensityAnalyzer()
    texts = [(r["text"], r.get("title", "")) for r in rows]
    matches = [finder.find(text, title) for text, title in texts]

    def pipeline():
        for text, title in texts:
            scorer.score(text, title, finder.find(text, title))

    def scorer_only():
        for (text, title), match in zip(texts, matches, strict=False):
            scorer.score(text, title, match)

    def plain():
        for text, title in texts:
            vader.polarity_scores(f"{title}. {text}" if title else text)

    # Rounds alternate, and the best of each counts: a busy machine slows all alike.
    rounds = [(_timed(pipeline), _timed(scorer_only), _timed(plain)) for _ in range(TIMING_ROUNDS)]
    pipeline_rate, scorer_rate, vader_rate = (len(texts) / min(r[i] for r in rounds) for i in range(3))
    return {
        "pipeline": pipeline_rate,
        "scorer": scorer_rate,
        "vader": vader_rate,
        "ratio": pipeline_rate / vader_rate,
        "scorer_ratio": scorer_rate / vader_rate,
    }


def _timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def report(result: dict) -> str:
    lines = [f"{result['n']} texts", "", f"{'label':<10} {'P':>6} {'R':>6} {'F1':>6} {'n':>4}"]
    for label, m in result["labels"].items():
        lines.append(f"{label:<10} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f} {m['support']:4d}")
    lines += [
        "",
        f"macro-F1 {result['macro_f1']:.3f}",
        f"mentions_staff accuracy {result['staff_accuracy']:.3f}",
        "",
        "confusion (rows gold, columns predicted)",
        " " * 10 + "".join(f"{p[:6]:>7}" for p in ALL_LABELS),
    ]
    for gold, row in result["confusion"].items():
        lines.append(f"{gold:<10}" + "".join(f"{row[p]:7d}" for p in ALL_LABELS))
    p = result["possible"]
    lines += ["", f"possible (medium) alerts: {p['alerts']}, of which false alarms: {p['false_alarms']}"]
    t = result["throughput"]
    if t is None:
        return "\n".join(lines)
    lines += [
        "",
        f"throughput: plain VADER {t['vader']:.0f} texts/s; "
        f"mention finder + scorer {t['pipeline']:.0f} texts/s ({t['ratio']:.0%} of VADER); "
        f"scorer alone {t['scorer']:.0f} texts/s ({t['scorer_ratio']:.0%})",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "corpus",
        nargs="?",
        default=str(DEFAULT_CORPUS),
        help="labelled JSONL (default: ../shared/corpora/dev.jsonl from the repo root)",
    )
    parser.add_argument("--errors", action="store_true", help="also list the misclassified ids")
    parser.add_argument("--rules", action="store_true", help="each rule's coverage, precision and conflicts instead")
    parser.add_argument("--no-model", action="store_true", help="score by the rules alone")
    args = parser.parse_args(argv)
    corpus = Path(args.corpus)
    if not corpus.is_absolute() and not corpus.exists():
        corpus = REPO / corpus
    if not corpus.exists():
        print(f"{args.corpus}: no such corpus", file=sys.stderr)
        return 2
    if args.rules:
        analysis = rule_analysis(corpus)
        print(rules_report(analysis, len(Scorer(model=False).registry.rules)))
        return 0
    result = evaluate(corpus, model=not args.no_model)
    print(report(result))
    if args.errors:
        print("\n".join(f"{i}: gold {g}, predicted {p}" for i, g, p in result["errors"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
