"""Is this text about the school? Pure: config in, MentionMatch out.

Backbone version: any alias, whole words, any case; exclusions drop the text.
"""

from __future__ import annotations

import re

from monitor.config import School
from monitor.models import MentionMatch


class MentionFinder:
    def __init__(self, school: School):
        self.school = school
        self._aliases = [(a, re.compile(r"\b" + re.escape(a) + r"\b", re.IGNORECASE)) for a in school.aliases]
        self._exclude = [(e, re.compile(r"\b" + re.escape(e) + r"\b", re.IGNORECASE)) for e in school.exclude]

    def find(self, text: str, title: str = "", all_mentions: bool = False) -> MentionMatch:
        whole = f"{title}\n{text}"
        excluded = [e for e, rx in self._exclude if rx.search(whole)]
        if excluded:
            return MentionMatch(False, reasons=tuple(f"excluded:{e}" for e in excluded))
        found = tuple(a for a, rx in self._aliases if rx.search(whole))
        if found or all_mentions:
            return MentionMatch(True, aliases=found, reasons=tuple(f"alias:{a}" for a in found) or ("all_mentions",))
        return MentionMatch(False)
