"""The rule registry: every rule the scorer reads a text by, as one named record.

A rule has an id, the label it argues for (extremism, abuse, criticism, praise, or a cue list:
sarcasm, reporting, notice, hyperbole, condemned, target), a strength (strong, or weak: it counts
only with a second cue of its label; a weak rule marked `possible` makes the text possible abuse
or extremism alone), a pattern, and examples it must match and must not match. Its pattern is
- an entry of the lexicon language (lexicon.py), or a list of them (any one matches);
- `shape:NAME`, a structural rule that shapes.py reads in code;
- `frame`: slots, each one entry or a list of them (`rule:ID`: that rule's own hits), that must
  all match in the same sentence or the same post (`scope`), in any order (frames.py).
Every hit a rule makes carries its id.

Where rules live:
- lexicons/rules.toml: `[[rule]]` records with examples (the threat, incitement, harassment and
  hate shapes; each structural rule of shapes.py);
- lexicons/LABEL.txt: one compact entry a line (`~` first: weak), id `LABEL.slug-of-the-entry`;
- `[scoring] extra_*` of the school's config: like a line of LABEL.txt, id `config.LABEL.N`;
- lexicons/classes.txt: the word classes every pattern may name.
tests/test_score_rules.py runs every rule's examples.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from importlib import resources

from monitor.score.lexicon import Classes, needles, parse_classes

# The lists a lexicon entry can belong to, in precedence order of the labels they argue for.
LABELS = (
    "extremism",
    "abuse",
    "criticism",
    "praise",
    "sarcasm",
    "reporting",
    "notice",
    "hyperbole",
    "condemned",
    "target",
)
STRENGTHS = ("strong", "weak")
SHAPE = "shape:"
FRAME = "frame"
SCOPES = ("sentence", "post")
# The list a frame's slot entries are matched in (lexicon.py), by ids "FRAME_ID#N".
SLOT = "slot"
TARGET = "target"  # the cue list read only by frames (who an act is aimed at)
RULE_REF = "rule:"  # a slot entry naming another rule: that rule's hits fill the slot


@dataclass(frozen=True)
class Rule:
    id: str
    label: str
    strength: str
    pattern: str
    must: tuple[str, ...] = ()
    must_not: tuple[str, ...] = ()
    source: str = ""  # where it is defined ("abuse.txt:12", "rules.toml")
    note: str = ""  # why the rule exists, in a line
    possible: bool = False  # a weak rule whose hit alone makes the text possible abuse/extremism
    slots: tuple[tuple[str, ...], ...] = ()  # a frame's slots, each one or more lexicon entries
    also: tuple[str, ...] = ()  # more entries of the same rule (`pattern` given as a list)
    requires: tuple[frozenset[str], ...] = ()  # a slot entry: words each other slot of its frame needs
    gate: bool = True  # a target: looked for only where a frame that reads it could hit
    scope: str = "post"  # where a frame's slots must all match: "sentence" or "post"

    @property
    def weak(self) -> bool:
        return self.strength == "weak"

    @property
    def is_shape(self) -> bool:
        return self.pattern.startswith(SHAPE)

    @property
    def is_frame(self) -> bool:
        return self.pattern == FRAME


@dataclass(frozen=True)
class Registry:
    rules: tuple[Rule, ...]
    classes: Classes

    def by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}

    def patterns(self) -> list[Rule]:
        """The rules written in the lexicon language, and each frame's slot entries (label SLOT,
        id "FRAME_ID#N"); shapes are read in code."""
        gates = self._target_gates()
        out = [
            replace(r, requires=gates[r.id]) if r.id in gates else r
            for r in self.rules
            if not r.is_shape and not r.is_frame
        ]
        out += [
            Rule(r.id, r.label, r.strength, entry, source=r.source, requires=gates.get(r.id, ()))
            for r in self.rules
            for entry in r.also
        ]
        for frame in self.frames():
            slots = [[e for e in entries if not e.startswith(RULE_REF)] for entries in frame.slots]
            words = [_slot_words(frame.slots[n], self.classes, self.by_id()) for n in range(len(slots))]
            for n, patterns in enumerate(slots):
                # The words each other slot needs: without one of each, this slot's hit is useless,
                # so its entries are not tried (a cheap gate on common words).
                requires = tuple(w for m, w in enumerate(words) if m != n and w)
                out += [
                    Rule(f"{frame.id}#{n}", SLOT, "strong", pattern, source=frame.source, requires=requires)
                    for pattern in patterns
                ]
        return out

    def _target_gates(self) -> dict[str, tuple[frozenset[str], ...]]:
        """For each rule of the `target` list (read only by frames), the words one of which a text
        must have for a frame that reads it to hit: of each such frame, its most telling other
        slot. A target is not looked for where no frame could use it."""
        rules = self.by_id()
        gates: dict[str, tuple[frozenset[str], ...]] = {}
        for rule in self.rules:
            if rule.label != TARGET or not rule.gate:
                continue
            words: set[str] = set()
            for frame in self.frames():
                slots = [entries for entries in frame.slots if f"{RULE_REF}{rule.id}" not in entries]
                if len(slots) == len(frame.slots):
                    continue  # this frame does not read the target
                known = [w for w in (_slot_words(e, self.classes, rules) for e in slots) if w]
                if not known:
                    return {}  # a frame that could hit anywhere: no gate for any target
                words |= min(known, key=len)
            gates[rule.id] = (frozenset(words),) if words else ()
        return gates

    def frames(self) -> list[Rule]:
        """The rules whose slots must all match (frames.py)."""
        return [r for r in self.rules if r.is_frame]

    def shapes(self) -> dict[str, Rule]:
        """The structural rules, by the NAME of their `shape:NAME` pattern."""
        return {r.pattern[len(SHAPE) :]: r for r in self.rules if r.is_shape}


def _slot_words(entries: tuple[str, ...], classes: Classes, rules: Mapping[str, Rule]) -> frozenset[str]:
    """Words one of which any hit of a slot contains (empty: not known)."""
    words: set[str] = set()
    for entry in entries:
        referred = rules[entry[len(RULE_REF) :]] if entry.startswith(RULE_REF) else None
        for pattern in (referred.pattern, *referred.also) if referred else (entry,):
            found = needles(pattern, classes)
            if not found:
                return frozenset()
            words |= found
    return frozenset(words)


def read_lexicon(name: str) -> list[str]:
    return resources.files("monitor").joinpath(f"lexicons/{name}").read_text("utf-8").splitlines()


def load(extra: Mapping[str, Iterable[str]] | None = None) -> Registry:
    """Every rule: rules.toml's records, each LABEL.txt's lines, the config's extra terms."""
    classes = parse_classes(read_lexicon("classes.txt"))
    rules: list[Rule] = list(_records(tomllib.loads("\n".join(read_lexicon("rules.toml")))))
    ids = {r.id for r in rules}
    for label in LABELS:
        rules += _compact(label, read_lexicon(f"{label}.txt"), f"{label}.txt", label, ids)
        extras = list((extra or {}).get(label, ()))
        rules += _compact(label, extras, "config", f"config.{label}", ids, numbered=True)
    registry = Registry(tuple(rules), classes)
    check(registry)
    return registry


