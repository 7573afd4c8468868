"""The lexicon language: phrase patterns, written one a line, compiled and matched together.

Entry syntax: words match whole and in any case, with any spaces or punctuation between them (not
a sentence end); `a/b` either word, `(a b/c)` either phrase, `word*` any ending, `_` any one
word, `word?` or `(...)?` optional, `$` the end of a clause (punctuation or the end
of the text follows), `@name` a word class of classes.txt (`@name = a/b/c`, phrases
and other classes allowed). A hit carries the id of the rule whose pattern matched.

Entries are indexed by the words they can start with and tried only where the text has one; an
entry's regex is compiled the first time a text starts it (`LAZY`, tested in test_score_rules.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, Protocol

# Between the words of a phrase: spaces and punctuation, but not a sentence end.
SEP = r"[^\w.!?\n]+"
_ANY_WORD = r"[\w'-]+"
_WORD = re.compile(r"\w[\w']*")
_WORD_PIECE = re.compile(r"\w+")
_TOKEN = re.compile(r"\([^)]*\)\??|\S+")
_CLAUSE_END = r"(?!\w)(?=\s*(?:[^\w\s'-]|$))"
# Words nearly every text has (about a school, too): a needle among them gates nothing and costs
# a look-up.
_COMMON_WORDS = (
    "the a an to of in on at for that this it you i we he she they her his him them my our your is "
    "are was be will and or with all up out every school park primary kids children parents teacher "
    "teachers staff head class year"
)
_COMMON = frozenset(_COMMON_WORDS.split())

# Whether entries compile when first needed: most of them meet no text that starts them in a run,
# and a parsing process builds the scorer at start-up (benchmarks/README.md has the figures).
LAZY = True


class Hit(NamedTuple):
    lexicon: str  # the label the rule argues for: extremism, abuse, criticism, praise, or a cue list
    text: str
    start: int
    end: int
    weak: bool
    rule: str = ""  # the id of the rule that matched


class Entry(Protocol):
    """What Lexicons needs of a rule (rules.Rule is one)."""

    @property
    def id(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def pattern(self) -> str: ...
    @property
    def weak(self) -> bool: ...


Classes = dict[str, list[str]]


def parse_classes(lines: Iterable[str]) -> Classes:
    """Word classes of `@name = a/b/@other` lines, each word once; an alternative naming another
    class takes in its words (defined before or after). Other lines are ignored."""
    raw: dict[str, list[str]] = {}
    for line in lines:
        line = line.strip()
        if line.startswith("@") and "=" in line:
            key, _, words = line.partition("=")
            name = key.strip()[1:]
            if name in raw:
                raise ValueError(f"word class @{name} is defined twice")
            raw[name] = [w.strip() for w in words.split("/") if w.strip()]

    def expand(name: str, seen: tuple[str, ...]) -> list[str]:
        if name in seen:
            raise ValueError(f"word class @{name} includes itself")
        out: list[str] = []
        for word in raw[name]:
            out += expand(word[1:], (*seen, name)) if word.startswith("@") else [word]
        return list(dict.fromkeys(out))

    return {name: expand(name, ()) for name in raw}


class Lexicons:
    """Phrase lists, indexed together by each entry's first word, that say which entry matched where.

    Entry syntax: words match whole and in any case, with any spaces or punctuation between them;
    `a/b` either word, `(a b/c)` either phrase, `word*` any ending, `_` any one word, `word?` or
    `(...)?` optional, `@name` a word class (see the module docstring).

    One regex per entry, tried only where the text has that entry's first word.
    """

    def __init__(self, names: Sequence[str], rules: Iterable[Entry], classes: Classes, overlapping: Iterable[str] = ()):
        self.names = tuple(names)
        # Lists whose overlapping hits are pruned to the longest; those of `overlapping` keep them
        # all (a frame's slots: each frame reads its own).
        self._exclusive = [name for name in self.names if name not in frozenset(overlapping)]
        self._entries: list[tuple[str, Any, bool, frozenset[str], str, tuple[frozenset[str], ...]]] = []
        self._by_word: dict[str, list[int]] = {}
        self._by_stem: dict[str, list[int]] = {}
        self._anywhere: list[int] = []
        for rule in rules:
            term, i = rule.pattern, len(self._entries)
            self._index(i, _TOKEN.findall(term), classes)
            # An entry starting with a symbol is looked for anywhere, once its first one is seen.
            needles = _anywhere_needles(term, classes) if i in self._anywhere else _needles(term, classes)
            regex = _LazyRegex(term, classes) if LAZY else re.compile(_term_regex(term, classes))
            # A frame's slot entry carries the words its other slots need (each set, one word of
            # it): where the text lacks them the frame cannot hit, and the entry is not tried.
            requires = tuple(getattr(rule, "requires", ()))
            self._entries.append((rule.label, regex, rule.weak, needles, rule.id, requires))
        # Where an entry may start: one trie-shaped regex finds those words or stems faster than a
        # loop over every word of the text ("don" is no word of "don't", nor "bullying" of
        # "anti-bullying", but "back" is one of "'watch your back'"). A key's entries include those
        # of the stems it begins with: one lookup per start finds them all.
        self._starts = re.compile(
            r"(?<!\w)(?<!\w['-])(?:(?:%s)(?!\w|'\w)|%s)"
            % (_trie_regex(self._by_word), _trie_regex(self._by_stem) or "(?!)")
        )
        # A stem that is also a word shares its entry, which holds the stem's entries already; a
        # word with an apostrophe holds those of the word before it ("deputy's": "deputy"), which
        # the start regex, taking the longest word, would not try there.
        self._stem_order = {stem: n for n, stem in enumerate(self._by_stem)}
        at = {
            key: list(dict.fromkeys(ids + self._stem_ids(key, exact) + self._base(key)))
            for index, exact in ((self._by_stem, False), (self._by_word, True))
            for key, ids in index.items()
        }
        # Per start word: the entries that need no needle (tried wherever the word is), and those
        # that do, by index. Which of the latter a text can match is worked out once per text from
        # its words (`_by_needle`, one list per needle word, shared by every start word).
        self._at = {
            key: (
                [self._entries[i] for i in ids if not self._entries[i][3] and not self._entries[i][5]],
                frozenset(i for i in ids if self._entries[i][3] or self._entries[i][5]),
            )
            for key, ids in at.items()
        }
        # Needle word -> the entries it lets through: those a frame gates too apart (their other
        # slots' words are checked as well).
        self._by_needle: dict[str, list[int]] = {}
        self._framed_by_needle: dict[str, list[int]] = {}
        for i, entry in enumerate(self._entries):
            # An entry with no needle but a frame's requirements is let through by the fewest of those.
            index = self._framed_by_needle if entry[5] else self._by_needle
            for word in entry[3] or min(entry[5], key=len, default=frozenset()):
                index.setdefault(word, []).append(i)
        # Every needle, and every word a frame requires: what of a text decides which entries run.
        self._needles = frozenset(self._by_needle).union(
            self._framed_by_needle, *(w for e in self._entries for w in e[5])
        )
        # Entries looked for anywhere whose symbols an ASCII text can hold (not "🔪").
        self._anywhere_ascii = [i for i in self._anywhere if any(n.isascii() for n in self._entries[i][3])]

    def _base(self, key: str) -> list[int]:
        base = key.split("'")[0]
        return self._by_word.get(base, []) if base != key else []

    def _stem_ids(self, key: str, exact: bool) -> list[int]:
        # The stems the key begins with, looked up by its prefixes (not each stem tried on each
        # key), in the order the stems were indexed.
        stems = [key[:n] for n in range(len(key) + 1 if exact else len(key)) if key[:n] in self._by_stem]
        stems.sort(key=self._stem_order.__getitem__)
        return [i for stem in stems for i in self._by_stem[stem]]

    def _index(self, i: int, tokens: list[str], classes: dict[str, list[str]]) -> None:
        first = tokens[0]
        if first.endswith("?") and len(first) > 1 and len(tokens) > 1:
            self._index(i, tokens[1:], classes)
            first = first[:-1]
        for word in _first_words(first, classes):
            if word.endswith("*"):
                for key in {word[:-1], word[:-1].replace("'", "")}:
                    self._by_stem.setdefault(key, []).append(i)
            elif found := _WORD.match(word):
                word = found.group()
                for key in {word, word.replace("'", "")}:
                    self._by_word.setdefault(key, []).append(i)
            elif i not in self._anywhere:
                self._anywhere.append(i)

    def hits(self, low: str, words: set[str] | None = None, overlaps: bool = False) -> dict[str, list[Hit]]:
        """Each list's matches in `low`, normalised text (lower case, straight quotes); where two
        entries of one list overlap, the longest counts (unless `overlaps`: every hit). `words`: the
        text's, when known already."""
        found: dict[str, list[Hit]] = {name: [] for name in self.names}
        words = set(_WORD_PIECE.findall(low)) if words is None else words
        # The entries a start word may begin whose needles the text has, worked out once per word
        # and text ("the" starts thirty entries and a post may hold it fifty times), from the
        # needles the text has: one set intersection where each entry's check cost more.
        viable: dict[str, list[Any]] = {}
        needles = self._needles & words  # the few needles of any entry the text has
        # The entries the text's needles let through (and, for a frame's slot, the words its
        # other slots need): a few dozen, found once per text.
        active = {i for word in needles for i in self._by_needle.get(word, ())}
        entries_of = self._entries
        for word in needles:
            for i in self._framed_by_needle.get(word, ()):
                if not any(map(needles.isdisjoint, entries_of[i][5])):
                    active.add(i)
        for start in self._starts.finditer(low):
            key = start.group()
            entries = viable.get(key)
            if entries is None:
                static, needled = self._at[key]
                met = active & needled if active and needled else None
                entries = static + [entries_of[i] for i in sorted(met)] if met else static
                viable[key] = entries
            at = start.start()
            for name, pattern, weak, _, rule, _ in entries:
                hit = pattern.match(low, at)
                if hit:
                    found[name].append(Hit(name, hit.group(), hit.start(), hit.end(), weak, rule))
        for i in self._anywhere_ascii if low.isascii() else self._anywhere:
            name, pattern, weak, symbols, rule, _ = self._entries[i]
            if not any(n in low for n in symbols):
                continue
            found[name] += [Hit(name, h.group(), h.start(), h.end(), weak, rule) for h in pattern.finditer(low)]
        if not overlaps:
            for name in self._exclusive:
                if len(found[name]) > 1:
                    found[name] = without_overlaps(found[name])
        return found

    def compiled(self) -> int:
        """How many entries' regexes are compiled so far (all of them unless LAZY)."""
        return sum(not isinstance(e[1], _LazyRegex) or e[1].is_compiled() for e in self._entries)


