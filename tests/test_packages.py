"""The fetcher and the parsers are packages, one module per concern; every name they offered as
single modules is still offered by the package, and the parse package's lazy names agree with
the imports the type checker reads."""

import ast
import importlib
from pathlib import Path

import pytest

from monitor import fetch, parse

# The public names of monitor/fetch.py and monitor/parse.py before they became packages.
FETCH_NAMES = [
    "ADDRESSES_KEEP",
    "CHUNK",
    "DEFAULT_PORTS",
    "MAX_REDIRECTS",
    "REDIRECTS",
    "ROBOTS_AGENT",
    "ROBOTS_KEEP",
    "ROBOTS_LIMIT",
    "ROBOTS_TIMEOUT",
    "USER_AGENT",
    "Fetcher",
    "Limits",
    "is_public",
    "retry_after_seconds",
]
PARSE_NAMES = [
    "FUTURE_SLACK",
    "TRACKING_PARAMS",
    "added_text",
    "body_text",
    "canonical_link",
    "check_doctype",
    "clamp_date",
    "html_to_text",
    "item_key",
    "parse_date_text",
    "parse_feed",
    "parse_page",
    "raw_fragments",
]


@pytest.mark.parametrize(("package", "names"), [(fetch, FETCH_NAMES), (parse, PARSE_NAMES)], ids=["fetch", "parse"])
def test_every_name_of_the_old_module_is_offered_by_the_package(package, names):
    for name in names:
        assert getattr(package, name) is not None
        assert name in package.__all__
        assert name in dir(package)


def test_each_lazy_name_of_parse_is_the_one_in_its_module_and_the_one_the_type_checker_reads():
    tree = ast.parse(Path(parse.__file__).read_text())
    typed = {
        alias.name: node.module.rsplit(".", 1)[1]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("monitor.parse.")
        for alias in node.names
    }
    assert typed == parse._HOMES
    assert sorted(parse.__all__) == sorted(parse._HOMES)
    for name, home in parse._HOMES.items():
        assert getattr(parse, name) is getattr(importlib.import_module(f"monitor.parse.{home}"), name)


def test_parse_has_no_other_names():
    with pytest.raises(AttributeError, match="no attribute 'parse_everything'"):
        parse.parse_everything  # noqa: B018
