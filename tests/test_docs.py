"""The README documents every command and every sources.toml key with its default (the public interface)."""

import dataclasses
import re
from pathlib import Path

import pytest

from monitor import cli, config

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")

# Each table of sources.toml and the dataclass that holds its keys and defaults.
TABLES = [
    ("[school]", config.School, ()),
    ("[alerts]", config.Alerts, ("routes",)),
    ("[[alerts.route]]", config.Route, ()),
    ("[smtp]", config.Smtp, ()),
    ("[storage]", config.Storage, ()),
    ("[scoring]", config.Scoring, ("ai",)),
    ("[scoring.ai]", config.AI, ()),
    ("[web]", config.Web, ()),
    ('[hosts."HOST"]', config.Host, ("host",)),
    (
        "[defaults]",
        config.Source,
        tuple(f.name for f in dataclasses.fields(config.Source) if f.name not in config.DEFAULT_KEYS),
    ),
    ("[[source]]", config.Source, config.DEFAULT_KEYS),
]


def config_rows() -> dict[str, str]:
    """The README's sources.toml table: '`[table] key`' -> its default cell (one key per row)."""
    section = README[README.index("## sources.toml") : README.index("## Page sources")]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`["):
            rows[cells[0].split("`")[1]] = cells[2]
    return rows


def test_every_command_has_its_section():
    parser = cli.build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    for name in sub.choices:
        assert re.search(rf"^### `school-monitor {name}\b", README, re.MULTILINE), name


@pytest.mark.parametrize("table, cls, skip", TABLES, ids=[t[0] for t in TABLES])
def test_every_config_key_is_documented_with_its_default(table, cls, skip):
    rows = config_rows()
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        key = f"{table} {f.metadata.get('key') or f.name}"
        assert key in rows, f"no row for `{key}` in the README's sources.toml table"
        default = config.toml_default(cls, f.name)
        if default is None:  # no default value: the README says in words what its absence means
            continue
        assert rows[key].replace("`", "").startswith(default.replace("`", "")), (
            f"`{key}`: the README says {rows[key]!r}, the code {default!r}"
        )


def test_source_keys_that_override_defaults_point_to_them():
    row = next(line for line in README.splitlines() if line.startswith("| `[[source]] interval`,"))
    for key in config.DEFAULT_KEYS:
        assert re.search(rf"`(\[\[source\]\] )?{key}`", row), key
