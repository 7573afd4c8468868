"""The VADER adapter: VADER's compound per sentence, with the domain words of vader_domain.txt,
weighed around a contrast ("..., but ...").

`FastVader` is VADER 3.3.2 less its emoji pass on text with no emoji, with no call per word
outside its lexicon, and with a negation check that does not lower-case the whole text per
sentiment word: scores identical to VADER's (tested on every held-out text; why it is kept:
benchmarks/README.md). `Sentiment.compound` returns 0 at once for a sentence with no word of
VADER's lexicon, as VADER would after a longer walk. Both are tested to be taken
(test_score_rules.py), so neither can silently stop working.
"""

from __future__ import annotations

import re
import string
from typing import Any

from vaderSentiment.vaderSentiment import BOOSTER_DICT, N_SCALAR, NEGATE, SentimentIntensityAnalyzer, SentiText

from monitor.score.rules import read_lexicon

_PUNCTUATION = string.punctuation
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
_CONTRAST_START = re.compile(
    r"^\W*(?:but|however|although|though|yet|that said|having said that|sadly|"
    r"unfortunately)\b",
    re.IGNORECASE,
)
# "but" inside a sentence; not "nothing but", "all but", "but also".
_CONTRAST_INSIDE = re.compile(r"(?<!nothing )(?<!all )\bbut\b(?! also)", re.IGNORECASE)


def domain_words() -> dict[str, float]:
    words = {}
    for line in read_lexicon("vader_domain.txt"):
        if line.strip() and not line.startswith("#"):
            word, weight = line.split("\t")
            words[word.strip().lower()] = float(weight)
    return words


_VADER_NEGATE = frozenset(NEGATE)


class FastVader(SentimentIntensityAnalyzer):
    """VADER, less its emoji pass where there is no emoji. The rest is VADER 3.3.2's
    polarity_scores as it stands, less its call per word outside the lexicon (which only appends
    0), with an identical negation check that lower-cases only the words it reads (tests compare
    the two on every held-out text, sentence by sentence too)."""

    def __init__(self) -> None:
        super().__init__()
        # VADER's emoji pass reads a text one character at a time: only these are replaced.
        self._emoji = frozenset(e for e in self.emojis if len(e) == 1)

    def has_emoji(self, text: str) -> bool:
        """Whether VADER's emoji pass would change the text (never an ASCII one)."""
        return not text.isascii() and not self._emoji.isdisjoint(text)

    def polarity_scores(self, text: str) -> dict[str, float]:
        if self.has_emoji(text):
            return dict(super().polarity_scores(text))
        text = text.strip()
        sentitext = SentiText(text)
        words = sentitext.words_and_emoticons
        lexicon = self.lexicon
        sentiments: list[Any] = []
        for i, item in enumerate(words):
            low = item.lower()
            if low in BOOSTER_DICT or (low == "kind" and i < len(words) - 1 and words[i + 1].lower() == "of"):
                sentiments.append(0)
                continue
            if low not in lexicon:  # sentiment_valence would append its valence unchanged: 0
                sentiments.append(0)
                continue
            sentiments = self.sentiment_valence(0, sentitext, item, i, sentiments)
        return dict(self.score_valence(self._but_check(words, sentiments), text))

    @staticmethod
    def _negation_check(valence: float, words_and_emoticons: list[str], start_i: int, i: int) -> float:
        """VADER 3.3.2's, word for word, less lower-casing the whole text on each of its three
        calls per sentiment word and a list scan of its negations per word."""

        def low(k: int) -> str:
            return words_and_emoticons[k].lower()

        def negated(word: str) -> bool:
            return word in _VADER_NEGATE or "n't" in word

        if start_i == 0:
            if negated(low(i - 1)):
                valence = valence * N_SCALAR
        elif start_i == 1:
            before2, before1 = low(i - 2), low(i - 1)
            if before2 == "never" and (before1 == "so" or before1 == "this"):
                valence = valence * 1.25
            elif before2 == "without" and before1 == "doubt":
                pass
            elif negated(before2):
                valence = valence * N_SCALAR
        elif start_i == 2:
            before3, before2, before1 = low(i - 3), low(i - 2), low(i - 1)
            if (before3 == "never" and (before2 == "so" or before2 == "this")) or (
                before1 == "so" or before1 == "this"
            ):
                valence = valence * 1.25
            elif before3 == "without" and (before2 == "doubt" or before1 == "doubt"):
                pass
            elif negated(before3):
                valence = valence * N_SCALAR
        return valence


class Sentiment:
    """VADER loaded once with the domain words; per text, the compound and where the text turns."""

    def __init__(self) -> None:
        self.vader = FastVader()
        self.vader.lexicon.update(domain_words())
        self.lexicon: dict[str, float] = self.vader.lexicon
        self.full_walks = 0  # sentences VADER read in full (the shortcut's test counts them)

    def compound(self, sentence: str) -> float:
        """VADER's compound; 0 at once for a sentence with no word of its lexicon and no emoji,
        which is what VADER would return after a much longer walk."""
        words = sentence.lower().split()
        if (
            not self.vader.has_emoji(sentence)
            and self.lexicon.keys().isdisjoint(words)
            and self.lexicon.keys().isdisjoint(w.strip(_PUNCTUATION) for w in words)
        ):
            return 0.0
        self.full_walks += 1
        return float(self.vader.polarity_scores(sentence)["compound"])

    def read(self, text: str) -> tuple[float, list[str], int]:
        """VADER compound per sentence, averaged, and where the text turns: a sentence opening with
        a contrast outweighs those before it (x1.5 against x0.5, as VADER weighs the clauses around
        'but'). The turn is the offset of the last contrast, opening a sentence or inside one
        (which VADER weighs itself), -1 when there is none; phrases are weighed around it.
        One pass over the sentences, whatever the number of contrasts."""
        sentences: list[tuple[int, str]] = []
        at = 0
        for end in _SENTENCE_END.finditer(text):
            if text[at : end.start()].strip():
                sentences.append((at, text[at : end.start()]))
            at = end.end()
        if text[at:].strip():
            sentences.append((at, text[at:]))
        sentences = sentences or [(0, text)]
        flags: list[str] = []
        turn, opens = -1, [False] * len(sentences)
        for i, (offset, sentence) in enumerate(sentences):
            opening = _CONTRAST_START.match(sentence)
            if i and opening:
                opens[i] = True
                flags.append("contrast:" + opening.group().strip(" .,").lower())
                turn = offset
            elif "but" in sentence:
                inside = _CONTRAST_INSIDE.search(sentence)
                if inside:
                    flags.append("contrast:but")
                    turn = offset + inside.start()
        # A contrast opening sentence i halves the weight of every sentence before it and sets
        # its own and those after it to 1.5 (until the next contrast halves them in turn).
        weights, later, seen_open = [1.0] * len(sentences), 0, False
        for i in range(len(sentences) - 1, -1, -1):
            weights[i] = 0.5**later
            if opens[i]:
                later += 1
        for i in range(len(sentences)):
            seen_open = seen_open or opens[i]
            if seen_open:
                weights[i] *= 1.5
        scores = [self.compound(s) for _, s in sentences]
        compound = round(sum(w * c for w, c in zip(weights, scores, strict=True)) / sum(weights), 4)
        return compound, [f"vader:{compound:.2f}"] + list(dict.fromkeys(flags)), turn
