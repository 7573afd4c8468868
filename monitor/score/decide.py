"""The decision: a text and its MentionMatch in, a Score out.

In precedence order:

1. extremism, then abuse: a strong rule of that label hit, or two different weak ones. Inside a
   news frame ("police are investigating") or in quotation marks, the text reports the threat
   rather than making it: the hits stay as "reported:..." flags and the stance decides.
2. a second look where no rule fired (none if the text reports or quotes): a weak abuse cue the
   abusive-language model confirms (PROBABLE_AT, a person or a role named) is abuse; where the
   signals disagree on a grave reading, the text is possible abuse or extremism (severity
   medium, flag `possible`, still alerted): one weak rule marked `possible` (a threat shape of
   low confidence), or the model confident alone (POSSIBLE_AT) with a person or a role named.
3. criticism / praise / neutral from a stance: VADER's compound per sentence (vader.py) moved by
   the criticism and praise phrases, with negation, contrast, scare quotes and sarcasm; notices,
   questions and news damp VADER (their tone is register, not stance).

Severity follows the label; a named member of staff raises criticism to high. Only the first
MAX_CHARS characters of a text are read.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from monitor.config import Scoring
from monitor.models import OFFTOPIC, MentionMatch, Score
from monitor.score import rules as registry
from monitor.score.frames import Frames
from monitor.score.grave import GraveModel, prepare
from monitor.score.lexicon import Hit, Lexicons, without_overlaps
from monitor.score.model import AbuseModel
from monitor.score.normalise import TXT_WORDS, capped, normalise, spell_out, word_set
from monitor.score.shapes import Shapes, group_names
from monitor.score.thresholds import GRAVE_CONFIRMS, POSSIBLE_AT, PROBABLE_AT
from monitor.score.vader import Sentiment

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
    r"never been so|couldn'?t be more|can'?t be more|can'?t believe|cannot believe|couldn'?t believe)"
    r"\W+(?:[\w']+\W+){0,2}$"
)
_NEGATION_WINDOW = 40
# The closing quote of a quoted phrase: within three words, before a sentence ends.
_QUOTE_CLOSE = re.compile(r"(?:[^\w.!?\n'\"”]*[\w-]+){0,3}[^\w.!?\n'\"”]*['\"”](?!\w)")

# The stance is VADER_WEIGHT x compound (-1..1) + PHRASE_WEIGHT per phrase hit (a weak one counts
# WEAK_WEIGHT of that); VADER alone reads war stories and lost matches as criticism, so the phrases
# weigh more. Set on round values where both the dev set and hand-written probes score well.
# Swearing at a thing, not a person ("what a load of crap", "bloody hell, closed again"): the model
# reads it as abusive (0.97) though it insults no one, so it is left out of what the model reads.
_MILD = (
    "bloody crap crappy shit shite shitty damn damned hell bollocks arse piss pissed sodding bleeding effing joke "
    "wtf omg ffs"
)
_MILD_WORDS = frozenset(_MILD.split())
_MILD_SWEARING = re.compile(r"\b(?:%s)\b" % "|".join(_MILD.split()))

PHRASE_WEIGHT = 0.5
VADER_WEIGHT = 0.8
WEAK_WEIGHT = 0.5
NOTICE_DAMPING = 0.4
# News of an incident is worded darkly ("threats", "suspicious") without a stance on the school.
REPORTING_DAMPING = 0.2
CRITICISM_AT = -0.15
PRAISE_AT = 0.3


def fired(hits: list[Hit]) -> bool:
    """A strong entry, or two different weak ones."""
    return bool(hits) and (any(not h.weak for h in hits) or len({h.text for h in hits}) >= 2)


class Reading(NamedTuple):
    """What the rules and the model found in a text, before the decision."""

    whole: str  # the title and text as read (capped, text-speak spelt out)
    low: str  # normalised (normalise.py)
    found: dict[str, list[Hit]]  # each label's or cue list's hits
    sentiment: float
    flags: list[str]
    turn: int
    abusive: float | None  # the model's probability of abusive language; None: not asked
    aimed: bool  # the model was asked: a person or a role is named, no rule fired a grave label
    grave: tuple[float, float] | None = None  # the text model's (abuse, extremism); None: not asked
    person: bool = False  # a person or a role is named


class Scorer:
    """Built once (rules compiled, VADER and the model loaded), then cheap per text.
    `[scoring] extra_*` terms join their lexicon and take the same syntax ("~" for a weak cue).
    `model`: the abusive-language model's weights (model.py), None to score by the rules alone."""

    def __init__(self, scoring: Scoring | None = None, model: AbuseModel | bool | None = True):
        scoring = scoring or Scoring()
        extra = {
            "criticism": scoring.extra_criticism,
            "praise": scoring.extra_praise,
            "abuse": scoring.extra_abuse,
            "extremism": scoring.extra_extremism,
        }
        self.registry = registry.load(extra)
        self._lexicons = Lexicons(
            (*registry.LABELS, registry.SLOT), self.registry.patterns(), self.registry.classes, (registry.SLOT,)
        )
        self._frames = Frames(self.registry)
        self._sentiment = Sentiment()
        shapes = self.registry.shapes()
        self._shapes = Shapes(self._sentiment.lexicon, self.registry.classes, {n: r.id for n, r in shapes.items()})
        self._group_rule = shapes["group_name"].id
        self._model = AbuseModel.load() if model is True else model or None
        self._grave = GraveModel.load() if model is True else None
        self._possible_rules = frozenset(r.id for r in self.registry.rules if r.possible)

    def score(self, text: str, title: str, match: MentionMatch) -> Score:
        if not match.is_mention:  # not about the school: its tone is nobody's concern (sentiment 0)
            return Score(False, OFFTOPIC, "low", 0.0)
        reading = self.read(text, title, aliases=match.aliases)
        found, low = reading.found, reading.low
        flags = reading.flags + [f"staff:{s}" for s in match.staff]
        if reading.abusive is not None:
            flags.append(f"model:abusive {reading.abusive:.2f}")
        if reading.grave is not None:
            flags.append(f"text-model:abuse {reading.grave[0]:.2f} extremism {reading.grave[1]:.2f}")
        label, why = _grave(found, low)
        severity = ""
        if label is None:
            label, severity, why = _second_look(reading, why, self._possible_rules)
        if label is None:
            label, stance_flags = _stance(low, found, reading.sentiment, reading.turn)
            why += stance_flags
        return Score(
            True,
            label,
            severity or _severity(label, match),
            reading.sentiment,
            flags=tuple(dict.fromkeys(why + flags)),
            mentions_staff=match.mentions_staff,
        )

    def read(self, text: str, title: str = "", overlaps: bool = False, aliases: tuple[str, ...] = ()) -> Reading:
        """Every rule's hits and the models' probabilities for a text (its first MAX_CHARS
        characters); `aliases`: the school's names the text holds, which the text model must not
        read."""
        whole = capped(f"{title.rstrip('.')}.\n{text}" if title else text)
        low = normalise(whole)
        words = word_set(low)
        if not words.isdisjoint(TXT_WORDS):  # text-speak: spelt out before anything reads the text
            whole = spell_out(whole)
            low = normalise(whole)
            words = word_set(low)
        sentiment, flags, turn = self._sentiment.read(whole)
        found = self._lexicons.hits(low, words, overlaps)
        for name, hits in self._frames.hits(low, found.pop(registry.SLOT), found).items():
            found[name] += hits
        for name, hits in self._shapes.hits(low, words).items():
            found[name] += hits
        if found["extremism"] and not fired(found["extremism"]):
            found["extremism"] += group_names(whole, self._group_rule)
        # The model counts only where no rule fired a grave label and a person or a role is named,
        # and can reach its thresholds only where a word leans toward abuse: it is asked only there.
        abusive, aimed, grave = None, False, None
        settled = fired(found["abuse"]) or fired(found["extremism"])
        # Whether a person or a role is named: looked for only where a model may then be asked.
        person = (
            not settled
            and (found["abuse"] or (self._model is not None and self._model.worth_asking(words)))
            and self._shapes.names_a_person(low)
        )
        if self._model is not None and person and self._model.worth_asking(words):
            aimed = True
            # The regex matches whole words only: a text has none of them when its words say so.
            abusive = self._model.probability(low if words.isdisjoint(_MILD_WORDS) else _MILD_SWEARING.sub(" ", low))
        # The text model counts only where it would confirm a weak cue (or a protected group named
        # for extremism): it is asked only there, a few texts in a hundred.
        if (
            self._grave is not None
            and not settled
            and ((person and found["abuse"]) or found["extremism"] or _named_group(found))
        ):
            grave = self._grave.probabilities(prepare(whole, aliases))
        return Reading(whole, low, found, sentiment, flags, turn, abusive, aimed, grave, person)

    def hits(self, text: str, title: str = "") -> list[Hit]:
        """Every hit of every rule in a text, overlapping ones too: for the registry's examples
        and eval_scorer --rules."""
        return [h for hits in self.read(text, title, overlaps=True).found.values() for h in hits]


