"""Where the models' probabilities count, chosen on the studied held-out sets and the project's own
probes (benchmarks/README.md), never on the dev set alone.

The abusive-language model (model.py): PROBABLE_AT: with a weak abuse cue of the rules and a
person, a role or the school named, the model confirms the cue: abuse. POSSIBLE_AT: with a
person, a role or the school named but no rule confirming it: possible abuse (severity medium,
flag `possible`), alerted but marked as such.

The grave-label text model (grave.py), chosen leaving each studied set and probe batch out of its
training in turn (benchmarks/train_grave_model.py --loso): GRAVE_CONFIRMS: with a weak cue of that
label (for extremism, or a protected group named; for abuse, and a person named), the label. Never
alone: at 0.9 it read "the head is a flibbertigibbet" and "the staff are heroes" as abuse.
"""

PROBABLE_AT = 0.4
POSSIBLE_AT = 0.8
GRAVE_CONFIRMS = {"abuse": 0.9, "extremism": 0.7}