class _LazyRegex:
    """An entry's regex, written and compiled when a text first starts it (see LAZY)."""

    __slots__ = ("classes", "finditer", "match", "term")

    def __init__(self, term: str, classes: Classes):
        self.term, self.classes = term, classes

    @property
    def source(self) -> str:
        return _term_regex(self.term, self.classes)

    def __getattr__(self, name: str) -> Any:  # only while match/finditer are unset: the first use
        compiled = re.compile(self.source)
        self.match, self.finditer = compiled.match, compiled.finditer
        return getattr(compiled, name)

    def is_compiled(self) -> bool:
        try:
            object.__getattribute__(self, "match")
        except AttributeError:
            return False
        return True


def _trie_regex(words: Iterable[str]) -> str:
    """An alternation of literal words shaped as a trie ("th(?:at|e)"), so that the regex engine
    tries one branch per character instead of every word in turn."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_body(trie)


def _trie_body(node: dict[str, Any]) -> str:
    branches = [re.escape(char) + _trie_body(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 and "" not in node else "(?:" + "|".join(branches) + ")"
    return body + ("?" if "" in node else "")


def _anywhere_needles(term: str, classes: Classes) -> frozenset[str]:
    """For an entry that may start with a symbol ("'ll", "(((" ): the literal start of each of its
    first token's alternatives, one of which the text must hold."""
    first = _TOKEN.findall(term)[0].rstrip("?")
    return frozenset(a.split()[0].rstrip("*") for a in _alternatives(first, classes) if a.strip())