def check(registry: Registry) -> None:
    """Raise ValueError on a rule that cannot work: an unknown label, strength or word class, an
    id used twice."""
    seen: set[str] = set()
    rules = registry.by_id()
    for rule in registry.rules:
        where = f"rule {rule.id} ({rule.source})"
        if rule.id in seen:
            raise ValueError(f"{where}: id used twice")
        seen.add(rule.id)
        if rule.label not in LABELS:
            raise ValueError(f"{where}: unknown label {rule.label!r}")
        if rule.strength not in STRENGTHS:
            raise ValueError(f"{where}: strength must be one of {STRENGTHS}")
        if rule.is_frame and (len(rule.slots) < 2 or not all(rule.slots) or rule.scope not in SCOPES):
            raise ValueError(f"{where}: a frame needs two slots or more and a scope of {SCOPES}")
        if not rule.is_frame and rule.slots:
            raise ValueError(f"{where}: slots belong to a frame (pattern = {FRAME!r})")
        for entries in rule.slots:
            for entry in entries:
                referred = rules.get(entry[len(RULE_REF) :]) if entry.startswith(RULE_REF) else None
                if entry.startswith(RULE_REF) and (referred is None or referred.is_shape or referred.is_frame):
                    raise ValueError(f"{where}: {entry} names no rule written in the lexicon language")
        if not rule.is_shape:
            slot_entries = (e for entries in rule.slots for e in entries if not e.startswith(RULE_REF))
            for pattern in (rule.pattern, *rule.also, *slot_entries):
                if re.search(r"\([^)]*\(", pattern):
                    raise ValueError(f"{where}: parentheses inside parentheses: {pattern}")
                for name in re.findall(r"@(\w+)", pattern):
                    if name not in registry.classes:
                        raise ValueError(f"{where}: no word class @{name}")


def _records(data: dict[str, object]) -> Iterable[Rule]:
    for record in data.get("rule", []):  # type: ignore[attr-defined]
        pattern = _slot(record["pattern"])  # one entry, or a list of entries
        yield Rule(
            id=record["id"],
            label=record["label"],
            strength=record.get("strength", "strong"),
            pattern=pattern[0],
            also=pattern[1:],
            must=tuple(record.get("must", ())),
            must_not=tuple(record.get("must_not", ())),
            source="rules.toml",
            note=record.get("note", ""),
            possible=record.get("possible", False),
            slots=tuple(_slot(slot) for slot in record.get("slots", ())),
            scope=record.get("scope", "post"),
            gate=record.get("gate", True),
        )


def _slot(slot: str | list[str]) -> tuple[str, ...]:
    """A frame's slot: one lexicon entry, or a list of them (any one fills the slot)."""
    return (slot.strip(),) if isinstance(slot, str) else tuple(entry.strip() for entry in slot)


def _compact(
    label: str, lines: Iterable[str], source: str, prefix: str, ids: set[str], numbered: bool = False
) -> list[Rule]:
    out = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        weak = line.startswith("~")
        pattern = line.lstrip("~ ").strip()
        rule_id = f"{prefix}.{number}" if numbered else _unique(f"{prefix}.{_slug(pattern)}", ids)
        ids.add(rule_id)
        out.append(
            Rule(
                rule_id,
                label,
                "weak" if weak else "strong",
                pattern,
                source=f"{source}:{number}" if not numbered else source,
            )
        )
    return out


def _slug(pattern: str) -> str:
    return re.sub(r"[^a-z0-9@]+", "-", pattern.lower()).strip("-")[:48].strip("-") or "entry"


def _unique(rule_id: str, ids: set[str]) -> str:
    n, candidate = 1, rule_id
    while candidate in ids:
        n += 1
        candidate = f"{rule_id}-{n}"
    return candidate
