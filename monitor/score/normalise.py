"""Text normalisation: the form every rule reads a text in.

- Only the first MAX_CHARS characters of an item are analysed (the whole text is still stored).
- Text-speak and spelt-down swear words ("u r a joke", "fkn") are spelt out first (`spell_out`);
  that may change the length, so it runs on the text before anything keeps an offset.
- `normalise` lower-cases, straightens apostrophes and reads masked swear words ("b***h",
  "f---ing", "tw@t", "b1tch") as the words they hide; it keeps the length, so an offset in the
  normalised text is one in the text.

Every pattern here runs in time linear in the text: a hostile item must not stall a scan.
"""

from __future__ import annotations

import re

# Characters of an item that are analysed; the rest is stored but not read (a hostile 5 MB item
# must not stall the scan). Posts longer than this are rare and say what they are about early.
MAX_CHARS = 20_000

WORD_PIECE = re.compile(r"\w+")
# The ASCII characters no word has, as spaces: an ASCII text's words are then what str.split finds
# (the same set as WORD_PIECE's, tested), faster than the regex (benchmarks/README.md).
_NOT_WORD_ASCII = str.maketrans({chr(c): " " for c in range(128) if not (chr(c).isalnum() or chr(c) == "_")})


def capped(text: str) -> str:
    """The part of a text that is analysed: its first MAX_CHARS characters."""
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS]


def word_set(low: str) -> set[str]:
    """The text's words split at apostrophes too ("don", "t"), as lexicon needles are."""
    if low.isascii():  # nearly every post
        return set(low.translate(_NOT_WORD_ASCII).split())
    return set(WORD_PIECE.findall(low))


# Swear words people mask with symbols ("b***h", "f---ing", "f***"): read as the word they hide,
# which has the same length and the same letters where letters are shown.
MASKABLE = (
    "fuck",
    "fucking",
    "fucked",
    "fucker",
    "fuckers",
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
    "wankers",
    "bastard",
    "bastards",
    "arse",
    "arsehole",
    "asshole",
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
    "tossers",
    "bellend",
    "bellends",
    "dickheads",
    "dick",
)
_MASKABLE_BY_LENGTH: dict[int, tuple[str, ...]] = {}
for _word in MASKABLE:
    _MASKABLE_BY_LENGTH[len(_word)] = (*_MASKABLE_BY_LENGTH.get(len(_word), ()), _word)
_MASK_CHARS = "*#-"
# A run of letters and mask characters: one token, matched greedily with no look-ahead to fail,
# so the scan is linear however long the run ("a****…*1" of 40,000 characters).
_MASKED = re.compile(r"[a-z*#-]+")
# Where a mask can be: a symbol beside a letter, or two dashes ("f--k"; one dash is a hyphen).
_MASK_HINT = re.compile(r"[a-z][*#]|[*#][a-z]|[a-z]--|--[a-z]")
# The same words with a symbol for a letter ("tw@t", "b1tch", "sh!t"): spelt out only when the
# word they then make is one of them, so an email address or "1st" stays as it is.
_LEET = re.compile(r"(?<![\w@!$])[a-z]+(?:[@!$0134][a-z]+)+(?![\w@!$])")
# Looked for from the symbol, which few texts have between letters ("4pm" and "1st" do not).
_LEET_HINT = re.compile(r"[@!$0134](?<=[a-z].)(?=[a-z])")
_LEET_LETTERS = str.maketrans("@!$0134", "aisoiea")


# Text-speak spelt out before anything reads the text ("u r a joke", "shud be lined up n slapped"),
# so VADER and every lexicon entry see the words they know. Only forms that are no other word.
TXT_WORDS = {
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
    # swear words spelt down rather than masked
    "fkn": "fucking",
    "fking": "fucking",
    "fkin": "fucking",
    "fckn": "fucking",
    "fcking": "fucking",
    "fckin": "fucking",
    "fuking": "fucking",
    "fukin": "fucking",
    "fuckin": "fucking",
    "fk": "fuck",
    "fck": "fuck",
    "fuk": "fuck",
    "fuq": "fuck",
    "stfu": "shut the fuck up",
    "biatch": "bitch",
    "beyatch": "bitch",
    "azz": "arse",
    "btch": "bitch",
    "cnt": "cunt",
}
# Not part of a longer token: a word, an address, a hashtag, or a masked word ("n*nces", "sh!t").
_TXT = re.compile(
    r"(?<![\w'@#&*!$])(?:%s)(?![\w'@&*]|[!$#]\w)" % "|".join(sorted(map(re.escape, TXT_WORDS), key=len, reverse=True)),
    re.IGNORECASE,
)


def spell_out(text: str) -> str:
    """The text with text-speak words spelt out (see TXT_WORDS)."""
    return _TXT.sub(lambda m: TXT_WORDS[m.group().lower()], text)


def normalise(text: str) -> str:
    """Lower case, straight apostrophes and masked swear words spelt out ("b***h", "f---ing",
    "tw@t", "b1tch"): the form lexicon entries are matched in (same length, so offsets hold)."""
    low = text.lower().replace("’", "'").replace("‘", "'")
    if ("*" in low or "#" in low or "--" in low) and _MASK_HINT.search(low):
        low = _MASKED.sub(_unmask, low)
    return _LEET.sub(_unleet, low) if _LEET_HINT.search(low) else low


def _unleet(m: re.Match[str]) -> str:
    word = m.group().translate(_LEET_LETTERS)
    return word if word in MASKABLE else m.group()


def _unmask(m: re.Match[str]) -> str:
    """A run of letters and mask characters, read as the swear word it hides: the same length,
    a letter first, at least one mask character, and the shown letters in place ("f***ing",
    "b*stard", "f--k"). A run with hyphens between words ("well-being", "--") stays as it is."""
    token = m.group()
    start, end = 0, len(token)
    while start < end and token[start] == "-":  # dashes around a word are punctuation
        start += 1
    while end > start and token[end - 1] == "-":
        end -= 1
    masked = token[start:end]
    if not masked or not masked[0].isalpha() or masked.isalpha():
        return token
    for word in _MASKABLE_BY_LENGTH.get(len(masked), ()):
        if all(c == w or (c in _MASK_CHARS and w != c) for c, w in zip(masked, word, strict=True)):
            if "-" in masked and "--" not in masked and not masked.endswith(("*", "#")):
                break  # one hyphen alone is a compound word, not a mask
            return token[:start] + word + token[end:]
    return token