def _needles(term: str, classes: dict[str, list[str]]) -> frozenset[str]:
    """Words one of which every match must contain, looked up in the text's words before the regex
    runs: the alternatives of the most telling required token after the first, or the later words
    of a hyphenated first one (none: always run)."""
    tokens = _TOKEN.findall(term)
    first = _alternatives(tokens[0].rstrip("?"), classes)
    # The first token is indexed by its first word: a hyphenated one ("so-called") has more.
    best: frozenset[str] = frozenset()
    if all(re.fullmatch(r"[a-z']+(?:-[a-z']+)+", a) for a in first):
        best = frozenset(max(_WORD_PIECE.findall(a)[1:], key=len) for a in first)
    elif (
        not tokens[0].endswith("?")
        and any(" " in a for a in first)
        and all(re.fullmatch(r"[a-z' -]+", a) for a in first)
    ):  # "(not impressed/unimpressed)", "(the nazis/hitler)": the longest word of each alternative
        best = frozenset(_key_word(a) for a in first)
        best = frozenset() if not best.isdisjoint(_COMMON) else best
    for token in tokens[1:]:
        if token.endswith("?"):
            continue
        alternatives = _alternatives(token, classes)
        # A hyphenated alternative ("follow-through") still has words the text's word set holds.
        if not all(re.fullmatch(r"[a-z' -]+", a) for a in alternatives):
            continue
        words = frozenset(_key_word(a) for a in alternatives)
        if not words.isdisjoint(_COMMON):  # in nearly every text: no gate, only a cost
            continue
        if not best or min(map(len, words)) > min(map(len, best)):
            best = words
    return best


