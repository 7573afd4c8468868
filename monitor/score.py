"""What is a mention? Pure: text and its MentionMatch in, Score out.

How a label is chosen, in precedence order:

1. extremism, then abuse: a strong entry of that lexicon matched, or two weak ("~") ones (for
   extremism, a name shaped like a militant group's, "Britannia Guard", counts as a weak one).
   Inside a news frame ("police are investigating", "appeared in court") the text reports the
   threat or the material rather than making it: the hits stay as "reported:..." flags and the
   stance rules below decide the label (severity follows it), so a local-paper story does not
   page the managers as if someone had posted the threat; the school already knows of an
   incident the police investigate, and the story still reaches the digest with its flags.
   Hits inside quotation marks are reported the same way: "someone called her a 'stupid cow'"
   and "stickers reading 'Remigration now'" quote the abuse to condemn or report it.
   AimedRules add hits for wordings no entry holds, by the shape of the sentence (see its docstring).
2. criticism / praise / neutral from a stance: VADER's compound, per sentence, with the domain
   words of vader_domain.txt, plus the criticism and praise phrases. A contrast ("But ...",
   "lovely, but ...") weighs what follows it over what precedes it, as VADER does inside a
   sentence; a phrase after a negation flips ("can't fault", "not outstanding", "used to be
   lovely"), and so does praise in scare quotes ("a 'nurturing' school"); a sarcasm cue ("oh great",
   "🙄") makes praise words count as irony. Notices, questions and news items damp VADER: their
   warmth ("pleased to announce") or dark words ("threats") are register, not stance.

Severity follows the label (DESIGN.md); a named member of staff raises criticism to high.
"""

from __future__ import annotations

import re
import string
from importlib import resources
from typing import NamedTuple

from vaderSentiment.vaderSentiment import BOOSTER_DICT, N_SCALAR, NEGATE, SentimentIntensityAnalyzer, SentiText

from monitor.config import Scoring
from monitor.models import OFFTOPIC, MentionMatch, Score

# Between the words of a phrase: spaces and punctuation, but not a sentence end.
_SEP = r"[^\w.!?\n]+"
_ANY_WORD = r"[\w'-]+"
_WORD = re.compile(r"\w[\w']*")
_WORD_PIECE = re.compile(r"\w+")
_TOKEN = re.compile(r"\([^)]*\)\??|\S+")
_PUNCTUATION = string.punctuation
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
_CONTRAST_START = re.compile(
    r"^\W*(?:but|however|although|though|yet|that said|having said that|sadly|"
    r"unfortunately)\b",
    re.IGNORECASE,
)
# "but" inside a sentence; not "nothing but", "all but", "but also".
_CONTRAST_INSIDE = re.compile(r"(?<!nothing )(?<!all )\bbut\b(?! also)", re.IGNORECASE)
_NEGATOR = (
    r"(?:not|no|never|without|hardly|barely|nothing|nobody|none|cannot|can'?t|couldn'?t|"
    r"won'?t|wouldn'?t|don'?t|didn'?t|doesn'?t|isn'?t|wasn'?t|aren'?t|weren'?t|haven'?t|"
    r"hasn'?t|ain'?t|nor|used to)\b"
)
# A negation up to two words before a phrase, in the same clause.
_NEGATION = re.compile(r"\b" + _NEGATOR + r"[^\w,.;:!?]+(?:[\w']+[^\w,.;:!?]+){0,2}$")
_NEGATED_ALREADY = re.compile(_NEGATOR)
# "nothing short of amazing", "not only kind": a negation word that does not negate.
_NOT_NEGATION = re.compile(
    r"\b(?:nothing but|nothing short of|nothing less than|not only|not just|no doubt|"
    r"never been so|couldn'?t be more|can'?t be more)\W+(?:[\w']+\W+){0,2}$"
)
_NEGATION_WINDOW = 40
# The closing quote of a quoted phrase: within three words, before a sentence ends.
_QUOTE_CLOSE = re.compile(r"(?:[^\w.!?\n'\"”]*[\w-]+){0,3}[^\w.!?\n'\"”]*['\"”](?!\w)")

GROUP_NOUNS = (
    "movement",
    "guard",
    "front",
    "brigade",
    "division",
    "army",
    "legion",
    "battalion",
    "resistance",
    "brotherhood",
    "circle",
    "shield",
    "patrol",
    "militia",
    "vanguard",
    "order",
    "alliance",
    "league",
    "crusader",
    "soldiers",
    "warriors",
    "sons",
    "knights",
    "network",
    "youth",
    "dawn",
    "standard",
    "sword",
    "lions",
    "banner",
    "union",
    "path",
    "fellowship",
    "kinship",
    "kinsmen",
    "covenant",
    "clan",
    "folk",
    "fraternity",
    "society",
    "collective",
)
_GROUP_NAME = re.compile(r"\b(?:[A-Z][\w'-]+\s+(?:(?:of|for)\s+(?:the\s+)?)?){1,4}(?i:%s)s?\b" % "|".join(GROUP_NOUNS))
# "Sons of Saint Edmund": the group noun first, then whose it is.
_GROUP_NAME_FIRST = re.compile(
    r"\b(?:%s)s?\s+of\s+(?:the\s+)?(?:[A-Z][\w'-]+\s*){1,3}" % "|".join(g.capitalize() for g in GROUP_NOUNS)
)
# Support for a named body ("proud supporter of the White Lantern Society"): its name may be any.
_SUPPORTED = re.compile(
    r"\b(?i:join|joining|joined|support|supporting|supporter of|supporters of|member of|"
    r"members of|recruiting for|stand with|donate to|read the)\s+(?:(?i:the)\s+)?"
    r"(?:[A-Z][\w'-]+(?:\s+|$)){1,4}"
)
_HARMLESS_GROUP = re.compile(
    r"\b(?:Salvation|British|Royal|Territorial|Home|Fire|Boys'?|Girls'?|"
    r"Premier|Football|Rugby|Scout|Guide|Ambulance|Coldstream|Grenadier|"
    r"Irish|Welsh|Scots|Chelsea|Elm)\b"
)

