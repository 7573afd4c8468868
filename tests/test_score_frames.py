"""Frames (rules whose parts may stand apart), the registry's new forms, and the cue lists of the
second round: condemnation, quotes with an article, hyperbole that names staff."""

from __future__ import annotations

import pytest

from monitor.models import MentionMatch
from monitor.score import Scorer, lexicon, rules
from monitor.score.frames import Frames
from monitor.score.lexicon import Lexicons

SCHOOL = MentionMatch(True, aliases=("Elm Park Primary",), reasons=("alias:Elm Park Primary",))


@pytest.fixture(scope="module")
def scorer():
    return Scorer(model=None)


def _registry(*records: rules.Rule) -> rules.Registry:
    return rules.Registry(records, {"pet": ["cat", "dog"]})


def _frame_hits(registry: rules.Registry, text: str) -> list[str]:
    lex = Lexicons((*rules.LABELS, rules.SLOT), registry.patterns(), registry.classes, (rules.SLOT,))
    found = lex.hits(text)
    return [h.rule for hits in Frames(registry).hits(text, found.pop(rules.SLOT), found).values() for h in hits]


def test_a_frame_hits_when_every_slot_matched_in_its_scope():
    sentence = rules.Rule("f.s", "abuse", "strong", "frame", slots=(("red car",), ("@pet",)), scope="sentence")
    post = rules.Rule("f.p", "abuse", "strong", "frame", slots=(("red car",), ("@pet",)), scope="post")
    registry = _registry(sentence, post)
    assert sorted(_frame_hits(registry, "the dog sat in the red car")) == ["f.p", "f.s"]
    assert _frame_hits(registry, "the dog sat. the red car went.") == ["f.p"]
    assert _frame_hits(registry, "the red car went") == []


def test_a_slot_may_be_filled_by_another_rules_own_hits():
    cue = rules.Rule("cue.pet", "target", "strong", "@pet")
    frame = rules.Rule("f.r", "abuse", "strong", "frame", slots=(("rule:cue.pet",), ("red car",)))
    registry = _registry(cue, frame)
    assert _frame_hits(registry, "a cat and a red car") == ["f.r"]
    assert [r.id for r in registry.patterns() if r.id.startswith("f.r")] == ["f.r#1"]  # the cue is not copied


@pytest.mark.parametrize(
    "record, message",
    [
        (rules.Rule("x", "abuse", "strong", "frame", slots=(("a",),)), "two slots"),
        (rules.Rule("x", "abuse", "strong", "a", slots=(("a",), ("b",))), "belong to a frame"),
        (rules.Rule("x", "abuse", "strong", "frame", slots=(("a",), ("rule:nothing",))), "names no rule"),
        (rules.Rule("x", "abuse", "strong", "(a (b/c))"), "parentheses inside"),
        (rules.Rule("x", "abuse", "strong", "frame", slots=(("a",), ("b",)), scope="page"), "scope"),
    ],
)
def test_the_registry_refuses_a_frame_that_cannot_work(record, message):
    with pytest.raises(ValueError, match=message):
        rules.check(_registry(record))


def test_a_rule_may_list_several_entries_and_name_a_class_inside_parentheses():
    rule = rules.Rule("x", "abuse", "strong", "(my/@pet) ran", also=("the _? red car",))
    registry = _registry(rule)
    lex = Lexicons(rules.LABELS, registry.patterns(), registry.classes)
    assert [h.text for h in lex.hits("the cat ran")["abuse"]] == ["cat ran"]
    assert [h.text for h in lex.hits("the big red car")["abuse"]] == ["the big red car"]
    assert [h.text for h in lex.hits("the red car")["abuse"]] == ["the red car"]


def test_a_slot_entry_is_not_tried_where_its_frames_other_slots_cannot_match():
    """The seam that keeps frames cheap: an entry carries the words its frame's other slots need."""
    scorer = Scorer(model=None)
    exposure = [e for e in scorer._lexicons._entries if e[4] == "harass.exposure#0"]
    scorer.score("Her car broke down on the way to Elm Park Primary, so the trip was late.", "", SCHOOL)
    assert exposure and not any(e[1].is_compiled() for e in exposure if isinstance(e[1], lexicon._LazyRegex))


@pytest.mark.parametrize(
    "text",
    [
        "Our Elm Park Primary anti-racism week: children learned that telling someone to go back to their own "
        "country is racist and hurtful.",
        "Someone on here called an Elm Park Primary TA 'a fat lazy cow'. Grow up. She's lovely and works so hard.",
        "If my son comes home from Elm Park Primary without his coat one more time I swear I'll kill him.",
    ],
)
def test_abuse_condemned_quoted_or_a_figure_of_speech_raises_no_alarm(scorer, text):
    assert scorer.score(text, "", SCHOOL).label not in ("abuse", "extremism")


@pytest.mark.parametrize(
    "text",
    [
        "The deputy at Elm Park Primary is racist and should be shot.",
        "If my daughter comes home crying one more time I'm going to Elm Park Primary and someone is getting hurt.",
    ],
)
def test_a_condemnation_before_the_threat_or_a_threat_at_someone_else_stays_abuse(scorer, text):
    assert scorer.score(text, "", SCHOOL).label == "abuse"
