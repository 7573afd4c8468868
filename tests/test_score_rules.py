"""The rule registry: every rule's examples, the registry's own checks, and the seams that keep
the scorer fast (each tested to be taken, so none can silently stop working)."""

from __future__ import annotations

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from monitor.score import Scorer, lexicon, rules
from monitor.score.lexicon import parse_classes

REGISTRY = rules.load()
WITH_EXAMPLES = [r for r in REGISTRY.rules if r.must or r.must_not]


@pytest.fixture(scope="module")
def scorer():
    return Scorer(model=None)


@pytest.mark.parametrize("rule", WITH_EXAMPLES, ids=[r.id for r in WITH_EXAMPLES])
def test_every_rule_matches_its_examples_and_only_them(scorer, rule):
    for text in rule.must:
        assert rule.id in {h.rule for h in scorer.hits(text)}, f"{rule.id} should match: {text}"
    for text in rule.must_not:
        assert rule.id not in {h.rule for h in scorer.hits(text)}, f"{rule.id} should not match: {text}"


def test_every_shape_in_code_is_a_registry_rule_with_examples():
    shapes = REGISTRY.shapes()
    for name in (
        "insult_said_of_person",
        "insult_addressed",
        "insult_before_person",
        "harm_wished",
        "violence_deserved",
        "group_as_vermin",
        "group_removal",
        "vermin_words",
        "group_dehumanised",
        "attacker_praised",
        "attack_glorified",
        "echo_brackets",
        "group_name",
    ):
        assert shapes[name].must and shapes[name].must_not


def test_rule_ids_are_unique_and_hits_carry_them(scorer):
    ids = [r.id for r in REGISTRY.rules]
    assert len(ids) == len(set(ids))
    hits = scorer.hits("Elm Park Primary's head is a total moron.")
    assert hits and all(h.rule in set(ids) for h in hits)


def test_the_registry_refuses_a_broken_rule():
    broken = rules.Registry((rules.Rule("x", "abuse", "strong", "@no_such_class"),), REGISTRY.classes)
    with pytest.raises(ValueError, match="no word class"):
        rules.check(broken)
    twice = rules.Registry((rules.Rule("x", "abuse", "strong", "a"), rules.Rule("x", "abuse", "strong", "b")), {})
    with pytest.raises(ValueError, match="twice"):
        rules.check(twice)
    with pytest.raises(ValueError, match="label"):
        rules.check(rules.Registry((rules.Rule("x", "rude", "strong", "a"),), {}))


def test_config_extras_are_rules_with_ids():
    registry = rules.load({"abuse": ("~ pineapple pizza",)})
    (extra,) = [r for r in registry.rules if r.source == "config"]
    assert extra.id == "config.abuse.1" and extra.weak


def test_word_classes_are_defined_once_and_hold_each_word_once():
    lines = rules.read_lexicon("classes.txt")
    names = [line.split("=")[0].strip() for line in lines if line.startswith("@")]
    assert len(names) == len(set(names))
    for words in parse_classes(lines).values():
        assert len(words) == len(set(words))
    with pytest.raises(ValueError, match="twice"):
        parse_classes(["@a = x", "@a = y"])
    assert parse_classes(["@a = x/@b", "@b = y/x"]) == {"a": ["x", "y"], "b": ["y", "x"]}


def test_no_lexicon_file_defines_its_own_classes():
    for label in rules.LABELS:
        assert not [line for line in rules.read_lexicon(f"{label}.txt") if line.startswith("@") and "=" in line]


def test_clause_end_token():
    registry = rules.Registry((rules.Rule("t", "abuse", "strong", "you will be sorry $"),), {})
    lex = lexicon.Lexicons(rules.LABELS, registry.patterns(), {})
    assert lex.hits("you will be sorry.")["abuse"]
    assert lex.hits("you will be sorry")["abuse"]
    assert not lex.hits("you will be sorry to hear it")["abuse"]


# ---- The seams that keep the scorer fast: each must still be taken ----


def test_entries_compile_only_when_a_text_starts_them():
    scorer = Scorer(model=None)
    lexicons = scorer._lexicons
    assert lexicon.LAZY and lexicons.compiled() == 0
    scorer.score("Elm Park Primary's head is a total moron.", "", _mention())
    assert 0 < lexicons.compiled() < len(REGISTRY.patterns()) // 4


def test_fast_vader_skips_the_emoji_pass_on_text_without_emoji(monkeypatch):
    from monitor.score.vader import FastVader

    vader = FastVader()
    own = SentimentIntensityAnalyzer.polarity_scores
    emoji_passes = []

    def counted(self, text):
        emoji_passes.append(text)
        return own(self, text)

    monkeypatch.setattr(SentimentIntensityAnalyzer, "polarity_scores", counted)
    assert vader.polarity_scores("The staff are lovely but the office is useless.")["compound"] != 0
    assert vader.polarity_scores("The staff are lovely – but the £5 trip is a “joke”.")["compound"] != 0
    assert not emoji_passes
    assert vader.polarity_scores("The staff are lovely 😍")["compound"] > 0  # VADER reads the emoji's words
    assert len(emoji_passes) == 1