def _grave(found: dict[str, list[Hit]], low: str) -> tuple[str | None, list[str]]:
    """extremism or abuse, unless the text only reports them (see the module docstring) or only
    quotes them; None and the reported hits otherwise."""
    reported = fired(found["reporting"])
    flags = []
    if found["hyperbole"] and found["abuse"]:  # "I'll kill him if he loses another jumper"
        # ... unless the violent words name a member of staff ("I'll kill that teacher").
        figures = [
            h
            for h in found["abuse"]
            if any(_same_sentence(low, h, f) for f in found["hyperbole"]) and not _STAFF.search(h.text)
        ]
        found = {**found, "abuse": [h for h in found["abuse"] if h not in figures]}
        flags += [f"hyperbole:{h.text}" for h in figures]
    if found["condemned"]:  # "telling someone to go back to their own country is racist"
        for name in ("extremism", "abuse"):
            named = [
                h
                for h in found[name]
                if any(c.start >= h.end and _same_sentence(low, h, c) for c in found["condemned"])
            ]
            found = {**found, name: [h for h in found[name] if h not in named]}
            flags += [f"condemned:{h.text}" for h in named]
    for name in ("extremism", "abuse"):
        hits = found[name]
        if not fired(hits):
            continue
        own = hits if reported else [h for h in hits if not _quoted(low, h)]
        if not reported and fired(own):
            return name, [f"{name}:{h.text}" for h in own]
        flags += [f"reported:{name}:{h.text}" for h in hits]
    return None, flags