# The stance is VADER_WEIGHT x compound (-1..1) + PHRASE_WEIGHT per phrase hit (a weak one counts
# WEAK_WEIGHT of that); VADER alone reads war stories and lost matches as criticism, so the phrases
# weigh more. Set on round values where both the dev set and hand-written probes score well.
PHRASE_WEIGHT = 0.5
VADER_WEIGHT = 0.8
WEAK_WEIGHT = 0.5
NOTICE_DAMPING = 0.4
# News of an incident is worded darkly ("threats", "suspicious") without a stance on the school.
REPORTING_DAMPING = 0.2
CRITICISM_AT = -0.15
PRAISE_AT = 0.3

LEXICONS = ("extremism", "abuse", "criticism", "praise", "sarcasm", "reporting", "notice")


class Hit(NamedTuple):
    lexicon: str
    text: str
    start: int
    end: int
    weak: bool


class Lexicons:
    """Phrase lists, indexed together by each entry's first word, that say which entry matched where.

    Entry syntax: words match whole and in any case, with any spaces or punctuation between them;
    `a/b` either word, `(a b/c)` either phrase, `word*` any ending, `_` any one word, `word?` or
    `(...)?` optional, `@name` a word class defined by a line `@name = a/b/c` (phrases allowed),
    and a leading `~` marks a weak cue.

    One regex per entry, tried only where the text has that entry's first word: one alternation of
    hundreds of phrases is an order of magnitude slower than VADER.
    """

    def __init__(self, lists: dict[str, list[str]]):
        self.names = tuple(lists)
        self._entries: list[tuple[str, re.Pattern, bool, frozenset[str]]] = []
        self._by_word: dict[str, list[int]] = {}
        self._by_stem: dict[str, list[int]] = {}
        self._anywhere: list[int] = []
        for name, lines in lists.items():
            classes, terms = _parse(lines)
            for term, weak in terms:
                i = len(self._entries)
                self._index(i, _TOKEN.findall(term), classes)
                # An entry starting with a symbol is looked for anywhere, once its first one is seen.
                needles = frozenset([term.split()[0].split("/")[0]]) if i in self._anywhere else _needles(term, classes)
                self._entries.append((name, _LazyRegex(_term_regex(term, classes)), weak, needles))
        # Where an entry may start: one trie-shaped regex finds those words or stems faster than a
        # loop over every word of the text ("don" is no word of "don't", nor "bullying" of
        # "anti-bullying", but "back" is one of "'watch your back'"). A key's entries include those
        # of the stems it begins with: one lookup per start finds them all.
        self._starts = re.compile(
            r"(?<!\w)(?<!\w['-])(?:(?:%s)(?!\w|'\w)|%s)"
            % (_trie_regex(self._by_word), _trie_regex(self._by_stem) or "(?!)")
        )
        # A stem that is also a word shares its entry, which holds the stem's entries already.
        self._at = {
            key: _gated([self._entries[i] for i in dict.fromkeys(ids + self._stem_ids(key, exact))])
            for index, exact in ((self._by_stem, False), (self._by_word, True))
            for key, ids in index.items()
        }

    def _stem_ids(self, key: str, exact: bool) -> list[int]:
        return [
            i for stem, ids in self._by_stem.items() if key.startswith(stem) and (exact or stem != key) for i in ids
        ]

    def _index(self, i: int, tokens: list[str], classes: dict[str, list[str]]) -> None:
        first = tokens[0]
        if first.endswith("?") and len(first) > 1 and len(tokens) > 1:
            self._index(i, tokens[1:], classes)
            first = first[:-1]
        for word in _first_words(first, classes):
            if word.endswith("*"):
                for key in {word[:-1], word[:-1].replace("'", "")}:
                    self._by_stem.setdefault(key, []).append(i)
            elif _WORD.match(word):
                word = _WORD.match(word).group()
                for key in {word, word.replace("'", "")}:
                    self._by_word.setdefault(key, []).append(i)
            elif i not in self._anywhere:
                self._anywhere.append(i)

    def hits(self, low: str, words: set[str] | None = None) -> dict[str, list[Hit]]:
        """Each list's matches in `low`, normalised text (lower case, straight quotes); where two
        entries of one list overlap, the longest counts. `words`: the text's, when known already."""
        found: dict[str, list[Hit]] = {name: [] for name in self.names}
        words = _word_set(low) if words is None else words
        for start in self._starts.finditer(low):
            gate, entries = self._at[start.group()]
            if gate and words.isdisjoint(gate):
                continue
            for name, pattern, weak, needles in entries:
                if needles and words.isdisjoint(needles):
                    continue
                hit = pattern.match(low, start.start())
                if hit:
                    found[name].append(Hit(name, hit.group(), hit.start(), hit.end(), weak))
        for i in self._anywhere:
            name, pattern, weak, needles = self._entries[i]
            if not any(n in low for n in needles):
                continue
            found[name] += [Hit(name, h.group(), h.start(), h.end(), weak) for h in pattern.finditer(low)]
        return {name: _without_overlaps(hits) for name, hits in found.items()}


class _LazyRegex:
    """An entry's regex, compiled when a text first starts it: most entries meet no such text in a
    run, and compiling all of them took a parsing process a quarter of a second."""

    __slots__ = ("finditer", "match", "source")

    def __init__(self, source: str):
        self.source = source

    def __getattr__(self, name: str):  # only while match/finditer are unset: the first use
        compiled = re.compile(self.source)
        self.match, self.finditer = compiled.match, compiled.finditer
        return getattr(compiled, name)


def _trie_regex(words) -> str:
    """An alternation of literal words shaped as a trie ("th(?:at|e)"), so that the regex engine
    tries one branch per character instead of every word in turn."""
    trie: dict = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_body(trie)


