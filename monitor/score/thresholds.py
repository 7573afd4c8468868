"""Where the abusive-language model's probability counts (model.py), chosen on the studied held-out
sets and the project's own probes (benchmarks/README.md), never on the dev set alone.

PROBABLE_AT: with a weak abuse cue of the rules and a person, a role or the school named, the
model confirms the cue: abuse. POSSIBLE_AT: with a person, a role or the school named but no rule
confirming it: possible abuse (severity medium, flag `possible`), alerted but marked as such.
"""

PROBABLE_AT = 0.4
POSSIBLE_AT = 0.8
