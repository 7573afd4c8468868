"""The grave-label text model (grave.py): scored in plain Python as scikit-learn scores it, shipped
as benchmarks/train_grave_model.py makes it today, and asked only where it can count."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from monitor.models import MentionMatch
from monitor.score import Scorer
from monitor.score.grave import GraveModel, prepare

REPO = Path(__file__).resolve().parents[1]
SCHOOL = MentionMatch(True, aliases=("Elm Park Primary",), reasons=("alias:Elm Park Primary",))


def _trainer():
    spec = importlib.util.spec_from_file_location("train_grave_model", REPO / "benchmarks/train_grave_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_model_is_what_the_script_makes_from_todays_sets_and_scores_as_sklearn_does():
    pytest.importorskip("sklearn", reason="scikit-learn (the test extra) is not installed: nothing to compare with")
    trainer = _trainer()
    rows = [r for rs in trainer.training_sets().values() for r in rs]
    vectorizer, models = trainer.fit(rows)
    shipped = GraveModel.load()
    fresh = trainer.export(vectorizer, models)
    assert len(shipped.index) == len(fresh["vocabulary"]), "retrain: benchmarks/train_grave_model.py"
    texts = [trainer.text_of(r) for r in rows[::7]] + ["", "a", "Mrs Sale will regret this"]
    x = vectorizer.transform(texts)
    theirs = zip(models["abuse"].predict_proba(x)[:, 1], models["extremism"].predict_proba(x)[:, 1], strict=True)
    ours = map(shipped.probabilities, texts)
    worst = max(max(abs(a - p), abs(e - q)) for (a, e), (p, q) in zip(ours, theirs, strict=True))
    assert worst < 1e-6


def test_no_measuring_set_is_trained_on():
    names = set(_trainer().training_sets())
    assert names and not any(
        n.startswith(("heldout_blind7", "heldout_blind8", "heldout_blind9", "heldout_blind10", "falsealarm"))
        for n in names
    )


def test_the_schools_names_are_blanked_and_titled_names_made_one():
    text = prepare("Elm Park Primary's head and Mrs Sale at elm-park primary", ["Elm Park Primary"])
    assert "elm" not in text.lower() and "Mrs staffname" in text and "Sale" not in text


@pytest.fixture(scope="module")
def scorer():
    return Scorer()


def test_the_text_model_is_not_asked_when_a_rule_fired_or_nothing_is_named(scorer):
    fired = scorer.score("The Elm Park Primary head is a total moron.", "", SCHOOL)
    assert fired.label == "abuse" and not any(f.startswith("text-model:") for f in fired.flags)
    plain = scorer.score("Elm Park Primary will close at 1.30pm on Friday for the holidays.", "", SCHOOL)
    assert not any(f.startswith("text-model:") for f in plain.flags)


def test_the_text_model_confirms_a_weak_cue_and_is_never_enough_alone():
    class Sure:
        def probabilities(self, text):
            return (0.95, 0.0)

    scorer = Scorer(model=None)
    scorer._grave = Sure()
    cue = scorer.score("Mark my words, that Elm Park Primary teacher.", "", SCHOOL)
    assert (cue.label, cue.severity) == ("abuse", "high") and "abuse:text-model" in cue.flags
    alone = scorer.score("The Elm Park Primary head is a flibbertigibbet.", "", SCHOOL)
    assert alone.label != "abuse"
    reported = scorer.score(
        "Police said a man told an Elm Park Primary teacher he had nothing left to lose.", "", SCHOOL
    )
    assert reported.label != "abuse"  # a report is no second look


def test_the_text_model_confirms_a_group_named_as_extremism():
    class Sure:
        def probabilities(self, text):
            return (0.0, 0.75)

    scorer = Scorer(model=None)
    scorer._grave = Sure()
    named = scorer.score(
        "Elm Park Primary is getting more Romanian kids every term. When is enough enough?", "", SCHOOL
    )
    assert (named.label, named.severity) == ("extremism", "high") and "extremism:text-model" in named.flags
    unnamed = scorer.score("Elm Park Primary is getting more pupils every term. When is enough enough?", "", SCHOOL)
    assert unnamed.label != "extremism"
