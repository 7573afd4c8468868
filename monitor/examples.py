"""Near-duplicates of the school's corrected examples: a repost, a copy-paste pile-on, the same
text with a few words changed takes the label a person gave the original.

Pure: examples (id, text, label) and a text in, the best match (id, label, similarity) out, or
None. Texts are compared as sets of character 5-grams of their words (lower case; links, handles
and punctuation dropped): Jaccard similarity for a repost or an edit, and for a pile-on (the
example quoted inside a longer post) how much of the example the text contains, when the text is
at most three times the example's length. Examples too short to tell a repost from a reply on the
same topic (fewer than MIN_CHARS characters) match only when the texts are the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

SHINGLE = 5
SIMILAR_AT = 0.6  # Jaccard at or above which two texts are the same post, a few words changed
CONTAINED_AT = 0.85  # share of the example's shingles a pile-on quoting it holds
LONGER_AT_MOST = 3.0  # a pile-on is at most this many times the example's length
MIN_CHARS = 40

_NOISE = re.compile(r"https?://\S+|www\.\S+|[@#][\w.]+|[^\w\s]+|_")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Example:
    id: int
    text: str
    label: str


@dataclass(frozen=True)
class ExampleMatch:
    id: int
    label: str
    similarity: float  # 0..1

    @property
    def flag(self) -> str:
        return f"example:#{self.id}"


def plain(text: str) -> str:
    """The words of a text as compared: lower case, no links, handles, hashtags or punctuation."""
    return _SPACE.sub(" ", _NOISE.sub(" ", text.lower())).strip()


def shingles(text: str) -> frozenset[str]:
    """The character 5-grams of a plain text (the whole text when it is shorter)."""
    if len(text) <= SHINGLE:
        return frozenset([text]) if text else frozenset()
    return frozenset(text[i : i + SHINGLE] for i in range(len(text) - SHINGLE + 1))


class ExampleIndex:
    """The school's examples, their shingles computed once; `match` per new text."""

    def __init__(self, examples: Iterable[Example]):
        self._examples = [(e, plain(e.text)) for e in examples]
        self._shingles = [shingles(p) for _, p in self._examples]

    def match(self, text: str) -> ExampleMatch | None:
        words = plain(text)
        if not words:
            return None
        mine = shingles(words)
        best: ExampleMatch | None = None
        for (example, theirs_plain), theirs in zip(self._examples, self._shingles, strict=True):
            similarity = _similarity(words, mine, theirs_plain, theirs)
            if similarity and (best is None or similarity > best.similarity):
                best = ExampleMatch(example.id, example.label, round(similarity, 3))
        return best


def nearest(examples: Iterable[Example], text: str) -> ExampleMatch | None:
    """The best near-duplicate of `text` among `examples`, or None (see the module docstring)."""
    return ExampleIndex(examples).match(text)


def _similarity(text: str, mine: frozenset[str], example: str, theirs: frozenset[str]) -> float:
    """How much `text` is `example` again (0 when it is not a near-duplicate at all)."""
    if text == example:
        return 1.0
    if len(example) < MIN_CHARS or len(text) < MIN_CHARS or not theirs:
        return 0.0
    shared = len(mine & theirs)
    jaccard = shared / len(mine | theirs)
    if jaccard >= SIMILAR_AT:
        return jaccard
    contained = shared / len(theirs)
    if contained >= CONTAINED_AT and len(text) <= LONGER_AT_MOST * len(example):
        return contained * 0.99  # a quote in a longer post is a little less sure than a repost
    return 0.0
