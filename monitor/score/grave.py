"""The grave-label text model: how likely a text is abuse, or extremism, from its words and word
pairs, scored in plain Python.

The rules catch the wordings they were written for; a threat or a campaign in other words often
shares its vocabulary with them all the same ("home", "car", "lads", "the head's", "their own").
benchmarks/train_grave_model.py trains a TF-IDF of words and word pairs and two logistic
regressions (abuse, extremism against the rest) on the studied held-out sets and our probes,
never on the sets that measure; its weights ship in data/grave_model.json.gz. Nothing is
downloaded. The decision asks it only where it would confirm a weak cue of the rules (or, for
extremism, a protected group named) and no rule fired a grave label (decide.py, thresholds.py).

`prepare` blanks the school's names (an alias must not count for or against it) and reads any
titled name as one ("Mrs Sale" -> "mrs staffname"), in training and in use alike.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections.abc import Iterable
from importlib import resources
from itertools import pairwise

# scikit-learn's default token pattern, on lower-cased text; word pairs joined by a space.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_TITLED = re.compile(r"\b(Mrs|Mr|Ms|Miss|Dr)\.? [A-Z][\w'-]*")


def prepare(text: str, aliases: Iterable[str]) -> str:
    """The text as the model reads it: the school's names blanked, titled names made one."""
    for alias in sorted(aliases, key=len, reverse=True):
        words = [re.escape(w) for w in re.split(r"[\s\-_.]+", alias.strip()) if w]
        if words:
            text = re.sub(r"(?i)(?<!\w)" + r"[\s\-_.]*".join(words) + r"(?:['’]s)?(?!\w)", " ", text)
    return _TITLED.sub(lambda m: f"{m.group(1)} staffname", text)


class GraveModel:
    """probabilities(text): (abuse, extremism), each 0..1, as the trained models give them."""

    def __init__(self, vocabulary: list[str], idf: list[float], labels: dict[str, dict]):
        abuse, extremism = labels["abuse"], labels["extremism"]
        # Per term: its IDF and each model's coefficient: one look-up per term of a text.
        self.index = {term: (idf[i], abuse["coef"][i], extremism["coef"][i]) for i, term in enumerate(vocabulary)}
        self.intercepts = (abuse["intercept"], extremism["intercept"])

    @classmethod
    def load(cls) -> GraveModel:
        data = json.loads(
            gzip.decompress(resources.files("monitor.score").joinpath("data/grave_model.json.gz").read_bytes())
        )
        if not len(data["vocabulary"]) == len(data["idf"]) == len(data["labels"]["abuse"]["coef"]):
            raise ValueError("grave_model.json.gz: its vocabulary and weights do not match")
        return cls(data["vocabulary"], data["idf"], data["labels"])

    def probabilities(self, text: str) -> tuple[float, float]:
        """scikit-learn's TfidfVectorizer (words and word pairs, sublinear counts, l2 norm) and
        LogisticRegression's predict_proba, for abuse and for extremism."""
        tokens = _TOKEN.findall(text.lower())
        counts: dict[str, int] = {}
        index = self.index
        for term in (*tokens, *(f"{a} {b}" for a, b in pairwise(tokens))):
            if term in index:
                counts[term] = counts.get(term, 0) + 1
        squares = abuse = extremism = 0.0
        for term, count in counts.items():
            idf, a, e = index[term]
            weight = (1.0 + math.log(count)) * idf
            squares += weight * weight
            abuse += weight * a
            extremism += weight * e
        norm = math.sqrt(squares) or 1.0
        return (
            1.0 / (1.0 + math.exp(-(self.intercepts[0] + abuse / norm))),
            1.0 / (1.0 + math.exp(-(self.intercepts[1] + extremism / norm))),
        )
