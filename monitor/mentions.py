"""Is this text about the school? Pure: config in, MentionMatch out.

The rules, in order:

1. `exclude` phrases ("Elm Park station") are blanked out first, so an alias inside one does not
   count, while a text that names both the station and the school is still a mention.
2. An alias matches as whole words in any case, tolerant of punctuation between its words and of a
   possessive: "Elm Park Primary's", "elm-park primary", "#ElmParkPrimary", "@elm_park_primary".
   An occurrence directly followed by a word that makes it another thing ("Elm Park Primary Care",
   "Elm Park School Road", "Elm Park School of Motoring") is not one.
3. An alias that is not part of the school's own name is ambiguous: "Elm Park School" may be a
   school of that name in another town, "EPPS" a conference or a pipe band. It does not count
   where it is qualified by a place the config does not know ("Elm Park School (Auckland)",
   "Elm Park School, Winchester", "Elm Park School in Limerick has..."; "Elm Park School,
   Hornchurch" is fine: a `context` word).
   An acronym also needs a context word elsewhere in the text (`[school] context`, plus words any
   school text uses: pupils, teacher, dinner ladies, Year 6, Yr6..., in the singular or the
   plural), since it may not be about a school at all; a named school is one already, so asking
   the same of "Elm Park School" would only lose short posts ("Elm Park School is a joke"). The
   school's own page or group confirms an acronym too ("the EPPS Facebook page", "EPPS parents'
   group", "EPPS on Facebook"), and so does a school role right beside it ("EPPS deputy", "the
   EPPS admin team", "the TA at EPPS"): words too common alone to confirm it anywhere in a text.
4. A `not_context` word (another town's name) vetoes every alias: the text is about the Elm Park
   School over there.
5. A member of staff named with a title or an initial ("Mrs Sale", "N Sale", "Mrs N Sale") makes
   the text a mention too; the bare surname never does ("car boot sale", "Morris dancing").

Only the first MAX_CHARS characters of a text are read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.config import School
from monitor.models import MentionMatch

TITLES = ("mr", "mrs", "ms", "miss", "mx", "dr")

# Characters of a text that are read (the whole text is still stored): a hostile 5 MB item must
# not stall a scan, and a post names its subject early.
MAX_CHARS = 20_000

# Words any text about a primary school is likely to use; they confirm an ambiguous alias
# alongside the configured `context`.
SCHOOL_CONTEXT = (
    "school",
    "primary",
    "pupil",
    "teacher",
    "teaching assistant",
    "head",
    "headteacher",
    "head teacher",
    "Ofsted",
    "class",
    "classroom",
    "reception",
    "nursery",
    "SENCO",
    "SEN",
    "EHCP",
    "playground",
    "PTA",
    "governors",
    "uniform",
    "homework",
    "term",
    "parents",
    "kids",
    "children",
    "my son",
    "my daughter",
    "school gate",
    "catchment",
    "admissions",
    "my boy",
    "my girl",
    "my lad",
    "my kid",
    "my two",
    "my child",
    "family",
    "families",
    "staff",
    "office",
    "letter",
    "newsletter",
    "policy",
    "trip",
    "club",
    "breakfast club",
    "after-school",
    "wraparound",
    "maths",
    "phonics",
    "reading",
    "SATs",
    "KS1",
    "KS2",
    "jumper",
    "governor",
    "parent",
    "parental",
    "lollipop",
    "secondary",
    "assembly",
    "nativity",
    "sports day",
    "lunch",
    "exclude",
    "excluded",
    "gate",
    # Roles and routines named without the word "school" ("the EPPS receptionist", "EPPS SLT").
    "receptionist",
    "SLT",
    "deputy head",
    "caretaker",
    "dinner lady",
    "lunchtime supervisor",
    "midday supervisor",
    "office lady",
    "school nurse",
    "site manager",
    "business manager",
    "teaching assistant",
    "governing body",
    "chair of governors",
    "academy trust",
    "inset day",
    "half term",
    "school run",
    "pick-up",
    "pick up",
    "drop-off",
    "walking bus",
    "non-uniform",
    *(f"year {n}" for n in range(1, 7)),
)

# A word right after an alias that turns it into the name of something else.
OTHER_THINGS = (
    "care",
    "surgery",
    "practice",
    "medical",
    "health",
    "dental",
    "pharmacy",
    "clinic",
    "station",
    "road",
    "rd",
    "lane",
    "avenue",
    "street",
    "close",
    "gardens",
    "crescent",
    "drive",
    "estate",
    "golf",
    "club",
    "fc",
    "afc",
    "rfc",
    "cc",
    "tennis",
    "cricket",
    "bowls",
    "hotel",
    "tavern",
    "inn",
    "cemetery",
    "ltd",
    "limited",
    "plc",
    "symposium",
    "conference",
)
_OTHER_THING = re.compile(r"[\s\-]+(?:(%s)\b|(of)\s+[A-Z])" % "|".join(OTHER_THINGS), re.IGNORECASE)

_WORDS = re.compile(r"\w+")

# The school's own page or group named right after an acronym ("the EPPS Facebook page",
# "EPPS parents' group", "EPPS PTA WhatsApp", "EPPS's page", "EPPS on Facebook"): a page about the
# school, wherever it is.
_OWN_PAGE = re.compile(
    r"[\s\-_]+(?:(?:official|own)\s+)?(?:(?:facebook|fb|insta|instagram|twitter|tiktok|whatsapp|parents'?|parent|"
    r"mums'?|dads'?|pta)\s*)+(?:page|group|account|chat|feed|forum)?\b"
    r"|(?:['’]s)?[\s\-_]+(?:page|group|account|forum)\b"
    r"|\s+on\s+(?:facebook|fb|instagram|insta|tiktok|twitter)\b",
    re.IGNORECASE,
)
# A school role right beside an acronym ("EPPS deputy", "EPPS's new TA", "the deputy at EPPS"):
# words too common to confirm it from anywhere in the text, but not beside it. "TA" keeps its case.
_ROLES = (
    r"(?i:deput(?:y|ies)(?!\s+(?:chair|mayor|director|leader|manager|editor|chief|prime|president|ceo))|admin|hltas?|lsas?|cooks?|cleaners?|(?:dinner|lunch|kitchen|office|site|support|"
    r"nursery|breakfast club)\s+(?:staff|team|ladies|lady)|lunch\s+lad(?:y|ies)|crossing\s+(?:patrol|lady|man)|"
    r"leadership(?:\s+team)?|management|head\s+of\s+year|mums|dads|mum|dad|lot|parents?|teachers?|staff)|TAs?"
)
_ROLE_AFTER = re.compile(r"(?:['’]s?)?[\s\-_]+(?:(?i:new|old|current|former|whole|so-called)\s+)?(?:%s)\b" % _ROLES)
_ROLE_BEFORE = re.compile(r"\b(?:%s)\s+(?i:at|from|of|in)\s+(?i:the\s+)?$" % _ROLES)
# Year groups as posts write them ("Yr6", "Y4", "year six"): a school's, beside any alias.
_YEAR_GROUP = re.compile(r"\b(?:y|yr|year)\s?[1-6]\b|\byear\s+(?:one|two|three|four|five|six)\b", re.IGNORECASE)

# A capitalised place right after an alias, in brackets or after a comma; or after "in" when
# the next word is not capitalised too: title-case headlines say "Elm Park School in Special
# Measures", while "Elm Park School in Limerick has..." names a town (dashes are left out:
# "... - Open Evening").
_PLACE_AFTER = re.compile(
    r"(?:\s*\(\s*|,\s*)([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)\b"
    r"|\s+in\s+([A-Z][a-z]+)(?=[\s,.;:!?)]+(?:[a-z0-9(]|$)|[.!?]?$)"
)
_NOT_A_PLACE = frozenset(
    {
        "london",
        "england",
        "britain",
        "uk",
        "east",
        "north",
        "south",
        "west",
        "the",
        "year",
        "mrs",
        "mr",
        "ms",
        "miss",
        "dr",
        "reception",
        "nursery",
        "ofsted",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "please",
        "thanks",
        "christmas",
        "easter",
        "summer",
        "spring",
        "autumn",
        "winter",
        "open",
        "sports",
        "news",
        "update",
        "closed",
        "closure",
        "special",
        "new",
        "our",
        "my",
        "we",
        "it",
        "i",
        "and",
        "but",
    }
)

# Between the words of an alias: nothing (hashtags), spaces, hyphens, underscores, dots.
_SEP = r"[\s\-_.]*"
_POSSESSIVE = r"(?:['’]s\b|s['’]|['’])?"


def alias_pattern(alias: str) -> re.Pattern:
    """Whole words, any case, punctuation-tolerant between words, optional possessive."""
    words = [re.escape(w) for w in re.split(r"[\s\-_.]+", alias.strip()) if w]
    return re.compile(_starting_a_word(_SEP.join(words)) + _POSSESSIVE + r"(?!\w)", re.IGNORECASE)


def phrase_pattern(phrase: str, ignore_case: bool = True) -> re.Pattern:
    """A word or phrase as whole words, its last word in the singular or the plural ("teachers",
    "dinner ladies", "dinner men")."""
    words = phrase.split()
    body = r"[\s\-]+".join([*(re.escape(w) for w in words[:-1]), _plural(words[-1])])
    return re.compile(_starting_a_word(body) + r"(?!\w)", re.IGNORECASE if ignore_case else 0)


def _plural(word: str) -> str:
    """A word and its plural, as a regex: -s, -es, -y/-ies, -man/-men, -fe/-ves, -child/-children."""
    low = word.lower()
    if low.endswith("y") and len(low) > 2 and low[-2] not in "aeiou":
        return re.escape(word[:-1]) + "(?:y|ies)"
    if low.endswith("man"):
        return re.escape(word[:-3]) + "m[ae]n"
    if low.endswith("fe"):
        return re.escape(word[:-2]) + "(?:fe|ves)s?"
    if low == "child":
        return re.escape(word) + "(?:ren)?"
    return re.escape(word) + ("(?:es|s)?" if low.endswith(("s", "x", "ch", "sh")) else "s?")


def _starting_a_word(body: str) -> str:
    """`body` not preceded by a letter or digit; '#' and '@' may precede it (hashtags, handles).
    The check follows the first character, so the regex starts with a literal the engine can skip
    ahead to."""
    first = 2 if body.startswith("\\") else 1
    return body[:first] + r"(?<!\w.)" + body[first:]


def is_acronym(alias: str) -> bool:
    return " " not in alias.strip() and alias.isupper() and len(alias) <= 6


def is_ambiguous(alias: str, name: str) -> bool:
    """Not part of the school's own name: 'Elm Park Primary' of 'Elm Park Primary School' is sure,
    'Elm Park School' and 'EPPS' are not."""
    return f" {_plain(alias)} " not in f" {_plain(name)} "


def _plain(text: str) -> str:
    return " ".join(re.split(r"[\s\-_.]+", text.strip().lower()))


def _elsewhere(text: str, m: re.Match, known: set[str]) -> str:
    """The place qualifying an alias occurrence ("Elm Park School (Auckland)", "..., Winnipeg"),
    unless the config knows the word (context, aliases, staff) or it is too wide to tell."""
    place = _PLACE_AFTER.match(text, m.end())
    if not place:
        return ""
    name = place.group(1) or place.group(2)
    words = name.lower().split()
    return "" if any(w in known or w in _NOT_A_PLACE for w in words) else name


def staff_patterns(name: str) -> list[re.Pattern]:
    """'Mrs N Sale' -> patterns for 'Mrs Sale', 'Mrs N Sale', 'Miss N. Sale' (any title, any case)
    and 'N Sale' (exact case: a lone initial is too weak to match lower-case text)."""
    words = name.replace(".", " ").split()
    if words and words[0].lower() in TITLES:
        words = words[1:]
    initials = [w for w in words if len(w) == 1]
    surname = " ".join(w for w in words if len(w) > 1)
    if not surname:
        return []
    surname_rx = r"[\s\-]+".join(re.escape(w) for w in surname.split()) + _POSSESSIVE + r"(?!\w)"
    initials_rx = r"(?:[A-Z]\.?\s+)*" if not initials else r"(?:%s\.?\s+)?" % "|".join(initials)
    titled = re.compile(r"(?<!\w)(?i:%s)\.?\s+%s(?i:%s)" % ("|".join(TITLES), initials_rx, surname_rx))
    out = [titled]
    if initials:
        out.append(re.compile(r"(?<![\w.])%s\.?\s+%s" % ("|".join(initials), surname_rx)))
    return out


def needle(phrase: str) -> str:
    """The longest word of a phrase, lower case: text without it cannot match, and `in` on a
    string is far cheaper than a regex search."""
    return max(reversed(re.split(r"[\s\-_.]+", phrase.strip().lower())), key=len)


@dataclass(frozen=True)
class _Phrase:
    name: str
    needle: str
    patterns: tuple[re.Pattern, ...]

    def search(self, text: str, low: str) -> bool:
        return self.needle in low and any(rx.search(text) for rx in self.patterns)


class MentionFinder:
    """Built once per school (patterns compiled), then cheap per text."""

    def __init__(self, school: School):
        self.school = school
        self._aliases = [
            (_Phrase(a, needle(a), (alias_pattern(a),)), is_ambiguous(a, school.name)) for a in school.aliases
        ]
        self._acronyms = {a for a in school.aliases if is_acronym(a)}
        # Words that place a text here: a qualifier made of them is no other town.
        self._known = {
            w.lower()
            for phrase in (*school.context, *SCHOOL_CONTEXT, *school.aliases, school.name, *school.staff)
            for w in _WORDS.findall(phrase)
        }
        self._exclude = [_Phrase(e, needle(e), (alias_pattern(e),)) for e in school.exclude]
        # Context phrases are looked up by their first word (and its plural) among the text's words.
        self._context: dict[str, list[_Phrase]] = {}
        for c in (*school.context, *SCHOOL_CONTEXT):
            first = _WORDS.findall(c.lower())[0]
            phrase = _Phrase(c, first, (phrase_pattern(c),))
            # Looked up by the first word as the text has it: a one-word phrase may be plural.
            keys = {first} if len(c.split()) > 1 else {first, *_inflections(first)}
            for key in keys:
                self._context.setdefault(key, []).append(phrase)
        # Place names are proper nouns: "Reading" the town, not "reading" the subject.
        self._not_context = [
            _Phrase(n, needle(n), (phrase_pattern(n, ignore_case=not n[:1].isupper()),)) for n in school.not_context
        ]
        self._staff = [_Phrase(s, needle(s.split()[-1]), tuple(staff_patterns(s))) for s in school.staff]

    def find(self, text: str, title: str = "", all_mentions: bool = False) -> MentionMatch:
        whole = f"{title}\n{text}" if title else text
        whole = whole[:MAX_CHARS]
        low = whole.lower()
        excluded = tuple(f"excluded:{e.name}" for e in self._exclude if e.search(whole, low))
        if excluded:
            whole = self._blank_exclusions(whole)
            low = whole.lower()
        others = tuple(f"not_context:{n.name}" for n in self._not_context if n.search(whole, low))
        if others:
            return MentionMatch(False, reasons=excluded + others)
        staff = tuple(s.name for s in self._staff if s.search(whole, low))
        aliases, reasons = self._aliases_in(whole, low)
        reasons = excluded + reasons + tuple(f"staff:{s}" for s in staff)
        if aliases or staff:
            return MentionMatch(True, aliases=aliases, staff=staff, reasons=reasons)
        if all_mentions and not excluded:
            return MentionMatch(True, reasons=reasons + ("all_mentions",))
        return MentionMatch(False, reasons=reasons)

    def _blank_exclusions(self, text: str) -> str:
        """The text with each excluded phrase replaced by as many spaces (offsets stay valid)."""
        for phrase in self._exclude:
            text = phrase.patterns[0].sub(lambda m: " " * len(m.group()), text)
        return text

    def _aliases_in(self, text: str, low: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The aliases that count, and the reasons (alias, context, or why one did not count)."""
        found, reasons, context = [], [], None
        for phrase, ambiguous in self._aliases:
            alias = phrase.name
            hits = list(phrase.patterns[0].finditer(text)) if phrase.needle in low else []
            if not hits:
                continue
            if all(_names_other_thing(text, m) for m in hits):
                reasons.append(f"other_name:{alias}")
                continue
            if ambiguous:
                places = [_elsewhere(text, m, self._known) for m in hits]
                if all(places):
                    reasons.append(f"elsewhere:{places[0]}")
                    continue
            if alias in self._acronyms:
                if any(_OWN_PAGE.match(text, m.end()) for m in hits):
                    reasons += ["context:own page", f"alias:{alias}"]
                    found.append(alias)
                    continue
                context = self._context_word(self._blank_aliases(text)) if context is None else context
                if not context and any(
                    _ROLE_AFTER.match(text, m.end()) or _ROLE_BEFORE.search(text, 0, m.start()) for m in hits
                ):
                    context = "role beside it"
                if not context:
                    reasons.append(f"no_context:{alias}")
                    continue
                reasons.append(f"context:{context}")
            found.append(alias)
            reasons.append(f"alias:{alias}")
        return tuple(found), tuple(dict.fromkeys(reasons))

    def _blank_aliases(self, text: str) -> str:
        """So that the 'School' of 'Elm Park School' is no context for itself."""
        for phrase, _ in self._aliases:
            text = phrase.patterns[0].sub(lambda m: " " * len(m.group()), text)
        return text

    def _context_word(self, text: str) -> str:
        """The first context phrase in the text, looked up by the words the text has."""
        for word in _WORDS.findall(text.lower()):
            for phrase in self._context.get(word, ()):
                if phrase.patterns[0].search(text):
                    return phrase.name
        year = _YEAR_GROUP.search(text)
        return year.group() if year else ""


def _inflections(word: str) -> list[str]:
    """The plural forms a context word's first word may take in a text ("lady" -> "ladies")."""
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        return [word[:-1] + "ies"]
    if word.endswith("man"):
        return [word[:-3] + "men"]
    if word.endswith("fe"):
        return [word[:-2] + "ves"]
    if word == "child":
        return ["children"]
    return [word + "s", word + "es"]


def _names_other_thing(text: str, m: re.Match) -> bool:
    """'Elm Park Primary Care', 'Elm Park School Road': the alias is part of another name. The next
    word must be capitalised like the alias (or all in lower case) to count as part of a name."""
    nxt = _OTHER_THING.match(text, m.end())
    if not nxt:
        return False
    if nxt.group(2):  # "School of Motoring"
        return True
    return nxt.group(1)[0].isupper() or not m.group().lstrip("@#")[0].isupper()