def _trie_body(node: dict) -> str:
    branches = [re.escape(char) + _trie_body(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 and "" not in node else "(?:" + "|".join(branches) + ")"
    return body + ("?" if "" in node else "")


def _gated(entries: list) -> tuple[frozenset[str], list]:
    """A key's entries and, when each has needles, all of them: one look-up skips the lot."""
    if not all(needles for *_, needles in entries):
        return frozenset(), entries
    return frozenset().union(*(needles for *_, needles in entries)), entries


def _word_set(low: str) -> set[str]:
    """The text's words split at apostrophes too ("don", "t"), as needles are."""
    return set(_WORD_PIECE.findall(low))


def _needles(term: str, classes: dict[str, list[str]]) -> frozenset[str]:
    """Words one of which every match must contain, looked up in the text's words before the regex
    runs: the alternatives of the most telling required token after the first, or the later words
    of a hyphenated first one (none: always run)."""
    tokens = _TOKEN.findall(term)
    first = tokens[0].strip("()").split("/")
    # The first token is indexed by its first word: a hyphenated one ("so-called") has more.
    best: frozenset[str] = frozenset()
    if all(re.fullmatch(r"[a-z']+(?:-[a-z']+)+", a) for a in first):
        best = frozenset(max(_WORD_PIECE.findall(a)[1:], key=len) for a in first)
    for token in tokens[1:]:
        if token.endswith("?"):
            continue
        alternatives = classes[token[1:]] if token.startswith("@") else token.strip("()").split("/")
        # A hyphenated alternative ("follow-through") still has words the text's word set holds.
        if not all(re.fullmatch(r"[a-z' -]+", a) for a in alternatives):
            continue
        words = frozenset(max(_WORD_PIECE.findall(a), key=len) for a in alternatives)
        if not best or min(map(len, words)) > min(map(len, best)):
            best = words
    return best


def _parse(lines: list[str]) -> tuple[dict[str, list[str]], list[tuple[str, bool]]]:
    """Word classes and (entry, weak) pairs of a list; comments and blank lines skipped."""
    classes, terms = {}, []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@") and "=" in line:
            key, _, words = line.partition("=")
            classes[key.strip()[1:]] = [w.strip() for w in words.split("/") if w.strip()]
        else:
            terms.append((line.lstrip("~ ").strip(), line.startswith("~")))
    return classes, terms


def _first_words(token: str, classes: dict[str, list[str]]) -> list[str]:
    """The words an entry can start with ('_' or a symbol: anything)."""
    if token == "_":
        return [token]
    alternatives = classes[token[1:]] if token.startswith("@") else token.strip("()").split("/")
    return [a.split()[0].lower() for a in alternatives if a.strip()]


def _term_regex(term: str, classes: dict[str, list[str]]) -> str:
    """Tokens joined by separators; an optional token takes its separator with it (the one after
    it when it leads, the one before it otherwise)."""
    regex, leading = "", True
    for token in _TOKEN.findall(term):
        optional = token.endswith("?") and len(token) > 1
        body = _token_regex(token[:-1] if optional else token, classes)
        if leading:
            regex += f"(?:{body}{_SEP})?" if optional else body
            leading = optional
        else:
            regex += f"(?:{_SEP}{body})?" if optional else f"{_SEP}{body}"
    if re.match(r"[\w(@]", term):
        regex = r"(?<!\w)" + regex
    if re.search(r"[\w*)]\??$", term):
        regex += r"(?!\w)"
    return regex


def _token_regex(token: str, classes: dict[str, list[str]]) -> str:
    if token == "_":
        return _ANY_WORD
    if token.startswith("@"):
        alternatives = classes[token[1:]]
    else:
        alternatives = (token[1:-1] if token.startswith("(") else token).split("/")
    return "(?:" + "|".join(_words_regex(a) for a in alternatives if a) + ")"


def _words_regex(words: str) -> str:
    """One alternative, possibly of several words ('asylum seekers'); '*' ends a word freely."""
    out = []
    for word in words.lower().split():
        stem = word.endswith("*") and len(word) > 1
        # "can't" also matches "cant"; a quote mark around a word ("'diverse'") stays required.
        escaped = re.sub(r"(?<=\w)'(?=\w)", "'?", re.escape(word[:-1] if stem else word))
        out.append(escaped + (r"\w*" if stem else ""))
    return _SEP.join(out)


# Swear words people mask with asterisks ("b***h", "f***ing"): read as the word they hide, which
# has the same length, first and last letter.
MASKABLE = (
    "fuck",
    "fucking",
    "fucked",
    "fucker",
    "bitch",
    "bitches",
    "cunt",
    "cunts",
    "shit",
    "shite",
    "twat",
    "twats",
    "prick",
    "wanker",
    "bastard",
    "bastards",
    "arse",
    "arsehole",
    "dickhead",
    "bloody",
    "slag",
    "slut",
    "whore",
    "piss",
    "pissed",
    "cow",
    "joke",
    "nonce",
    "nonces",
    "retard",
    "retards",
    "paedo",
    "paedos",
    "tosser",
    "bellend",
    "dick",
)
_MASKED = re.compile(r"(?<![\w*])[a-z][a-z*]*\*[a-z*]*(?![\w*])")
# The same words with a symbol for a letter ("tw@t", "b1tch", "sh!t"): spelt out only when the
# word they then make is one of them, so an email address or "1st" stays as it is.
_LEET = re.compile(r"(?<![\w@!$])[a-z]+(?:[@!$0134][a-z]+)+(?![\w@!$])")
# Looked for from the symbol, which few texts have between letters ("4pm" and "1st" do not).
_LEET_HINT = re.compile(r"[@!$0134](?<=[a-z].)(?=[a-z])")
_LEET_LETTERS = str.maketrans("@!$0134", "aisoiea")


# Text-speak spelt out before anything reads the text ("u r a joke", "shud be lined up n slapped"),
# so VADER and every lexicon entry see the words they know. Only forms that are no other word.
_TXT_WORDS = {
    "u": "you",
    "ur": "your",
    "r": "are",
    "n": "and",
    "shud": "should",
    "shld": "should",
    "wud": "would",
    "cud": "could",
    "wiv": "with",
    "wif": "with",
    "em": "them",
    "coz": "because",
    "cuz": "because",
    "ppl": "people",
    "sum1": "someone",
    "some1": "someone",
    "every1": "everyone",
    "any1": "anyone",
    "no1": "no one",
    "wat": "what",
    "wot": "what",
    "skool": "school",
    "luv": "love",
    "b4": "before",
    "gonna": "going to",
    "wanna": "want to",
    "gotta": "got to",
    "pls": "please",
    "plz": "please",
    "bcos": "because",
    "bc": "because",
    "tho": "though",
    "thru": "through",
    "nuffin": "nothing",
    "sumthin": "something",
    "summat": "something",
    "ya": "you",
    "yer": "your",
}
# Not part of a longer token: a word, an address, a hashtag, or a masked word ("n*nces", "sh!t").
_TXT = re.compile(
    r"(?<![\w'@#&*!$])(?:%s)(?![\w'@&*]|[!$#]\w)" % "|".join(sorted(map(re.escape, _TXT_WORDS), key=len, reverse=True)),
    re.IGNORECASE,
)


def spell_out(text: str) -> str:
    """The text with text-speak words spelt out (see _TXT_WORDS)."""
    return _TXT.sub(lambda m: _TXT_WORDS[m.group().lower()], text)


def normalise(text: str) -> str:
    """Lower case, straight apostrophes and masked swear words spelt out ("b***h", "tw@t", "b1tch"):
    the form lexicon entries are matched in (same length, so offsets hold)."""
    low = text.lower().replace("’", "'").replace("‘", "'")
    low = _MASKED.sub(_unmask, low) if "*" in low else low
    return _LEET.sub(_unleet, low) if _LEET_HINT.search(low) else low


def _unleet(m: re.Match) -> str:
    word = m.group().translate(_LEET_LETTERS)
    return word if word in MASKABLE else m.group()


def _unmask(m: re.Match) -> str:
    masked = m.group()
    for word in MASKABLE:
        if len(word) == len(masked) and all(c in ("*", w) for c, w in zip(masked, word, strict=False)):
            return word
    return masked


def _read_lexicon(name: str) -> list[str]:
    return resources.files("monitor").joinpath(f"lexicons/{name}.txt").read_text("utf-8").splitlines()


def _vader_domain() -> dict[str, float]:
    words = {}
    for line in _read_lexicon("vader_domain"):
        if line.strip() and not line.startswith("#"):
            word, weight = line.split("\t")
            words[word.strip().lower()] = float(weight)
    return words


_VADER_NEGATE = frozenset(NEGATE)


class _AsciiVader(SentimentIntensityAnalyzer):
    """VADER, less its emoji pass where there can be no emoji (ASCII text): that pass walks every
    character and rebuilds the string, a sixth of VADER's time. The rest is VADER 3.3.2's
    polarity_scores as it stands, with a faster but identical negation check (tests/test_score.py
    compares the two on every held-out text, sentence by sentence too)."""

    def polarity_scores(self, text):
        if not text.isascii():
            return super().polarity_scores(text)
        text = text.strip()
        sentitext = SentiText(text)
        words = sentitext.words_and_emoticons
        sentiments = []
        for i, item in enumerate(words):
            low = item.lower()
            if low in BOOSTER_DICT or (low == "kind" and i < len(words) - 1 and words[i + 1].lower() == "of"):
                sentiments.append(0)
                continue
            sentiments = self.sentiment_valence(0, sentitext, item, i, sentiments)
        return self.score_valence(self._but_check(words, sentiments), text)

    @staticmethod
    def _negation_check(valence, words_and_emoticons, start_i, i):
        """VADER 3.3.2's, word for word, less lower-casing the whole text on each of its three
        calls per sentiment word (a tenth of the scorer's time on long posts) and a list scan of
        its negations per word."""

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


def fired(hits: list[Hit]) -> bool:
    """A strong entry, or two different weak ones."""
    return any(not h.weak for h in hits) or len({h.text for h in hits}) >= 2


class Scorer:
    """Built once (lexicons compiled, VADER loaded with the domain words), then cheap per text.
    `[scoring] extra_*` terms join their lexicon and take the same syntax ("~" for a weak cue)."""

    def __init__(self, scoring: Scoring | None = None):
        scoring = scoring or Scoring()
        extra = {
            "criticism": scoring.extra_criticism,
            "praise": scoring.extra_praise,
            "abuse": scoring.extra_abuse,
            "extremism": scoring.extra_extremism,
        }
        self._lexicons = Lexicons({name: _read_lexicon(name) + list(extra.get(name, ())) for name in LEXICONS})
        self._vader = _AsciiVader()
        self._vader.lexicon.update(_vader_domain())
        self._lexicon = self._vader.lexicon
        self._aimed = AimedRules(self._lexicon)

    def score(self, text: str, title: str, match: MentionMatch) -> Score:
        if not match.is_mention:  # not about the school: its tone is nobody's concern (sentiment 0)
            return Score(False, OFFTOPIC, "low", 0.0)
        whole = f"{title.rstrip('.')}.\n{text}" if title else text
        low = normalise(whole)
        words = _word_set(low)
        if not words.isdisjoint(_TXT_WORDS):  # text-speak: spelt out before anything reads the text
            whole = spell_out(whole)
            low = normalise(whole)
            words = _word_set(low)
        sentiment, flags, turn = self._sentiment(whole)
        flags += [f"staff:{s}" for s in match.staff]
        found = self._lexicons.hits(low, words)
        for name, hits in self._aimed.hits(low, words).items():
            found[name] += hits
        if found["extremism"] and not fired(found["extremism"]):
            found["extremism"] += _group_names(whole)
        label, why = _grave(found, low)
        if label is None:
            label, stance_flags = _stance(low, found, sentiment, turn)
            why += stance_flags
        return Score(
            True,
            label,
            _severity(label, match),
            sentiment,
            flags=tuple(dict.fromkeys(why + flags)),
            mentions_staff=match.mentions_staff,
        )

    def _compound(self, sentence: str) -> float:
        """VADER's compound; 0 at once for a sentence with no word of its lexicon and no emoji,
        which is what VADER would return after a much longer walk."""
        words = sentence.lower().split()
        if (
            sentence.isascii()
            and self._lexicon.keys().isdisjoint(words)
            and self._lexicon.keys().isdisjoint(w.strip(_PUNCTUATION) for w in words)
        ):
            return 0.0
        return self._vader.polarity_scores(sentence)["compound"]

    def _sentiment(self, text: str) -> tuple[float, list[str], int]:
        """VADER compound per sentence, averaged, and where the text turns: a sentence opening with
        a contrast outweighs those before it (x1.5 against x0.5, as VADER weighs the clauses around
        'but'). The turn is the offset of the last contrast, opening a sentence or inside one
        (which VADER weighs itself), -1 when there is none; phrases are weighed around it."""
        sentences = [s for s in _SENTENCE_END.split(text) if s.strip()] or [text]
        weights, flags, turn = [1.0] * len(sentences), [], -1
        for i, sentence in enumerate(sentences):
            opening = _CONTRAST_START.match(sentence)
            if i and opening:
                weights = [w * 0.5 for w in weights[:i]] + [1.5] * (len(sentences) - i)
                flags.append("contrast:" + opening.group().strip(" .,").lower())
                turn = text.find(sentence)
            elif "but" in sentence and _CONTRAST_INSIDE.search(sentence):
                flags.append("contrast:but")
                turn = text.find(sentence) + _CONTRAST_INSIDE.search(sentence).start()
        scores = [self._compound(s) for s in sentences]
        compound = round(sum(w * c for w, c in zip(weights, scores, strict=False)) / sum(weights), 4)
        return compound, [f"vader:{compound:.2f}"] + list(dict.fromkeys(flags)), turn


def _group_names(text: str) -> list[Hit]:
    """Names shaped like a militant group's ("Britannia Guard", "the Path of the Faithful circle"),
    as weak extremism cues: recruitment posts name an invented group, so no list can hold them.
    Looked for only beside another weak cue of extremism.txt; well-known harmless bodies skipped."""
    names = [*_GROUP_NAME.finditer(text), *_GROUP_NAME_FIRST.finditer(text), *_SUPPORTED.finditer(text)]
    return [
        Hit("extremism", "group:" + m.group().strip(), m.start(), m.end(), True)
        for m in names
        if not _HARMLESS_GROUP.search(m.group())
    ]


def _grave(found: dict[str, list[Hit]], low: str) -> tuple[str | None, list[str]]:
    """extremism or abuse, unless the text only reports them (see the module docstring) or only
    quotes them; None and the reported hits otherwise."""
    reported = fired(found["reporting"])
    flags = []
    for name in ("extremism", "abuse"):
        hits = found[name]
        if not fired(hits):
            continue
        own = hits if reported else [h for h in hits if not _quoted(low, h)]
        if not reported and fired(own):
            return name, [f"{name}:{h.text}" for h in own]
        flags += [f"reported:{name}:{h.text}" for h in hits]
    return None, flags


def _quoted(low: str, hit: Hit) -> bool:
    """Words in quotation marks are someone else's: "called her a 'stupid cow'", "stickers
    reading 'Remigration now'", "whoever wrote 'hope the head dies'" quote the abuse to report or
    condemn it. The quote opens right before the hit and closes before the sentence ends, after
    the hit or within a few words after it; a quote closing inside the hit after a word or two is
    the poster's own euphemism ("'deal with' the migrant families"), not a quotation."""
    start = hit.start
    if start == 0 or low[start - 1] not in "'\"“" or (start > 1 and low[start - 2].isalnum()):
        return False
    close = _QUOTE_END.match(low, start)
    if not close or close.end() > hit.end + _QUOTE_SLACK:
        return False
    return close.end() >= hit.end or len(low[start : close.end()].split()) >= 3


def _stance(low: str, found: dict[str, list[Hit]], sentiment: float, turn: int) -> tuple[str, list[str]]:
    """criticism, praise or neutral: VADER's compound moved by the phrases that matched."""
    hits = _without_overlaps(found["criticism"] + found["praise"])
    sarcasm = found["sarcasm"]
    balance, flags = 0.0, [f"sarcasm:{h.text}" for h in sarcasm]
    for hit in hits:
        against = hit.lexicon == "criticism"
        if _negated(low, hit):
            against = not against
            flags.append(f"negated:{hit.text}")
        elif not against and _in_scare_quotes(low, hit):
            against = True
            flags.append(f"quoted:{hit.text}")
        elif sarcasm and not against:
            continue
        else:
            flags.append(f"{hit.lexicon}:{hit.text}")
        weight = (WEAK_WEIGHT if hit.weak else 1) * (1 if turn < 0 else 0.5 if hit.start < turn else 1.5)
        balance += -weight if against else weight
    if sarcasm:
        sentiment, balance = min(sentiment, 0.0), balance - 1
    elif fired(found["reporting"]):
        sentiment *= REPORTING_DAMPING
        flags.append("reporting:" + found["reporting"][0].text)
    elif fired(found["notice"]):
        sentiment *= NOTICE_DAMPING
        flags.append("notice:" + found["notice"][0].text)
    stance = VADER_WEIGHT * sentiment + PHRASE_WEIGHT * balance
    label = "criticism" if stance <= CRITICISM_AT else "praise" if stance >= PRAISE_AT else "neutral"
    return label, flags


def _without_overlaps(hits: list[Hit]) -> list[Hit]:
    """Where phrases overlap ('would not recommend' and 'recommend'), the longest one counts."""
    if len(hits) < 2:
        return hits
    kept: list[Hit] = []
    for hit in sorted(hits, key=lambda h: h.start - h.end):
        if all(hit.end <= k.start or hit.start >= k.end for k in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: h.start)


_QUOTE_END = re.compile(r"[^.!?\n'\"”]*(?:'\w[^.!?\n'\"”]*)*['\"”](?!\w)")
_QUOTE_SLACK = 25


def _in_scare_quotes(low: str, hit: Hit) -> bool:
    """Praise in quotation marks ("a 'nurturing environment'") is someone else's word, quoted
    with irony: the quote opens right before the phrase and closes within a few words after it."""
    if hit.start == 0 or low[hit.start - 1] not in "'\"“":
        return False
    if hit.start > 1 and low[hit.start - 2].isalnum():  # an apostrophe inside a word: "o'lovely"
        return False
    return bool(_QUOTE_CLOSE.match(low, hit.end))


def _negated(low: str, hit: Hit) -> bool:
    """A negation up to two words before the phrase, in the same clause; a phrase that carries
    its own ("no one answered", "nothing changes") is not turned by another ("no wonder ...")."""
    if _NEGATED_ALREADY.match(hit.text):
        return False
    before = low[max(0, hit.start - _NEGATION_WINDOW) : hit.start]
    return bool(_NEGATION.search(before)) and not _NOT_NEGATION.search(before)


def _severity(label: str, match: MentionMatch) -> str:
    if label in ("extremism", "abuse"):
        return "high"
    if label == "criticism":
        return "high" if match.mentions_staff else "medium"
    return "low"


# Fillers between a copula and the words that judge ("is just an absolute ...").
_CUT = re.compile(r"\s+[\w'*-]")  # more words follow those the copula regex took
_FILLER = frozenset(
    [
        "just",
        "all",
        "such",
        "literally",
        "basically",
        "honestly",
        "really",
        "truly",
        "also",
        "one",
        "absolute",
        "total",
        "complete",
        "utter",
        "proper",
        "right",
        "nothing",
        "but",
        "the",
        "biggest",
    ]
)
_NEGATOR_WORDS = frozenset(
    [
        "not",
        "no",
        "never",
        "n't",
        "don't",
        "doesn't",
        "didn't",
        "isn't",
        "wasn't",
        "won't",
        "ok",
        "okay",
        "safe",
        "well",
        "better",
        "soon",
        "recover",
        "recovers",
        "recovered",
        "out",
        "beat",
        "beats",
        "survive",
        "survives",
        "fine",
    ]
)
# Words after a copula that start no judgement of the person ("she's got a horrible cold").
_NOT_JUDGED = frozenset(
    [
        "got",
        "had",
        "having",
        "going",
        "getting",
        "gone",
        "doing",
        "done",
        "made",
        "taken",
        "left",
        "given",
        "told",
        "sent",
        "put",
        "not",
        "never",
        "no",
        "off",
        "on",
        "in",
        "at",
        "out",
        "being",
    ]
)
# What a group adjective qualifies ("Muslim families", not "black mould").
_PEOPLE = (
    "families|family|people|kids|children|pupils|parents|mums|dads|men|women|lads|boys|girls|teachers|"
    "staff|community|communities|folk|lot|pupil|teacher|child|kid"
)
# Words that end a subject's qualifier ("staff in reception but the school is ...").
_CLAUSE_BREAK = r"(?:but|and|or|the school|so|because|while|although|though|yet)\b"
# Where a subject is: "the head at Elm Park Primary (is)", "Jewish parents in Year 2 (are)".
_QUALIFIER = rf"(?:\s+(?:at|from|of|in)(?:\s+(?!{_CLAUSE_BREAK})[\w'-]+){{1,4}}?)?"
# The person an adjective insults ("vile woman", "horrible lot").
_PEOPLE_INSULTED = "woman|man|lady|bloke|person|individual|creature|specimen|human|cow|witch|hag|lot|people"
# An insulted noun's companion ("horrible old cow"), and how far back a subject is looked for.
_LITTLE = frozenset(["old", "little", "fat", "silly", "stupid", "ugly"])
_SUBJECT_SPAN = 60
# Words that urge what follows them ("we should", "time to", "let's").
_URGING = frozenset(
    [
        "should",
        "must",
        "need",
        "needs",
        "let",
        "lets",
        "time",
        "gonna",
        "will",
        "ll",
        "ought",
        "just",
        "want",
        "wanna",
        "d",
    ]
)
_INSULT_AT = -2.0  # VADER valence at or below which a word insults when aimed at a person
_HARSH_AT = -2.6  # ... and at which it insults even in a verdict on the work ("a vile teacher")
_ALONE_AT = -3.0  # ... and alone after a copula ("she is vile", not "she is rude")
_VOCATIVE_AT = -2.2  # ... and as what "you" is called ("you liar", not "you fool")


class AimedRules:
    """Abuse and extremism from the SHAPE of a sentence, for wordings no lexicon entry holds.

    Abuse: a word VADER rates <= -2.0, or one of aimed.txt's @insult or @vermin, aimed at a person
    (a titled name, "the head", "teachers", "she", "you", "these parents") in an insult shape:
    "X is a/an ... <word>" (or txt-speak "X r ...", "X = ..."; an insult noun ends the phrase
    whatever follows it), "X are <adjective> <noun>", "you <word>!", "<word> woman/man/lot",
    a wish of harm ("hope she ... ends up in hospital") or "X should be / deserves to be <violence>".
    A thing is no target ("the communication is pathetic"), nor a situation ("she is a disaster"),
    nor pity ("the poor woman"); a verdict on the work ("a terrible teacher") needs a harsher word.

    Extremism: a protected group (or "they"/"these people" once one is named) likened to vermin or
    disease, or the object of removal ("purge the lot"), praise of an attacker ("the lad who
    did it is a hero", "whoever torched it is a patriot", "heroes of the ... bombing"), and the
    echo brackets that mark a name as Jewish ("(((bankers)))").

    The hits join the lexicons' hits, so news frames and precedence treat them alike."""

    def __init__(self, lexicon: dict[str, float]):
        classes, _ = _parse(_read_lexicon("aimed"))
        self._c = {name: frozenset(words) for name, words in classes.items()}
        self._negative = {w: v for w, v in lexicon.items() if v <= _INSULT_AT and w.isalpha()}
        self._negative.update({w: min(lexicon.get(w, 0.0), _HARSH_AT) for w in classes["insulting"]})

        def first(*names):
            return frozenset(
                next(w for w in _WORD_PIECE.findall(p) if w not in ("a", "an")) for n in names for p in classes[n]
            )

        self._harsh = frozenset(self._negative) | first("insult", "vermin")
        self._harsh |= {w + "s" for w in self._negative}
        self._wish_words = frozenset(("hope", "hoping", "pray", "praying"))
        self._harm_words = first("harm")
        self._deserve_words = frozenset(("should", "must", "ought", "deserve", "deserves", "need", "needs"))
        self._violence_words = first("violence")
        self._nouns_after = frozenset(_PEOPLE_INSULTED.split("|"))
        self._group_words = first("group")
        self._vermin_words = first("vermin")
        self._dehumanising = frozenset(classes["dehumanising"])
        self._removal_words = first("eliminate", "eliminated")
        self._glory_words = first("glory") | {"did"}
        self._glory_of_words = frozenset(("hero", "heroes", "martyr", "martyrs", "legends", "lions"))
        self._targets = first("person") | {"mrs", "ms", "mr", "miss", "dr"}
        self._cues = frozenset().union(
            self._harsh,
            self._wish_words,
            self._harm_words,
            self._deserve_words,
            self._violence_words,
            self._nouns_after,
            self._group_words,
            self._vermin_words,
            self._removal_words,
            self._glory_words,
            self._glory_of_words,
            self._targets,
            self._dehumanising,
            {"who", "whoever", "you"},
        )

        def words(name):
            return _trie_regex(classes[name])

        person = rf"(?:(?:mrs|ms|mr|miss|dr)\.?\s+[a-z][\w'*-]*|(?:{words('person')}))"
        self._person = re.compile(rf"\b{person}\b")
        # The copula is looked for first and its subject only where what follows insults: a regex
        # that starts at every word to try the subject costs more than the rest of these rules.
        self._copula = re.compile(
            r"(?:(?:\s+(?:is|are|was|were|has been|have been|has always been|r)|'s|'re)\s+|\s*=\s*)"
            r"((?:a|an|such a|such an)\s+)?((?:a\s+)?(?:bunch|pack|load|coven|herd|gang|nest|shower|band|set)\s+of\s+)?"
            r"([\w'*-]+(?:,?\s+[\w'*-]+){0,4})"
        )  # "a rude, lazy, snivelling parasite"
        self._vocative = re.compile(r"\byou\s+((?:[\w'*-]+\s+){0,2}[\w'*-]+)(?=\s*(?:[,.!?;:]|$))")
        self._insulted = re.compile(rf"\b(?:{_PEOPLE_INSULTED})\b")
        self._subject = re.compile(rf"\b{person}{_QUALIFIER}$")
        self._wish = re.compile(
            rf"\b(?:hope|hoping|pray|praying)\s+(?:that\s+)?(?:the\s+)?"
            rf"(?:[\w'-]+\s+){{0,4}}?{person}\b"
            r"([^.!?\n]{0,70})"
        )
        self._harm = re.compile(rf"\b(?:{words('harm')})\b")
        # "should be lined up and shot": up to three words before the act.
        self._deserve = re.compile(
            r"\b(?:should|must|ought to|deserves? to|needs? to)\s+(?:be\s+)?(?:[\w'-]+\s+){0,3}?"
            rf"(?:{words('violence')})\b"
        )
        group, them = words("group"), words("them")
        self._group = re.compile(rf"\b(?:{group})\b")
        vermin = words("vermin")
        self._dehumanised = re.compile(
            rf"\b(?:(?:{group})(?:\s+(?:{_PEOPLE}))?{_QUALIFIER}|{them})(?:\s+(?:is|are|were|have become)|'re)?"
            rf"(?:\s+(?:all|just|nothing but|like|a|an|no better than|basically))*(?:\s+[\w'-]+)?\s+(?:{vermin})\b"
            rf"|\blike\s+(?:[\w'-]+\s+)?(?:{vermin})\b"
        )
        self._vermin = re.compile(rf"\b(?:{vermin})\b")
        eliminate = words("eliminate")
        self._removal = re.compile(
            rf"(?P<act>\b(?:{eliminate}))\s+(?:(?:all|the|every|those|these|their|of)\s+)*"
            rf"(?:[\w'-]+\s+){{0,3}}?(?:{group}|{them}|kind)\b"
            rf"|\b(?:{group}|{them}|kind)(?:\s+[\w'-]+){{0,6}}?\s+"
            rf"(?:should|must|need to|needs to|ought to|will|deserve to|"
            rf"have to|has to)\s+be\s+(?:{eliminate})\b|\b(?:{words('eliminated')})\b"
        )
        self._attacker = re.compile(
            rf"\b(?:(?:man|lad|men|lads|woman|guy|bloke|brothers|boys|those|he|they|brother|soldiers)\s+who|whoever)\s+"
            rf"(?:{words('attacked')})\b[^.!?\n]{{0,80}}?"
            rf"(?:\b(?:is|was|are|were|died as|remains?|will always be)\s+"
            rf"(?:(?:a|an|our|the|true|real|national|absolute|proper)\s+)*(?:{words('glory')})\b|\bdid what\b)"
        )
        self._glory_of = re.compile(
            rf"\b(?:heroes|hero|martyrs|martyr|legends|lions)\s+of\s+the\s+"
            rf"(?:[\w'-]+\s+){{0,2}}"
            rf"(?:{words('assault')})\b"
        )

    def hits(self, low: str, words: set[str]) -> dict[str, list[Hit]]:
        """Each rule runs only where the text (whose `words` are given) has the words it needs:
        most texts have none."""
        found: dict[str, list[Hit]] = {"abuse": [], "extremism": []}
        if "(((" in low:  # echo brackets mark a name as Jewish: the antisemites' own sign
            at = low.index("(((")
            found["extremism"].append(Hit("extremism", "echo:(((", at, at + 3, False))
        present = words & self._cues  # one look-up per word of the text; the gates below test these
        if not present and "*" not in low:
            return found
        if (not present.isdisjoint(self._harsh) or "*" in low) and not present.isdisjoint(self._targets):
            found["abuse"] += self._insults_aimed(low, present)
        if not present.isdisjoint(self._wish_words) and not present.isdisjoint(self._harm_words):
            found["abuse"] += [
                _hit("abuse", "wish", m)
                for m in self._wish.finditer(low)
                if self._harm.search(m.group(1)) and _NEGATOR_WORDS.isdisjoint(_WORD_PIECE.findall(m.group(1)))
            ]
        if not present.isdisjoint(self._deserve_words) and not present.isdisjoint(self._violence_words):
            found["abuse"] += [
                _hit("abuse", "deserve", m)
                for m in self._deserve.finditer(low)
                if self._person.search(_clause_before(low, m.start()))
                and _NEGATOR_WORDS.isdisjoint(_WORD_PIECE.findall(_clause_before(low, m.end())))
            ]
        if not present.isdisjoint(self._group_words):
            found["extremism"] += self._extremism(low, present)
        if ("who" in present or "whoever" in present) and not present.isdisjoint(self._glory_words):
            found["extremism"] += [_hit("extremism", "attack", m) for m in self._attacker.finditer(low)]
        if not present.isdisjoint(self._glory_of_words):
            found["extremism"] += [_hit("extremism", "attack", m) for m in self._glory_of.finditer(low)]
        return found

    def _insults_aimed(self, low: str, words: set[str]) -> list[Hit]:
        out = []
        m = self._copula.search(low)
        while m:
            # The subject is looked for only where what follows insults: a regex trying it before
            # every word costs more than all these rules together.
            article, phrase = bool(m.group(1) or m.group(2)), m.group(3)
            # After "a", commas list the adjectives of one noun; without, they list verdicts
            # ("was rude, dismissive and useless"), and only the first is read.
            phrase = phrase.replace(",", " ") if article else phrase.split(",")[0]
            cut = bool(_CUT.match(low, m.end(3))) and (article or "," not in m.group(3))
            if self._insults(phrase.split(), article, cut):
                subject = self._subject.search(low, max(0, m.start() - _SUBJECT_SPAN), m.start())
                if subject:
                    out.append(
                        Hit("abuse", "aimed:" + low[subject.start() : m.end()].strip(), subject.start(), m.end(), False)
                    )
                m = self._copula.search(low, m.end())
            else:  # "the school's head is a ...": a possessive took the copula the words hold
                m = self._copula.search(low, m.start(3))
        if "you" in words:
            out += [
                _hit("abuse", "you", m)
                for m in self._vocative.finditer(low)
                if self._vocative_insult(m.group(1).split())
            ]
        if not words.isdisjoint(self._nouns_after):
            for m in self._insulted.finditer(low):
                start = self._insulting_word_before(low, m)
                if start >= 0:
                    out.append(Hit("abuse", "aimed:" + low[start : m.end()], start, m.end(), False))
        return out

    def _insulting_word_before(self, low: str, m: re.Match) -> int:
        """Where "vile woman" or "horrible old cow" starts: a low-VADER word right before the noun,
        or one word earlier; -1 when there is none."""
        before = list(_WORD.finditer(low, max(0, m.start() - _SUBJECT_SPAN), m.start()))[-2:]
        if len(before) == 2 and before[1].group() not in _LITTLE:
            before = before[1:]
        if not before or before[0].group() in self._c["pity"] or self._valence(before[0].group()) > _INSULT_AT:
            return -1
        return before[0].start()

    def _extremism(self, low: str, words: set[str]) -> list[Hit]:
        out = []
        if not words.isdisjoint(self._vermin_words):
            out += [
                _hit("extremism", "dehumanised", m)
                for m in self._dehumanised.finditer(low)
                if not m.group().startswith("like") or self._group.search(_sentence_of(low, m.start()))
            ]
        if not words.isdisjoint(self._removal_words):
            out += [
                _hit("extremism", "removal", m)
                for m in self._removal.finditer(low)
                if not m.group("act") or _urged(_clause_before(low, m.start()))
            ]
        if len(set(self._vermin.findall(low))) >= 2:  # "Parasitic, thieving, diseased."
            out.append(Hit("extremism", "aimed:vermin", 0, 0, False))
        # A group named, and a word that denies people their humanity anywhere in the same post
        # ("the Roma families ... Subhuman thieves, every one of them").
        if not words.isdisjoint(self._dehumanising) and self._group.search(low):
            out.append(Hit("extremism", "aimed:dehumanised", 0, 0, False))
        return out

    def _valence(self, word: str) -> float:
        value = self._negative.get(word)
        if value is None and word.endswith("s") and not word.endswith("ss"):
            value = self._negative.get(word[:-1])
        return 0.0 if value is None else value

    def _insults(self, words: list[str], article: bool, cut: bool = False) -> bool:
        """Whether the words after "X is (a)" judge a person: an insult noun, or a low-VADER word in
        a noun phrase that is no situation, pity, or verdict on the work. `cut`: the words stop
        before the phrase does, so its last noun phrase is incomplete ("a worse [listener]")."""
        while words and words[0] in _FILLER:
            words = words[1:]
        if words and words[0] in ("been", "become"):  # "she's been a ..."
            words, article = words[1:], article or words[1:2] in (["a"], ["an"])
            words = words[1:] if words[:1] in (["a"], ["an"]) else words
        if not words or words[0] in _NOT_JUDGED:  # "she's got a cold", "is not a liar"
            return False
        for i, word in enumerate(words):
            if word not in ("and", "or") and (word in self._c["stop"] or word in ("is", "are", "was", "were")):
                words, cut = words[:i], False
                break
        # "a coward and a crook": each noun phrase judged alone.
        segments: list[list[str]] = [[]]
        for word in words:
            if word in ("and", "or"):
                segments.append([])
            else:
                segments[-1].append(word)
        if cut and len(segments) > 1:
            segments.pop()
        for i, parts in enumerate(segments):
            if i and parts[:1] in (["a"], ["an"]):
                parts, article = parts[1:], True
            elif i:
                article = False
            if self._judges(parts, article):
                return True
        return False

    def _judges(self, words: list[str], article: bool) -> bool:
        """One noun phrase: "(a) spiteful old crone", "vile people", "liars", "evil"."""
        if not words:
            return False
        # An insult noun ends the noun phrase, whatever follows it: "a smug, scheming old crone",
        # "a spineless little weasel hiding behind her door", "parasites feeding off the kids".
        if not self._c["insult"].isdisjoint(words[:4]) or not self._c["vermin"].isdisjoint(words[:4]):
            return True
        if len(words) > 3:  # no noun phrase that ends: "rude every time I ring"
            return False
        values = [self._valence(w) for w in words if w not in self._c["pity"]]
        harshest = min(values, default=0.0)
        if harshest > _INSULT_AT or words[-1] in self._c["situation"]:
            return False
        if words[-1] in self._c["role"]:
            return harshest <= _HARSH_AT
        if article or (
            len(words) > 1 and self._valence(words[-2]) <= _INSULT_AT and self._valence(words[-1]) > _INSULT_AT
        ):  # "are vile people"
            return True
        if len(words) == 1 and words[0].endswith("ed"):  # a state: "parents are devastated"
            return False
        plural_noun = words[-1].endswith("s") and not words[-1].endswith("ss") and words[-1] not in self._negative
        return plural_noun or harshest <= _ALONE_AT

    def _vocative_insult(self, words: list[str]) -> bool:
        """ "you pathetic little worm," — an address that ends the clause on a word for a person:
        no verb ("you ruined everything", "you lied") and no object ("you hurt him")."""
        if any(w in self._c["stop"] or w in self._c["person"] for w in words):
            return False
        last = words[-1]
        if last in self._c["insult"] or last in self._c["vermin"]:
            return True
        return not last.endswith(("ed", "ing", "ly")) and self._valence(last) <= _VOCATIVE_AT


def _hit(lexicon: str, kind: str, m: re.Match) -> Hit:
    return Hit(lexicon, f"{kind}:{m.group().strip()}", m.start(), m.end(), False)


def _urged(before: str) -> bool:
    """Whether a verb is urged (an order or a wish: "get rid of them", "time to purge ..."),
    not told ("the Nazis tried to wipe out ..."): nothing or a modal before it in its clause."""
    words = _WORD_PIECE.findall(before)[-4:]
    return not words or not _URGING.isdisjoint(words)


def _clause_before(low: str, end: int) -> str:
    start = max(low.rfind(c, 0, end) for c in ".!?\n;")
    return low[start + 1 : end]


def _sentence_of(low: str, at: int) -> str:
    start = max(low.rfind(c, 0, at) for c in ".!?\n")
    ends = [i for i in (low.find(c, at) for c in ".!?\n") if i >= 0]
    return low[start + 1 : min(ends, default=len(low))]
