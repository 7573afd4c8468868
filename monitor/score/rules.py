"""The rule registry: every rule the scorer reads a text by, as one named record.

A rule has an id, the label it argues for (extremism, abuse, criticism, praise, or a cue list:
sarcasm, reporting, notice, hyperbole), a strength (strong, or weak: it counts only with a second cue of its
label; a weak rule marked `possible` makes the text possible abuse or extremism alone), a
pattern, and examples it must match and must not match. Its pattern is either an entry
of the lexicon language (lexicon.py) or `shape:NAME`, a structural rule that shapes.py reads in
code; either way every hit it makes carries its id.

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
from dataclasses import dataclass
from importlib import resources

from monitor.score.lexicon import Classes, parse_classes

# The lists a lexicon entry can belong to, in precedence order of the labels they argue for.
LABELS = ("extremism", "abuse", "criticism", "praise", "sarcasm", "reporting", "notice", "hyperbole")
STRENGTHS = ("strong", "weak")
SHAPE = "shape:"


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

    @property
    def weak(self) -> bool:
        return self.strength == "weak"

    @property
    def is_shape(self) -> bool:
        return self.pattern.startswith(SHAPE)


@dataclass(frozen=True)
class Registry:
    rules: tuple[Rule, ...]
    classes: Classes

    def by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}

    def patterns(self) -> list[Rule]:
        """The rules written in the lexicon language (the rest are shapes read in code)."""
        return [r for r in self.rules if not r.is_shape]

    def shapes(self) -> dict[str, Rule]:
        """The structural rules, by the NAME of their `shape:NAME` pattern."""
        return {r.pattern[len(SHAPE) :]: r for r in self.rules if r.is_shape}


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
    for rule in registry.rules:
        where = f"rule {rule.id} ({rule.source})"
        if rule.id in seen:
            raise ValueError(f"{where}: id used twice")
        seen.add(rule.id)
        if rule.label not in LABELS:
            raise ValueError(f"{where}: unknown label {rule.label!r}")
        if rule.strength not in STRENGTHS:
            raise ValueError(f"{where}: strength must be one of {STRENGTHS}")
        if not rule.is_shape:
            for name in re.findall(r"@(\w+)", rule.pattern):
                if name not in registry.classes:
                    raise ValueError(f"{where}: no word class @{name}")


def _records(data: dict[str, object]) -> Iterable[Rule]:
    for record in data.get("rule", []):  # type: ignore[attr-defined]
        yield Rule(
            id=record["id"],
            label=record["label"],
            strength=record.get("strength", "strong"),
            pattern=record["pattern"].strip(),
            must=tuple(record.get("must", ())),
            must_not=tuple(record.get("must_not", ())),
            source="rules.toml",
            note=record.get("note", ""),
            possible=record.get("possible", False),
        )


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
