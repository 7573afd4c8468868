"""Shapes: rules read in code, for wordings no lexicon entry can hold. Each is a registry rule
(rules.toml, pattern `shape:NAME`) with examples, and its hits carry that rule's id.

Abuse: a word VADER rates <= -2.0, or one of @insult_noun, @insulting or @vermin, aimed at a
person (a titled name, "the head", "teachers", "she", "you", "these parents") in an insult shape;
a wish of harm; violence said to be deserved. A thing is no target ("the communication is
pathetic"), nor a situation ("she is a disaster"), nor pity ("the poor woman"); a verdict on the
work ("a terrible teacher") needs a harsher word.

Extremism: a protected group likened to vermin or disease, or the object of removal, or said to
be taking over; praise of an attacker; the echo brackets that mark a name as Jewish; a name
shaped like a militant group's beside another cue.

The hits join the lexicons' hits, so news frames and precedence treat them alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from monitor.score.lexicon import Classes, Hit, trie_regex
from monitor.score.normalise import WORD_PIECE as _WORD_PIECE

_WORD = re.compile(r"\w[\w']*")

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


def group_names(text: str, rule: str) -> list[Hit]:
    """Names shaped like a militant group's ("Britannia Guard", "the Path of the Faithful circle"),
    as weak extremism cues: recruitment posts name an invented group, so no list can hold them.
    Looked for only beside another weak cue of extremism.txt; well-known harmless bodies skipped."""
    names = [*_GROUP_NAME.finditer(text), *_GROUP_NAME_FIRST.finditer(text), *_SUPPORTED.finditer(text)]
    return [
        Hit("extremism", "group:" + m.group().strip(), m.start(), m.end(), True, rule)
        for m in names
        if not _HARMLESS_GROUP.search(m.group())
    ]


class Shapes:
    """Abuse and extremism from the SHAPE of a sentence (see the module docstring)."""

    def __init__(self, lexicon: Mapping[str, float], classes: Classes, ids: Mapping[str, str]):
        self._ids = dict(ids)  # shape NAME -> rule id
        self._c = {name: frozenset(words) for name, words in classes.items()}
        self._negative = {w: v for w, v in lexicon.items() if v <= _INSULT_AT and w.isalpha()}
        self._negative.update({w: min(lexicon.get(w, 0.0), _HARSH_AT) for w in classes["insulting"]})
        self._negative.update({w: min(lexicon.get(w, 0.0), _ALONE_AT) for w in classes["body"]})

        def first(*names: str) -> frozenset[str]:
            return frozenset(
                next(w for w in _WORD_PIECE.findall(p) if w not in ("a", "an")) for n in names for p in classes[n]
            )

        self._harsh = frozenset(self._negative) | first("insult_noun", "vermin")
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

        def words(name: str) -> str:
            return trie_regex(classes[name])

        person = rf"(?:(?:mrs|ms|mr|miss|dr)\.?\s+[a-z][\w'*-]*|(?:{words('person')}))"
        self._person = re.compile(rf"\b{person}\b")
        # The copula is looked for first and its subject only where what follows insults: a regex
        # that starts at every word to try the subject costs more than the rest of these rules.
        self._copula = re.compile(
            r"(?:(?:\s+(?:is|are|was|were|has been|have been|has always been|r)|'s|'re)\s+|\s*=\s*)"
            r"((?:a|an|such a|such an)\s+)?((?:a\s+)?(?:bunch|pack|load|coven|herd|gang|nest|shower|band|set)\s+of\s+)?"
            r"([\w'*-]+(?:,?\s+[\w'*-]+){0,4})"
        )  # "a rude, lazy, snivelling parasite"
        # Insults of more than one word ("pond life", "the dregs of society"), within a few words
        # after the copula, in its clause.
        phrases = sorted({w for n in ("insult_noun", "vermin") for w in classes[n] if " " in w}, key=len, reverse=True)
        self._insult_phrase = re.compile(
            r"(?:[\w'*-]+,?\s+){0,4}?(?:%s)\b" % "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in phrases)
        )
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
            found["extremism"].append(Hit("extremism", "echo:(((", at, at + 3, False, self._ids["echo_brackets"]))
        present = words & self._cues  # one look-up per word of the text; the gates below test these
        if not present and "*" not in low:
            return found
        if (not present.isdisjoint(self._harsh) or "*" in low) and not present.isdisjoint(self._targets):
            found["abuse"] += self._insults_aimed(low, present)
        if not present.isdisjoint(self._wish_words) and not present.isdisjoint(self._harm_words):
            found["abuse"] += [
                self._hit("abuse", "wish", m, "harm_wished")
                for m in self._wish.finditer(low)
                if self._harm.search(m.group(1)) and _NEGATOR_WORDS.isdisjoint(_WORD_PIECE.findall(m.group(1)))
            ]
        if not present.isdisjoint(self._deserve_words) and not present.isdisjoint(self._violence_words):
            found["abuse"] += [
                self._hit("abuse", "deserve", m, "violence_deserved")
                for m in self._deserve.finditer(low)
                if self._person.search(_clause_before(low, m.start()))
                and _NEGATOR_WORDS.isdisjoint(_WORD_PIECE.findall(_clause_before(low, m.end())))
            ]
        if not present.isdisjoint(self._group_words):
            found["extremism"] += self._extremism(low, present)
        if ("who" in present or "whoever" in present) and not present.isdisjoint(self._glory_words):
            found["extremism"] += [
                self._hit("extremism", "attack", m, "attacker_praised") for m in self._attacker.finditer(low)
            ]
        if not present.isdisjoint(self._glory_of_words):
            found["extremism"] += [
                self._hit("extremism", "attack", m, "attack_glorified") for m in self._glory_of.finditer(low)
            ]
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
            if self._insults(phrase.split(), article, cut) or self._insult_phrase_at(low, m.start(3)):
                subject = self._subject.search(low, max(0, m.start() - _SUBJECT_SPAN), m.start())
                if subject:
                    out.append(
                        Hit(
                            "abuse",
                            "aimed:" + low[subject.start() : m.end()].strip(),
                            subject.start(),
                            m.end(),
                            False,
                            self._ids["insult_said_of_person"],
                        )
                    )
                m = self._copula.search(low, m.end())
            else:  # "the school's head is a ...": a possessive took the copula the words hold
                m = self._copula.search(low, m.start(3))
        if "you" in words:
            out += [
                self._hit("abuse", "you", m, "insult_addressed")
                for m in self._vocative.finditer(low)
                if self._vocative_insult(m.group(1).split())
            ]
        if not words.isdisjoint(self._nouns_after):
            for m in self._insulted.finditer(low):
                start = self._insulting_word_before(low, m)
                if start >= 0:
                    out.append(
                        Hit(
                            "abuse",
                            "aimed:" + low[start : m.end()],
                            start,
                            m.end(),
                            False,
                            self._ids["insult_before_person"],
                        )
                    )
        return out

    def _insult_phrase_at(self, low: str, at: int) -> bool:
        """Whether an insult of several words ("the lowest of the low") starts within a few words
        of `at`, in the same clause."""
        found = self._insult_phrase.match(low, at)
        return found is not None and not re.search(r"[.!?;\n]|\bbut\b", low[at : found.end()])

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
                self._hit("extremism", "dehumanised", m, "group_as_vermin")
                for m in self._dehumanised.finditer(low)
                if not m.group().startswith("like") or self._group.search(_sentence_of(low, m.start()))
            ]
        if not words.isdisjoint(self._removal_words):
            out += [
                self._hit("extremism", "removal", m, "group_removal")
                for m in self._removal.finditer(low)
                if not m.group("act") or _urged(_clause_before(low, m.start()))
            ]
        if len(set(self._vermin.findall(low))) >= 2:  # "Parasitic, thieving, diseased."
            out.append(Hit("extremism", "aimed:vermin", 0, 0, False, self._ids["vermin_words"]))
        # A group named, and a word that denies people their humanity anywhere in the same post
        # ("the Roma families ... Subhuman thieves, every one of them").
        if not words.isdisjoint(self._dehumanising) and self._group.search(low):
            out.append(Hit("extremism", "aimed:dehumanised", 0, 0, False, self._ids["group_dehumanised"]))
        return out

    def names_a_person(self, low: str) -> bool:
        """Whether the text names a person or a role ("Mrs Sale", "the head", "she", "teachers")."""
        return bool(self._person.search(low))

    def _hit(self, lexicon: str, kind: str, m: re.Match[str], shape: str) -> Hit:
        return Hit(lexicon, f"{kind}:{m.group().strip()}", m.start(), m.end(), False, self._ids[shape])

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
        if not self._c["insult_noun"].isdisjoint(words[:4]) or not self._c["vermin"].isdisjoint(words[:4]):
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
        if last in self._c["insult_noun"] or last in self._c["vermin"]:
            return True
        return not last.endswith(("ed", "ing", "ly")) and self._valence(last) <= _VOCATIVE_AT


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
