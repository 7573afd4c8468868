"""Hostile input: the scorer reads a capped prefix, and its patterns are linear (issue 17).
No timed tests: these assert what is read and how much work is done; speed is in benchmarks."""

from __future__ import annotations

import importlib
import random

import pytest

from monitor.models import MentionMatch
from monitor.score import MAX_CHARS, Scorer, normalise
from monitor.score.vader import Sentiment

normalise_module = importlib.import_module("monitor.score.normalise")
SCHOOL = MentionMatch(True, aliases=("Elm Park Primary",), reasons=("alias:Elm Park Primary",))


@pytest.fixture(scope="module")
def scorer():
    return Scorer()


def test_a_huge_text_is_read_only_up_to_the_cap(scorer):
    threat = " Someone should burn the school down with the head inside."
    hostile = "Elm Park Primary news. " + "a" * 5_000_000 + threat
    reading = scorer.read(hostile)
    assert len(reading.whole) == MAX_CHARS
    assert scorer.score(hostile, "", SCHOOL).label not in ("abuse", "extremism")  # the threat is past the cap
    assert scorer.score(threat, "", SCHOOL).label == "abuse"


def test_a_long_masked_run_is_one_token_read_once(monkeypatch):
    calls = []
    real = normalise_module._unmask

    def counting(m):
        calls.append(m.group())
        return real(m)

    monkeypatch.setattr(normalise_module, "_unmask", counting)
    text = "a" + "*" * 40_000 + "1 and b***h"
    assert normalise(text) == "a" + "*" * 40_000 + "1 and bitch"
    assert len(calls) == 3  # the run, "and", "b***h": one callback per token, no rescans


@pytest.mark.parametrize(
    "masked, plain",
    [("f---ing", "fucking"), ("f***", "fuck"), ("b*stard", "bastard"), ("F**KING", "fucking"), ("c#nt", "cunt")],
)
def test_masks_of_any_symbol_read_as_the_word(masked, plain):
    assert normalise(f"you {masked} idiot") == f"you {plain} idiot"


@pytest.mark.parametrize("text", ["well-being -- and co-op", "#EPPS rocks", "5*** hotel", "x--y"])
def test_hyphens_hashtags_and_stars_that_mask_nothing_stay(text):
    assert normalise(text) == text.lower()


def _reference_weights(opens: list[bool]) -> list[float]:
    """The weights as they were computed before: each contrast rebuilt the list."""
    weights = [1.0] * len(opens)
    for i, opening in enumerate(opens):
        if i and opening:
            weights = [w * 0.5 for w in weights[:i]] + [1.5] * (len(opens) - i)
    return weights


def test_contrast_weights_in_one_pass_equal_the_old_rebuilt_ones():
    sentiment = Sentiment()
    rng = random.Random(7)
    for _ in range(50):
        opens = [False] + [rng.random() < 0.4 for _ in range(rng.randint(0, 12))]
        text = " ".join(("But it was awful." if o else "It was lovely.") for o in opens)
        compound, _, _ = sentiment.read(text)
        scores = [sentiment.compound("But it was awful." if o else "It was lovely.") for o in opens]
        weights = _reference_weights(opens)
        assert compound == round(sum(w * c for w, c in zip(weights, scores, strict=True)) / sum(weights), 4)


def test_many_contrasts_walk_each_sentence_once():
    sentiment = Sentiment()
    sentiment.read(" ".join(["But it was awful."] * 2000))
    assert sentiment.full_walks == 2000
