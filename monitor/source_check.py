"""What `check` can tell about the sources before fetching any: a JMESPath expression or a CSS
selector that does not compile (a scan would only find it out by failing), and a header whose
environment variable is not set here.

Problems are keyed as sources.toml's are ("source[3] (Forum API).items"), so `check` reports them
as it reports the file's. Imports no parser; soupsieve (which loads bs4, about 80 ms) only when a
page source has selectors to check.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from monitor import headers
from monitor.config import PART_KEYS, Source
from monitor.parse import json_api

PAGE_KEYS = ("item", *PART_KEYS)
JSON_KEYS = ("items", *PART_KEYS)


def problems(sources: Sequence[Source]) -> list[tuple[str, str]]:
    """(key, problem) for every expression or selector that does not compile."""
    out = []
    for n, src in enumerate(sources, 1):
        if src.type not in ("json", "page"):
            continue
        for key in JSON_KEYS if src.type == "json" else PAGE_KEYS:
            value = getattr(src, key)
            if value is None:
                continue
            problem = json_api.expression_problem(value) if src.type == "json" else selector_problem(value)
            if problem:
                out.append((f"{_prefix(n, src)}{key}", problem))
    return out


def selector_problem(selector: str) -> str | None:
    """Why a CSS selector is not one, or None when it compiles."""
    if not selector.strip():
        return "an empty selector; give one or remove the key"
    import soupsieve

    try:
        soupsieve.compile(selector)
    except soupsieve.SelectorSyntaxError as e:
        return f"{selector!r} is not valid CSS: {str(e).splitlines()[0]}"
    except (ValueError, TypeError) as e:
        return f"{selector!r} is not a CSS selector the monitor reads: {e}"
    return None


def warnings(sources: Sequence[Source], environ: Mapping[str, str] = os.environ) -> list[str]:
    """A header reading a variable not set here. A warning, not a problem: the daemon may run
    with another environment (a systemd EnvironmentFile, docker -e)."""
    out = []
    for n, src in enumerate(sources, 1):
        if not src.enabled:
            continue
        for header, var in headers.unset_variables(src, environ):
            out.append(
                f"{_prefix(n, src)}headers.{header}: ${var} is not set in this environment "
                "(the source will fail unless the service has it)"
            )
    return out


def _prefix(n: int, src: Source) -> str:
    return f"source[{n}] ({src.name})." if src.name else f"source[{n}]."
