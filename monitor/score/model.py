"""The abusive-language model: alt-profanity-check's linear model, scored in plain Python.

alt-profanity-check (MIT; trained on about 200,000 human-labelled comments) is a TF-IDF
vocabulary of words and five sigmoid-calibrated linear SVMs. Its weights are exported at build
time (benchmarks/export_profanity_model.py) into data/abusive_model.bin, licence beside it, and
read here without scikit-learn: a text's probability is that of the package to 1e-6 (tested).
Nothing is downloaded; the weights load once per process, when a Scorer is built.
"""

from __future__ import annotations

import json
import math
import re
import sys
import zlib
from array import array
from dataclasses import dataclass
from importlib import resources

# scikit-learn's default token pattern, on lower-cased text.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


@dataclass(frozen=True)
class _Classifier:
    coef: array  # one weight per vocabulary word
    intercept: float
    a: float  # sigmoid calibration: p = 1 / (1 + exp(a * decision + b))
    b: float


class AbuseModel:
    """probability(text): how likely the text is abusive (0..1), the mean of five calibrated SVMs."""

    def __init__(self, vocabulary: list[str], idf: array, classifiers: list[_Classifier], source: str = ""):
        self.index = {word: i for i, word in enumerate(vocabulary)}
        self.idf = idf
        self.classifiers = classifiers
        self.source = source

    @classmethod
    def load(cls) -> AbuseModel:
        blob = zlib.decompress(resources.files("monitor.score").joinpath("data/abusive_model.bin").read_bytes())
        head, words, numbers = blob.split(b"\0", 2)
        header = json.loads(head)
        n = header["words"]
        values = array("d")
        values.frombytes(numbers)
        if sys.byteorder == "big":
            values.byteswap()
        vocabulary = words.decode().split("\n")
        if len(vocabulary) != n or len(values) != n * (1 + len(header["classifiers"])):
            raise ValueError("abusive_model.bin does not match its header")
        classifiers = [
            _Classifier(values[n * (k + 1) : n * (k + 2)], c["intercept"], c["a"], c["b"])
            for k, c in enumerate(header["classifiers"])
        ]
        return cls(vocabulary, values[:n], classifiers, header["source"])

    def probability(self, text: str) -> float:
        counts: dict[int, int] = {}
        for token in _TOKEN.findall(text.lower()):
            i = self.index.get(token)
            if i is not None:
                counts[i] = counts.get(i, 0) + 1
        weights = {i: c * self.idf[i] for i, c in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        total = 0.0
        for clf in self.classifiers:
            decision = clf.intercept
            if norm:
                decision += sum(w * clf.coef[i] for i, w in weights.items()) / norm
            total += 1.0 / (1.0 + math.exp(clf.a * decision + clf.b))
        return total / len(self.classifiers)