def _same_sentence(low: str, a: Hit, b: Hit) -> bool:
    start, end = min(a.start, b.start), max(a.end, b.end)
    return not any(c in low[start:end] for c in ".!?\n")


def _quoted(low: str, hit: Hit) -> bool:
    """Words in quotation marks are someone else's: "called her a 'stupid cow'", "stickers
    reading 'Remigration now'", "whoever wrote 'hope the head dies'" quote the abuse to report or
    condemn it. The quote opens right before the hit and closes before the sentence ends, after
    the hit or within a few words after it; a quote closing inside the hit after a word or two is
    the poster's own euphemism ("'deal with' the migrant families"), not a quotation."""
    start = hit.start
    article = _ARTICLE_BEFORE.search(low, max(0, start - 5), start)  # "called her 'a fat lazy cow'"
    if article:
        start = article.start() + 1
    if start == 0 or low[start - 1] not in "'\"“" or (start > 1 and low[start - 2].isalnum()):
        return False
    close = _QUOTE_END.match(low, start)
    if not close or close.end() > hit.end + _QUOTE_SLACK:
        return False
    return close.end() >= hit.end or len(low[start : close.end()].split()) >= 3


def _second_look(reading: Reading, why: list[str], possible_rules: frozenset[str]) -> tuple[str | None, str, list[str]]:
    """Where no rule fired a grave label, the signals that may still point to one (a text that
    reports or quotes them excepted): a weak abuse cue the model confirms (abuse); a weak rule
    marked `possible`, or the model confident alone, with a person named (possible, medium)."""
    found, low = reading.found, reading.low
    if fired(found["reporting"]):
        return None, "", why
    own = {name: [h for h in found[name] if not _quoted(low, h)] for name in ("extremism", "abuse")}
    model = reading.abusive if reading.aimed and reading.abusive is not None else 0.0
    grave_abuse, grave_extremism = reading.grave or (0.0, 0.0)
    # The text model confirms a weak cue (or, for extremism, a protected group named).
    if grave_extremism >= GRAVE_CONFIRMS["extremism"] and (own["extremism"] or _named_group(found)):
        return "extremism", "high", why + [f"extremism:{h.text}" for h in own["extremism"]] + ["extremism:text-model"]
    if own["abuse"] and reading.person and grave_abuse >= GRAVE_CONFIRMS["abuse"]:
        return "abuse", "high", why + [f"abuse:{h.text}" for h in own["abuse"]] + ["abuse:text-model"]
    if own["abuse"] and model >= PROBABLE_AT:
        return "abuse", "high", why + [f"abuse:{h.text}" for h in own["abuse"]] + ["abuse:model"]
    for name in ("extremism", "abuse"):
        cues = [h for h in own[name] if h.rule in possible_rules]
        if cues:
            return name, "medium", why + ["possible"] + [f"{name}:{h.text}" for h in cues]
    if model >= POSSIBLE_AT:
        return "abuse", "medium", why + ["possible", "abuse:model"]
    return None, "", why


def _named_group(found: dict[str, list[Hit]]) -> bool:
    return any(h.rule == "target.group" for h in found["target"])


