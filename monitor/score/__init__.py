"""What is a mention? Pure: a text and its MentionMatch in, a Score out.

    from monitor import score
    score.Scorer(cfg.scoring).score(text, title, match) -> models.Score

The modules, by concern:
- normalise: the form every rule reads (text-speak and masked swear words spelt out; the cap);
- lexicon: the lexicon language (patterns written one a line) and its matcher;
- rules: the registry of named rules (id, label, strength, pattern, examples);
- shapes: the structural rules read in code;
- vader: VADER's compound per sentence, with the domain words and contrast;
- model, thresholds: the abusive-language model and where its probability counts;
- decide: the decision (label, severity, flags).

Near-duplicates of the school's corrected mentions are `monitor/examples.py`: they decide before
the scorer's reading counts, and a scan that finds nothing new must not load the scorer for them.
"""

from monitor.score.decide import Reading, Scorer, fired
from monitor.score.lexicon import Hit, Lexicons
from monitor.score.normalise import MAX_CHARS, normalise, spell_out

__all__ = ["MAX_CHARS", "Hit", "Lexicons", "Reading", "Scorer", "fired", "normalise", "spell_out"]
