"""The VADER adapter: VADER's compound per sentence, with the domain words of vader_domain.txt,
weighed around a contrast ("..., but ...").

`FastVader` is VADER 3.3.2's scoring less its emoji pass on text with no emoji, ported to read
each word's lower case once (VADER lower-cases the whole sentence again for each check of each
sentiment word) and to skip the words outside its lexicon: scores identical to VADER's (tested
on every held-out text, sentence by sentence too; why it is kept: benchmarks/README.md).
`FastVader.compound` returns 0 at once for a sentence with no word of VADER's lexicon, as VADER
would after a longer walk. Both are tested to be taken (test_score_rules.py), so neither can
silently stop working.
"""

from __future__ import annotations

import re
import string
from typing import Any

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
    normalize,
    scalar_inc_dec,
)

from monitor.score.rules import read_lexicon

_PUNCTUATION = string.punctuation
# Where a sentence ends: the spaces after ".", "!", "?" or "…", or newlines. Written to start with
# the space it matches, as `(?<=[.!?…])\s+|\n+` would not: the regex engine then skips to the
# next space instead of trying every character (benchmarks/README.md).
_SENTENCE_END = re.compile(r"\s(?:(?<=[.!?…]\s)\s*|(?<=\n)\n*)")
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
    """VADER 3.3.2's polarity_scores, less its emoji pass where there is no emoji, ported to read
    the lower case of each word once and only the words of its lexicon (tests compare the two on
    every held-out text, sentence by sentence too). Texts with an emoji go to VADER's own."""

    def __init__(self) -> None:
        super().__init__()
        # VADER's emoji pass reads a text one character at a time: only these are replaced.
        self._emoji = frozenset(e for e in self.emojis if len(e) == 1)
        self.walks = 0  # texts read word by word (the shortcut's test counts them)

    def has_emoji(self, text: str) -> bool:
        """Whether VADER's emoji pass would change the text (never an ASCII one)."""
        return not text.isascii() and not self._emoji.isdisjoint(text)

    def polarity_scores(self, text: str) -> dict[str, float]:
        if self.has_emoji(text):
            return dict(super().polarity_scores(text))
        text = text.strip()
        return dict(self.score_valence(self._sentiments(*_words(text)), text))

    def compound(self, text: str) -> float:
        """polarity_scores(text)["compound"], less working out the other three scores; 0 at once
        for a text with no word of the lexicon, as VADER would find after a longer walk."""
        if self.has_emoji(text):
            self.walks += 1
            return float(super().polarity_scores(text)["compound"])
        text = text.strip()
        words, lows = _words(text)
        if self.lexicon.keys().isdisjoint(lows):  # every word weighs 0, and so does the text
            return 0.0
        self.walks += 1
        total = float(sum(self._sentiments(words, lows)))  # VADER's score_valence, its compound only
        emphasis = self._punctuation_emphasis(text)
        if total > 0:
            total += emphasis
        elif total < 0:
            total -= emphasis
        return round(normalize(total), 4)

    def _sentiments(self, words: list[str], lows: list[str]) -> list[Any]:
        """Each word's valence, as VADER's polarity_scores works them out before scoring them;
        `lows`: the words in lower case."""
        # Whether some but not all of the words are in capitals (SentiText.is_cap_diff).
        is_cap_diff = 0 < len(words) - sum(map(str.isupper, words)) < len(words)
        lexicon = self.lexicon
        sentiments: list[Any] = []
        for i, low in enumerate(lows):
            # Boosters, "kind of" and words outside the lexicon weigh 0, as in VADER.
            if (
                low not in lexicon
                or low in BOOSTER_DICT
                or (low == "kind" and i < len(lows) - 1 and lows[i + 1] == "of")
            ):
                sentiments.append(0)
            else:
                sentiments.append(self._valence(words, lows, i, is_cap_diff))
        if "but" in lows:
            sentiments = self._but_check(lows, sentiments)
        return sentiments

    def _valence(self, words: list[str], lows: list[str], i: int, is_cap_diff: bool) -> float:
        """VADER 3.3.2's sentiment_valence for a word of its lexicon, with its _least_check, line
        for line; `lows`: the words in lower case."""
        lexicon = self.lexicon
        item, low = words[i], lows[i]
        valence = lexicon[low]
        # "no" as negation for an adjacent lexicon item vs "no" as its own stand-alone lexicon item
        if low == "no" and i != len(words) - 1 and lows[i + 1] in lexicon:
            valence = 0.0
        if (
            (i > 0 and lows[i - 1] == "no")
            or (i > 1 and lows[i - 2] == "no")
            or (i > 2 and lows[i - 3] == "no" and lows[i - 1] in ["or", "nor"])
        ):
            valence = lexicon[low] * N_SCALAR
        if item.isupper() and is_cap_diff:  # a sentiment word in ALL CAPS (while others aren't)
            if valence > 0:
                valence += C_INCR
            else:
                valence -= C_INCR
        for start_i in range(0, 3):
            # The scalar modifiers of the three words before, dampened with their distance.
            if i > start_i and lows[i - (start_i + 1)] not in lexicon:
                s = scalar_inc_dec(words[i - (start_i + 1)], valence, is_cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                valence = _negation(valence, lows, start_i, i)
                if start_i == 2:
                    valence = _special_idioms(valence, lows, i)
        # "least" as negation
        if i > 1 and lows[i - 1] not in lexicon and lows[i - 1] == "least":
            if lows[i - 2] != "at" and lows[i - 2] != "very":
                valence = valence * N_SCALAR
        elif i > 0 and lows[i - 1] not in lexicon and lows[i - 1] == "least":
            valence = valence * N_SCALAR
        return valence

    @staticmethod
    def _negation_check(valence: float, words_and_emoticons: list[str], start_i: int, i: int) -> float:
        """VADER 3.3.2's, for its own walk (texts with an emoji): the port's, on the words in lower
        case (as VADER lower-cases them)."""
        return _negation(valence, [w.lower() for w in words_and_emoticons], start_i, i)


def _words(text: str) -> tuple[list[str], list[str]]:
    """SentiText's words of a text (punctuation stripped off each unless two characters or fewer
    remain: an emoticon), and the same in lower case."""
    words = [word if len(stripped := word.strip(_PUNCTUATION)) <= 2 else stripped for word in text.split()]
    return words, [w.lower() for w in words]


def _negation(valence: float, lows: list[str], start_i: int, i: int) -> float:
    """VADER 3.3.2's _negation_check, line for line, on the words in lower case, less a list scan of
    its negations per word."""
    if start_i == 0:
        if _negated(lows[i - 1]):  # 1 word preceding lexicon word (w/o stopwords)
            valence = valence * N_SCALAR
    elif start_i == 1:
        if lows[i - 2] == "never" and (lows[i - 1] == "so" or lows[i - 1] == "this"):
            valence = valence * 1.25
        elif lows[i - 2] == "without" and lows[i - 1] == "doubt":
            pass
        elif _negated(lows[i - 2]):  # 2 words preceding the lexicon word position
            valence = valence * N_SCALAR
    elif start_i == 2:
        if (lows[i - 3] == "never" and (lows[i - 2] == "so" or lows[i - 2] == "this")) or (
            lows[i - 1] == "so" or lows[i - 1] == "this"
        ):
            valence = valence * 1.25
        elif lows[i - 3] == "without" and (lows[i - 2] == "doubt" or lows[i - 1] == "doubt"):
            pass
        elif _negated(lows[i - 3]):  # 3 words preceding the lexicon word position
            valence = valence * N_SCALAR
    return valence


def _negated(low: str) -> bool:
    """VADER's negated() of one word in lower case."""
    return low in _VADER_NEGATE or "n't" in low


def _special_idioms(valence: float, lows: list[str], i: int) -> float:
    """VADER 3.3.2's _special_idioms_check, line for line, on the words in lower case."""
    onezero = f"{lows[i - 1]} {lows[i]}"
    twoonezero = f"{lows[i - 2]} {lows[i - 1]} {lows[i]}"
    twoone = f"{lows[i - 2]} {lows[i - 1]}"
    threetwoone = f"{lows[i - 3]} {lows[i - 2]} {lows[i - 1]}"
    threetwo = f"{lows[i - 3]} {lows[i - 2]}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in SPECIAL_CASES:
            valence = SPECIAL_CASES[seq]
            break
    if len(lows) - 1 > i:
        zeroone = f"{lows[i]} {lows[i + 1]}"
        if zeroone in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroone]
    if len(lows) - 1 > i + 1:
        zeroonetwo = f"{lows[i]} {lows[i + 1]} {lows[i + 2]}"
        if zeroonetwo in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroonetwo]
    # booster/dampener bi-grams such as 'sort of' or 'kind of'
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in BOOSTER_DICT:
            valence = valence + BOOSTER_DICT[n_gram]
    return valence


class Sentiment:
    """VADER loaded once with the domain words; per text, the compound and where the text turns."""

    def __init__(self) -> None:
        self.vader = FastVader()
        self.vader.lexicon.update(domain_words())
        self.lexicon: dict[str, float] = self.vader.lexicon

    @property
    def full_walks(self) -> int:
        """Sentences VADER read word by word (the shortcut's test counts them)."""
        return self.vader.walks

    def compound(self, sentence: str) -> float:
        """VADER's compound (0 at once for a sentence with no word of its lexicon)."""
        return self.vader.compound(sentence)

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
