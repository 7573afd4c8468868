"""A pip install (not editable, as the Docker image makes) carries every package and data file:
pyproject.toml lists packages by hand, and one left out works in a checkout but not installed."""

import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETUP = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_of_monitor_is_listed():
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "monitor").rglob("__init__.py")}
    assert found <= set(SETUP["packages"]), (
        f"add to [tool.setuptools] packages: {sorted(found - set(SETUP['packages']))}"
    )


def test_every_data_file_the_code_reads_is_package_data():
    data = SETUP["package-data"]
    for folder in ("lexicons", "score/data", "web/templates", "web/static"):
        for path in (ROOT / "monitor" / folder).iterdir():
            rel = path.relative_to(ROOT / "monitor")
            package = "monitor" if folder == "lexicons" else f"monitor.{rel.parts[0]}"
            inside = rel if package == "monitor" else Path(*rel.parts[1:])
            assert any(fnmatch(str(inside), g) for g in data.get(package, ())), f"{rel} is not package data"