def test_fast_vader_reads_only_the_words_of_its_lexicon_and_never_with_vaders_own_walk(monkeypatch):
    from monitor.score.vader import FastVader

    text = "The staff are not lovely and the office is kind of useless."
    expected = SentimentIntensityAnalyzer().polarity_scores(text)
    vader = FastVader()

    def refuse(*args):
        raise AssertionError("VADER's own walk ran on a text without emoji")

    monkeypatch.setattr(SentimentIntensityAnalyzer, "sentiment_valence", refuse)
    monkeypatch.setattr(SentimentIntensityAnalyzer, "_special_idioms_check", staticmethod(refuse))
    own, read = FastVader._valence, []

    def counted(self, words, lows, i, is_cap_diff):
        read.append(words[i])
        return own(self, words, lows, i, is_cap_diff)

    monkeypatch.setattr(FastVader, "_valence", counted)
    assert vader.polarity_scores(text) == expected
    assert read == ["lovely", "useless"]


def test_sentences_without_a_sentiment_word_are_not_walked():
    from monitor.score.vader import Sentiment

    sentiment = Sentiment()
    sentiment.read("The fete is on Saturday. Gates open at ten. Parking on Elm Road.")
    sentiment.read("Tickets £5 – gates open at ten.")  # not ASCII, but no emoji
    assert sentiment.full_walks == 0
    sentiment.read("The fete is on Saturday. It was lovely last year.")
    assert sentiment.full_walks == 1


def _mention():
    from monitor.models import MentionMatch

    return MentionMatch(True, aliases=("Elm Park Primary",), reasons=("alias:Elm Park Primary",))


def test_no_entry_looked_for_anywhere_runs_on_every_text():
    """An entry whose first word starts with a symbol ("'ll", "'d better") is looked for with a
    regex over the whole text wherever its needle is: a needle most texts hold ("d", "will")
    made such an entry run on every text."""
    scorer = Scorer(model=None)
    lexicons = scorer._lexicons
    for i in lexicons._anywhere_ascii:
        needles = lexicons._entries[i][3]
        assert all(len(n) > 3 and n not in lexicon._COMMON for n in needles), lexicons._entries[i][4]


def test_sentence_ends_are_found_as_the_plain_regex_finds_them():
    """vader._SENTENCE_END starts with the space it matches, so that the regex engine skips to
    spaces; it must find what `(?<=[.!?…])\\s+|\\n+` finds, span for span."""
    import json
    import re
    from pathlib import Path

    from monitor.score.vader import _SENTENCE_END

    plain = re.compile(r"(?<=[.!?…])\s+|\n+")
    texts = [
        json.loads(line)["text"]
        for path in sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    texts += [
        "a.  \n\n b",
        "a\n\n\nb",
        "a. \t\nb",
        "a\n .b",
        "end!\u00a0next",
        "x…\ny",
        "a\r\nb",
        "",
        "\n",
        ". ",
        "a .b",
    ]
    for text in texts:
        assert [m.span() for m in _SENTENCE_END.finditer(text)] == [m.span() for m in plain.finditer(text)], text


def test_mild_swearing_is_taken_out_only_of_texts_with_a_mild_word(monkeypatch):
    from monitor.score import decide

    scorer = Scorer()
    real, subs = decide._MILD_SWEARING, []

    class Counting:
        def sub(self, repl, text):
            subs.append(text)
            return real.sub(repl, text)

    monkeypatch.setattr(decide, "_MILD_SWEARING", Counting())
    plain = scorer.read("The teachers are dumb about the parking rules.")
    assert plain.abusive is not None and not subs
    sworn = scorer.read("The teachers are dumb about the bloody parking rules.")
    assert len(subs) == 1 and sworn.abusive == plain.abusive  # the model read neither swear word


def test_word_set_of_an_ascii_text_is_split_without_the_regex(monkeypatch):
    import importlib
    import json
    from pathlib import Path

    normalise = importlib.import_module("monitor.score.normalise")  # the package exports a function of that name
    texts = [
        json.loads(line)["text"].lower()
        for path in sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    texts += ["don't-stop_me now!!", "a\x1cb\x1fc\td", "tab\tnew\nline\r\n", "", "   ", "snake_case 3rd 4/5"]
    assert any(t.isascii() for t in texts) and any(not t.isascii() for t in texts)
    for text in texts:
        assert normalise.word_set(text) == set(normalise.WORD_PIECE.findall(text)), text

    class Refuse:
        def findall(self, text):
            raise AssertionError("the regex split an ASCII text")

    monkeypatch.setattr(normalise, "WORD_PIECE", Refuse())
    assert normalise.word_set("the head's car, again") == {"the", "head", "s", "car", "again"}


def test_a_rating_is_searched_for_only_where_a_text_may_hold_one(monkeypatch):
    from monitor.score import decide

    real, searched = decide._RATING, []

    class Counting:
        def search(self, text):
            searched.append(text)
            return real.search(text)

    monkeypatch.setattr(decide, "_RATING", Counting())
    assert decide._rating("see https://elmpark.example/news/2024/term-dates and 12/03") is None
    assert not searched  # links and dates hold "/", but no "N/5" nor "N/10"
    ratings = ["4/5 would recommend", "7.5 out of 10", "★★☆☆☆", "two stars", "3 / 5"]
    assert [decide._rating(text) for text in ratings] == [0.8, 0.75, 0.4, 0.4, 0.6]
