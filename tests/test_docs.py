"""The README documents every command and every sources.toml key (the public interface)."""

import dataclasses
import re
from pathlib import Path

from monitor import cli, config

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_command_has_its_section():
    parser = cli.build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    for name in sub.choices:
        assert re.search(rf"^### `school-monitor {name}\b", README, re.MULTILINE), name


def test_every_config_key_is_documented():
    tables = {
        "school": config.School,
        "alerts": config.Alerts,
        "smtp": config.Smtp,
        "storage": config.Storage,
        "scoring": config.Scoring,
        "source": config.Source,
    }
    renamed = {"routes": "alerts.route"}
    for table, cls in tables.items():
        for f in dataclasses.fields(cls):
            key = renamed.get(f.name, f.name)  # named in code, e.g. `[school] name`, `[[alerts.route]]`
            assert re.search(rf"`[^`\n]*(?<![\w.]){re.escape(key)}(?![\w.])[^`\n]*`", README), f"[{table}] {key}"