def _stance(low: str, found: dict[str, list[Hit]], sentiment: float, turn: int) -> tuple[str, list[str]]:
    """criticism, praise or neutral: VADER's compound moved by the phrases that matched."""
    hits = without_overlaps(found["criticism"] + found["praise"])
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
    rating = _rating(low)
    if rating is not None:  # a review's stars say its stance outright ("★☆☆☆☆", "4/5")
        balance += 1 if rating >= 0.8 else -1 if rating <= 0.4 else 0
        flags.append(f"rating:{rating:.1f}")
    if sarcasm:
        sentiment, balance = min(sentiment, 0.0), balance - 1
    elif fired(found["reporting"]):
        sentiment *= REPORTING_DAMPING
        flags.append("reporting:" + found["reporting"][0].text)
    elif fired(found["notice"]):
        sentiment *= NOTICE_DAMPING
        flags.append("notice:" + found["notice"][0].text)
    elif _only_questions(low) and not _CHALLENGE.search(low):  # "Is it PE tomorrow?" asks, with no stance
        sentiment *= NOTICE_DAMPING
        flags.append("questions")
    stance = VADER_WEIGHT * sentiment + PHRASE_WEIGHT * balance
    label = "criticism" if stance <= CRITICISM_AT else "praise" if stance >= PRAISE_AT else "neutral"
    return label, flags


# A question that challenges rather than asks ("Why does the school insist on ...?").
_CHALLENGE = re.compile(r"\b(?:why|how come|how can|how could|how is|how are|how dare|what's the point|who thought)\b")
# Where sentences end, their mark kept ("Is it PE? Or Thursday?").
_SENTENCE_ENDS = re.compile(r"(?<=[.!?\n])")
# A review's rating: stars drawn ("★★☆☆☆"), "4/5", "2 out of 5", "one star".
_RATING = re.compile(
    r"(?P<stars>★{1,5})(?P<empty>☆{0,4})"
    r"|(?<!year )(?<!yr)(?<!yr )(?<!y)\b(?P<n>[0-5](?:\.5)?)\s*(?:/|out of)\s*5\b"
    r"|\b(?P<ten>10|[0-9](?:\.5)?)\s*(?:/|out of)\s*10\b"
    r"|\b(?P<word>zero|no|one|two|three|four|five|[0-5])[ -]stars?\b"
)
# What a rating not drawn or named in stars holds ("4/5", "7.5 out of 10"): _RATING is searched
# only where a text has this or a star ("/" alone is in every link, and _RATING is slow to rule out).
_RATING_HINT = re.compile(r"\d\s*(?:/|out of)\s*(?:5|10)")
_STAR_WORDS = {"zero": 0, "no": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}


def _only_questions(low: str) -> bool:
    """Whether every sentence of the text is a question."""
    text = low.strip()
    return text.endswith("?") and all(p.strip().endswith("?") for p in _SENTENCE_ENDS.split(text) if p.strip())


def _rating(low: str) -> float | None:
    """A rating as a fraction of its scale (0..1), None when the text gives none."""
    if not ("★" in low or "star" in low or (("/" in low or "out of" in low) and _RATING_HINT.search(low))):
        return None
    m = _RATING.search(low)
    if not m:
        return None
    if m.group("stars"):
        return len(m.group("stars")) / 5
    if m.group("n"):
        return float(m.group("n")) / 5
    if m.group("ten"):
        return float(m.group("ten")) / 10
    word = m.group("word")
    return (_STAR_WORDS[word] if word in _STAR_WORDS else int(word)) / 5


# An article between an opening quote and the quoted words ("'a fat lazy cow'").
_ARTICLE_BEFORE = re.compile(r"['\"“](?:a|an|the) $")
# A member of staff named in a hit: a violent figure of speech about one's child spares none.
_STAFF = re.compile(
    r"\b(?:teacher|teachers|head|headteacher|deputy|senco|miss|mrs|ms|mr|sir|staff|caretaker|governor|someone|somebody)\b"
)
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
    its own ("no one answered", "still haven't") is not turned by another ("no wonder ...", "can't
    believe ...")."""
    if _NEGATED_ALREADY.search(hit.text):
        return False
    before = low[max(0, hit.start - _NEGATION_WINDOW) : hit.start]
    return bool(_NEGATION.search(before)) and not _NOT_NEGATION.search(before)


def _severity(label: str, match: MentionMatch) -> str:
    if label in ("extremism", "abuse"):
        return "high"
    if label == "criticism":
        return "high" if match.mentions_staff else "medium"
    return "low"
