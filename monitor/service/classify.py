"""Is a text about the school, and what is it? The mention finder and the scorer, built once per config."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from monitor.config import Config
from monitor.examples import Example, ExampleIndex
from monitor.models import Score, Scored, severity_of

if TYPE_CHECKING:
    from monitor import mentions, score


class Classifier:
    """Mentions + score. The lexicons and regexes are built on first use, so a scan where every
    source answers 304 never pays for them; thread-safe, and a copy sent to a parsing process
    builds its own."""

    def __init__(self, cfg: Config):
        self._cfg = cfg
        self._lock = threading.Lock()
        self._finder: mentions.MentionFinder | None = None
        self._scorer: score.Scorer | None = None

    def _build(self) -> tuple[mentions.MentionFinder, score.Scorer]:
        from monitor import mentions, score  # the lexicons and VADER: only when a text is read

        with self._lock:
            if self._finder is None or self._scorer is None:
                self._finder = mentions.MentionFinder(self._cfg.school)
                self._scorer = score.Scorer(self._cfg.scoring)
            return self._finder, self._scorer

    def build(self) -> None:
        """Build the mention finder and the scorer now, not at the first text."""
        if self._finder is None or self._scorer is None:
            self._build()

    @property
    def finder(self) -> mentions.MentionFinder:
        return self._finder or self._build()[0]

    @property
    def scorer(self) -> score.Scorer:
        return self._scorer or self._build()[1]

    def __getstate__(self) -> dict:  # the lock stays behind
        return {"_cfg": self._cfg}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["_cfg"])  # type: ignore[misc]

    def classify(self, text: str, title: str = "", all_mentions: bool = False) -> Score:
        match = self.finder.find(text, title, all_mentions=all_mentions)
        return self.scorer.score(text, title, match)

    def classify_confirmed(self, text: str, title: str = "") -> Score:
        """Score a text a person says is about the school, even if no alias matched or an exclusion did."""
        match = self.finder.find(text, title, all_mentions=True)
        if not match.is_mention:
            match = replace(match, is_mention=True, reasons=(*match.reasons, "added by hand"))
        return self.scorer.score(text, title, match)


def examples(corrected: list[tuple[int, str, str]]) -> ExampleIndex | None:
    """The school's corrected mentions as examples for their near-duplicates (None: none yet)."""
    return ExampleIndex(Example(i, text, label) for i, text, label in corrected) if corrected else None


def learn(scored: tuple[Scored, ...], index: ExampleIndex | None) -> tuple[Scored, ...]:
    """A near-duplicate of a corrected mention (a repost, a pile-on quoting it, a few words changed)
    takes the label a person gave it, flagged `example:#ID`: a false alarm corrected to neutral
    quiets its copies, a threat the rules missed is caught again in its reposts."""
    if index is None:
        return scored
    out = []
    for s in scored:
        found = index.match(f"{s.item.title}\n{s.item.text}" if s.item.title else s.item.text)
        if found is not None and found.label != s.score.label:
            severity = severity_of(found.label, s.score.mentions_staff)
            s = replace(
                s, score=replace(s.score, label=found.label, severity=severity, flags=(*s.score.flags, found.flag))
            )
        out.append(s)
    return tuple(out)
