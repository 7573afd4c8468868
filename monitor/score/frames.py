"""Frames: rules whose parts may stand apart, read from where each part matched.

A frame (rules.toml, `pattern = "frame"`) has slots, each one lexicon entry or more; it hits when
every slot matched in the same sentence (`scope = "sentence"`) or anywhere in the post
(`scope = "post"`), in any order. A threat, a campaign or hate is often said in parts no single
phrase holds: a person's car and a call to share it ("Here's the deputy's car ... You know what to
do"), a protected group and a claim of replacement two sentences on. Each part alone may be
everyday; the frame says which parts make the whole.

The slots are matched with every other lexicon entry, in the same pass (lexicon.py, list SLOT);
a slot `rule:ID` is filled by that rule's own hits (a cue shared by frames is matched once). This
module only joins them. A frame's hit spans its parts and carries its id, and joins the hits of
its label, so news frames, quotation and precedence treat it like any other rule's.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping

from monitor.score.lexicon import Hit
from monitor.score.rules import RULE_REF, Registry

_SENTENCE_END = re.compile(r"[.!?\n]")


class Frames:
    """Built once from the registry; hits(low, slot_hits, found) per text."""

    def __init__(self, registry: Registry):
        self._frames = {f.id: f for f in registry.frames()}
        # Per frame, per slot, the rules whose own hits fill it (`rule:ID`), and their lists.
        self._refs = {
            f.id: [{e[len(RULE_REF) :] for e in entries if e.startswith(RULE_REF)} for entries in f.slots]
            for f in self._frames.values()
        }
        self._referred = frozenset(r for refs in self._refs.values() for slot in refs for r in slot)
        rules = registry.by_id()
        self._labels = sorted({rules[r].label for r in self._referred})

    def hits(self, low: str, slot_hits: list[Hit], found: Mapping[str, list[Hit]]) -> dict[str, list[Hit]]:
        """Each label's frame hits, from the hits of the slot entries ("FRAME_ID#N") and of the
        rules slots refer to (in `found`)."""
        out: dict[str, list[Hit]] = {}
        by_rule: dict[str, list[Hit]] = {}
        for label in self._labels:
            for hit in found[label]:
                if hit.rule in self._referred:
                    by_rule.setdefault(hit.rule, []).append(hit)
        if not slot_hits and len(by_rule) < 2:  # every frame has two slots or more
            return out
        by_frame: dict[str, dict[int, list[Hit]]] = {}
        for hit in slot_hits:
            frame_id, _, slot = hit.rule.rpartition("#")
            by_frame.setdefault(frame_id, {}).setdefault(int(slot), []).append(hit)
        ends: list[int] | None = None
        for frame_id, frame in self._frames.items():
            slots = by_frame.get(frame_id, {})
            filled = []
            for n, refs in enumerate(self._refs[frame_id]):
                hits = slots.get(n, []) + [h for ref in refs for h in by_rule.get(ref, ())]
                if not hits:
                    break
                filled.append(hits)
            if len(filled) < len(frame.slots):
                continue
            if frame.scope == "sentence":
                ends = ends if ends is not None else [m.start() for m in _SENTENCE_END.finditer(low)]
                parts = _in_one_sentence(filled, ends)
            else:
                parts = [min(hits, key=lambda h: h.start) for hits in filled]
            if parts:
                start, end = min(h.start for h in parts), max(h.end for h in parts)
                text = "frame:" + " … ".join(h.text for h in sorted(parts, key=lambda h: h.start))
                out.setdefault(frame.label, []).append(Hit(frame.label, text, start, end, frame.weak, frame.id))
        return out


def _in_one_sentence(slots: list[list[Hit]], ends: list[int]) -> list[Hit]:
    """One hit per slot, all in the same sentence (none: no such choice). A lexicon entry never
    matches across a sentence end, so a hit's start says its sentence."""
    by_sentence = [{bisect_right(ends, h.start): h for h in reversed(hits)} for hits in slots]
    common = set(by_sentence[0]).intersection(*by_sentence[1:])
    if not common:
        return []
    first = min(common)
    return [hits[first] for hits in by_sentence]
