"""What is a mention? Pure: text and its MentionMatch in, Score out.

Backbone version: plain VADER compound only; the scorer issue adds the lexicons and rules.
"""

from __future__ import annotations

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from monitor.config import Scoring
from monitor.models import OFFTOPIC, MentionMatch, Score


class Scorer:
    def __init__(self, scoring: Scoring | None = None):
        self._vader = SentimentIntensityAnalyzer()

    def score(self, text: str, title: str, match: MentionMatch) -> Score:
        sentiment = self._vader.polarity_scores(f"{title}. {text}" if title else text)["compound"]
        if not match.is_mention:
            return Score(False, OFFTOPIC, "low", sentiment)
        if sentiment <= -0.5:
            label, severity = "criticism", "medium"
        elif sentiment >= 0.5:
            label, severity = "praise", "low"
        else:
            label, severity = "neutral", "low"
        return Score(True, label, severity, sentiment, mentions_staff=match.mentions_staff)