def needles(term: str, classes: Classes) -> frozenset[str]:
    """Words one of which every match of an entry contains (empty: none known, or only words
    nearly every text has): its needles, or else the longest word of each alternative of its
    first required token."""
    found = _needles(term, classes)
    if found:
        return found
    token = next((t for t in _TOKEN.findall(term) if not (t.endswith("?") and len(t) > 1)), "")
    if not token or token in ("_", "$"):
        return frozenset()
    words = frozenset(_key_word(a) for a in _alternatives(token, classes) if a.strip())
    return words if words.isdisjoint(_COMMON) and not words & {"_", ""} else frozenset()


def _key_word(alternative: str) -> str:
    """The word of an alternative that tells most: its longest not among the most common ones."""
    pieces = _WORD_PIECE.findall(alternative)
    return max((w for w in pieces if w not in _COMMON), key=len, default=max(pieces, key=len, default=""))


def _first_words(token: str, classes: dict[str, list[str]]) -> list[str]:
    """The words an entry can start with ('_' or a symbol: anything)."""
    if token == "_":
        return [token]
    return [a.split()[0].lower() for a in _alternatives(token, classes) if a.strip()]


def _term_regex(term: str, classes: dict[str, list[str]]) -> str:
    """Tokens joined by separators; an optional token takes its separator with it (the one after
    it when it leads, the one before it otherwise)."""
    regex, leading = "", True
    for token in _TOKEN.findall(term):
        if token == "$":  # the clause ends here: punctuation or the end of the text follows
            regex += _CLAUSE_END
            continue
        optional = token.endswith("?") and len(token) > 1
        body = _token_regex(token[:-1] if optional else token, classes)
        if leading:
            regex += f"(?:{body}{SEP})?" if optional else body
            leading = optional
        else:
            regex += f"(?:{SEP}{body})?" if optional else f"{SEP}{body}"
    if re.match(r"[\w(@]", term):
        regex = r"(?<!\w)" + regex
    if re.search(r"[\w*)]\??$", term) and not term.endswith("$"):
        regex += r"(?!\w)"
    return regex


def _token_regex(token: str, classes: dict[str, list[str]]) -> str:
    if token == "_":
        return _ANY_WORD
    return "(?:" + "|".join(_words_regex(a) for a in _alternatives(token, classes) if a) + ")"


def _alternatives(token: str, classes: Classes) -> list[str]:
    """The words or phrases a token stands for: a class's (`@name`), or those between slashes,
    where an alternative may name a class too ("(you/she/@role)")."""
    if token.startswith("@"):
        return classes[token[1:]]
    body = token[1:-1] if token.startswith("(") and token.endswith(")") else token
    out: list[str] = []
    for alternative in body.split("/"):
        out += classes[alternative[1:]] if alternative.startswith("@") else [alternative]
    return out


def _words_regex(words: str) -> str:
    """One alternative, possibly of several words ('asylum seekers'); '*' ends a word freely, '_'
    is any one word and '_?' any one word or none (after the first word)."""
    regex = ""
    for i, word in enumerate(words.lower().split()):
        if word in ("_", "_?"):  # any word inside a phrase of a class or a group ("pay _ a visit")
            body = _ANY_WORD
        else:
            stem = word.endswith("*") and len(word) > 1
            # "can't" also matches "cant"; a quote mark around a word ("'diverse'") stays required.
            body = re.sub(r"(?<=\w)'(?=\w)", "'?", re.escape(word[:-1] if stem else word)) + (r"\w*" if stem else "")
        if i == 0:
            regex = body
        else:
            regex += f"(?:{SEP}{body})?" if word == "_?" else f"{SEP}{body}"
    return regex


# Swear words people mask with asterisks ("b***h", "f***ing"): read as the word they hide, which


def without_overlaps(hits: list[Hit]) -> list[Hit]:
    """Where phrases overlap ('would not recommend' and 'recommend'), the longest one counts."""
    if len(hits) < 2:
        return hits
    kept: list[Hit] = []
    for hit in sorted(hits, key=lambda h: h.start - h.end):
        if all(hit.end <= k.start or hit.start >= k.end for k in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: h.start)


def trie_regex(words: Iterable[str]) -> str:
    """An alternation of literal words shaped as a trie ("th(?:at|e)"), so that the regex engine
    tries one branch per character instead of every word in turn."""
    return _trie_regex(words)
