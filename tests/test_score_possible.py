"""The second look (issue 14, parts 2, 3 and 7): threats by structure, the model confirming a weak
cue, 'possible' abuse at medium severity, and the everyday posts that must raise no alarm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.models import MentionMatch
from monitor.score import Scorer

REPO = Path(__file__).resolve().parents[1]
SCHOOL = MentionMatch(True, aliases=("Elm Park Primary",), reasons=("alias:Elm Park Primary",))


@pytest.fixture(scope="module")
def scorer():
    return Scorer()


def score(scorer, text):
    return scorer.score(text, "", SCHOOL)


@pytest.mark.parametrize(
    "text",
    [
        "You'll be sorry, Mrs Woods. Elm Park Primary can't protect you forever.",
        "Event at the Elm Park Primary head's house Saturday night. Bring eggs. Bring friends.",
        "Elm Park Primary head: sleep well tonight. While you still can.",
    ],
)
def test_a_threat_shape_of_low_confidence_is_possible_abuse_at_medium(scorer, text):
    result = score(scorer, text)
    assert (result.label, result.severity) == ("abuse", "medium")
    assert "possible" in result.flags


def test_a_persons_private_words_handed_to_a_crowd_is_abuse_at_high(scorer):
    """A person's emails, screenshotted, a member of staff named: the harassment frame, not a
    threat of low confidence (it was 'possible' before frames read the parts together)."""
    result = score(
        scorer, "Got screenshots of all her emails, Elm Park Primary head. They're going everywhere tonight."
    )
    assert (result.label, result.severity) == ("abuse", "high") and "possible" not in result.flags


def test_the_model_alone_confident_with_a_person_named_is_possible_abuse(scorer):
    result = score(scorer, "The head at Elm Park Primary is useless and the office is pathetic.")
    assert (result.label, result.severity) == ("abuse", "medium")
    assert "possible" in result.flags and "abuse:model" in result.flags
    assert any(f.startswith("model:abusive 0.9") for f in result.flags)


def test_the_model_is_not_asked_without_a_person_or_when_a_rule_fired(scorer):
    assert not any(f.startswith("model:") for f in score(scorer, "Elm Park Primary's lunches are pathetic.").flags)
    fired = score(scorer, "The Elm Park Primary head is a total moron.")
    assert fired.label == "abuse" and fired.severity == "high"
    assert not any(f.startswith("model:") for f in fired.flags)


def test_swearing_at_a_thing_is_not_read_by_the_model(scorer):
    result = score(scorer, "What a load of crap from Elm Park Primary, the head should resign.")
    assert result.label == "criticism"


def test_a_report_of_a_threat_is_no_second_look(scorer):
    text = "Police are investigating after a parent told an Elm Park Primary teacher 'you'll be sorry'."
    assert score(scorer, text).label not in ("abuse", "extremism")


def test_the_rules_alone_never_say_possible_for_a_strong_rule(scorer):
    result = score(scorer, "Someone should burn the school down with the Elm Park Primary head inside.")
    assert (result.label, result.severity) == ("abuse", "high") and "possible" not in result.flags


@pytest.mark.parametrize(
    "text, label",
    [
        ("Next time I won't miss. Tell the Elm Park Primary head that.", "abuse"),
        ("Keep sharing this until she's sacked, the Elm Park Primary receptionist.", "abuse"),
        ("Look at the state of her face, that EPPS teacher. Follow her home and see for yourselves.", "abuse"),
        ("The f---ing Elm Park Primary office staff are f***ing b*stards the lot of them.", "abuse"),
        ("Elm Park Primary teachers are fat and lazy, every single one of them.", "abuse"),
        ("Muslims are taking over Elm Park Primary, one governor at a time.", "extremism"),
        ("Foreign teachers at Elm Park Primary should go and teach in their own countries.", "extremism"),
        ("Elm Park Primary's trans lessons are grooming our kids, plain and simple.", "extremism"),
        ("Hitler had some good ideas, and Elm Park Primary will never teach you that.", "extremism"),
        (
            "Elm Park Primary is helping erase British identity. Come to the meeting Thursday to fight back.",
            "extremism",
        ),
    ],
)
def test_threats_campaigns_masks_and_hate_as_opinion(scorer, text, label):
    assert score(scorer, text).label == label


@pytest.mark.parametrize(
    "text",
    [
        "I'll kill him if he loses another jumper at Elm Park Primary, that's three this term!",
        "Don't miss the Elm Park Primary summer fair, you'll regret it if you do!",
        "Next time we won't miss the Elm Park Primary open day, heard it was brilliant.",
        "Elm Park Primary online safety evening: how to spot grooming and keep children safe online.",
        "Elm Park Primary parents: someone is going to get hurt in that car park one day, please slow down.",
        "Halloween disco at Elm Park Primary on Friday! Come as your scariest zombie, witches and ghouls welcome.",
        "Year 6 at Elm Park Primary studied why Hitler's ideas led to war and the Holocaust.",
        "Elm Park Primary multicultural day: families brought food from their own countries, it was brilliant.",
        "The Elm Park Primary PTA is taking over the summer fair this year, volunteers needed.",
        "Really upset to read someone called a Elm Park Primary teacher a vile name online. Be kind, people.",
        "Police are investigating threats made against a teacher at Elm Park Primary School, the Romford Recorder reports.",
        "Look at her face! My daughter's Elm Park Primary school photo is so cute.",
        "Please share this until we find the owner: a blue scooter left at the Elm Park Primary gate.",
        "Elm Park Primary football lads battered St Mary's 6-0 on Saturday. What a team.",
    ],
)
def test_everyday_posts_raise_no_alarm(scorer, text):
    assert score(scorer, text).label not in ("abuse", "extremism")


def test_our_everyday_probes_raise_at_most_two_alarms(scorer):
    """benchmarks/probes_everyday.jsonl: 80 everyday school posts we wrote to share words with
    threats (so harder than real ones); the issue allows 2 of 80 raised to abuse or extremism."""
    rows = [json.loads(line) for line in (REPO / "benchmarks/probes_everyday.jsonl").read_text().splitlines()]
    assert len(rows) == 80
    raised = [r["id"] for r in rows if score(scorer, r["text"]).label in ("abuse", "extremism")]
    assert len(raised) <= 2, raised
