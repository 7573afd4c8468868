"""The abusive-language model scored in plain Python equals alt-profanity-check's own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.score.model import AbuseModel

REPO = Path(__file__).resolve().parents[1]
SETS = sorted((REPO / "benchmarks").glob("heldout*.jsonl"))


def _texts() -> list[str]:
    texts = []
    for path in SETS:
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                texts.append(f"{row.get('title', '')}\n{row['text']}")
    return texts


def test_plain_python_probabilities_equal_the_packages_on_every_held_out_text():
    profanity_check = pytest.importorskip(
        "profanity_check", reason="alt-profanity-check (the test extra) is not installed: nothing to compare with"
    )
    texts = _texts() + ["", "a", "You absolute f***ing idiot", "ÉCOLE très bien 😀", "the the the"]
    assert len(texts) > 1000
    theirs = profanity_check.predict_prob(texts)
    model = AbuseModel.load()
    ours = [model.probability(t) for t in texts]
    worst = max(abs(a - float(b)) for a, b in zip(ours, theirs, strict=True))
    assert worst < 1e-6


def test_the_model_is_shipped_with_its_licence():
    data = REPO / "monitor/score/data"
    assert "MIT License" in (data / "abusive_model.LICENSE").read_text("utf-8")
    model = AbuseModel.load()
    assert model.source.startswith("alt-profanity-check") and len(model.index) > 10_000
    assert model.probability("you are a disgusting idiot") > 0.9 > 0.1 > model.probability("lovely school")
