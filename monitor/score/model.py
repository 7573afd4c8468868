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
import operator
import re
import sys
import zlib
from array import array
from dataclasses import dataclass
from importlib import resources

# scikit-learn's default token pattern, on lower-cased text.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
# A text none of whose words has a mean coefficient this high toward abuse is not asked: on the
# 1,405 studied and probe texts, none of those without such a word scored above 0.17, and
# the model counts from thresholds.PROBABLE_AT (0.4) up. (2,096 of the 15,442 words have one.)
LEANING_AT = 0.9


@dataclass(frozen=True)
class _Classifier:
    coef: array  # one weight per vocabulary word
    intercept: float
    a: float  # sigmoid calibration: p = 1 / (1 + exp(a * decision + b))
    b: float


class AbuseModel:
    """probability(text): how likely the text is abusive (0..1), the mean of five calibrated SVMs."""

    def __init__(self, vocabulary: list[str], idf: array, classifiers: list[_Classifier], source: str = ""):
        self.classifiers = classifiers
        self.source = source
        # Per word: its IDF and, per classifier, IDF x coefficient: one tuple look-up per word.
        # (Built with map and zip, each parsing process builds it in a third of the time.)
        columns = [map(operator.mul, idf, clf.coef) for clf in classifiers]
        self.index = dict(zip(vocabulary, zip(idf, *columns, strict=True), strict=True))
        self._intercepts = [clf.intercept for clf in classifiers]
        sums = map(sum, zip(*(clf.coef for clf in classifiers), strict=True))
        self.leaning = frozenset(
            w for w, total in zip(vocabulary, sums, strict=True) if total / len(classifiers) >= LEANING_AT
        )
        self._calibrations = [(clf.a, clf.b) for clf in classifiers]

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

    def worth_asking(self, words: set[str]) -> bool:
        """Whether a text with these (lower-case) words has one that leans toward abuse."""
        return not self.leaning.isdisjoint(words)

    def probability(self, text: str) -> float:
        """The mean over the classifiers of 1 / (1 + exp(a * decision + b)), the decision being the
        l2-normalised TF-IDF vector of the text's words dotted with the coefficients, plus the
        intercept: scikit-learn's TfidfVectorizer, LinearSVC and sigmoid calibration."""
        counts: dict[str, int] = {}
        index = self.index
        for token in _TOKEN.findall(text.lower()):
            if token in index:
                counts[token] = counts.get(token, 0) + 1
        sums = [0.0] * len(self._intercepts)
        squares = 0.0
        for token, count in counts.items():
            row = index[token]
            squares += (count * row[0]) ** 2
            for k in range(len(sums)):
                sums[k] += count * row[k + 1]
        norm = math.sqrt(squares)
        total = 0.0
        for k, (a, b) in enumerate(self._calibrations):
            decision = self._intercepts[k] + (sums[k] / norm if norm else 0.0)
            total += 1.0 / (1.0 + math.exp(a * decision + b))
        return total / len(self._calibrations)
