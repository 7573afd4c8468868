"""A source's request headers as they are sent: `headers = { Authorization = "env:API_TOKEN" }`
reads that header's value from the environment right before each fetch.

A value read from the environment is a secret: it is never logged, shown or put in an error;
every problem names the header and the variable, never what the variable holds.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from monitor.config import Source
from monitor.errors import FetchError

ENV_PREFIX = "env:"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def env_name(value: str) -> str | None:
    """The variable a header value reads ("env:API_TOKEN" -> "API_TOKEN"), None for a literal."""
    return value[len(ENV_PREFIX) :] if value.startswith(ENV_PREFIX) else None


def unset_variables(src: Source, environ: Mapping[str, str] = os.environ) -> list[tuple[str, str]]:
    """(header, variable) for each header of the source whose variable is unset or empty here."""
    return [
        (header, var) for header, value in src.headers if (var := env_name(value)) and not environ.get(var, "").strip()
    ]


def resolve(src: Source, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The headers to send, `env:` values read now. FetchError (permanent: a person must set the
    variable) when one is unset, or holds a line break or control character (a header is one line)."""
    out = {}
    for header, value in src.headers:
        var = env_name(value)
        if var is None:
            out[header] = value
            continue
        secret = environ.get(var, "").strip()
        if not secret:
            raise FetchError(
                f"header {header}: the environment variable {var} is not set (or is empty) where the monitor runs",
                permanent=True,
            )
        if _CONTROL.search(secret):
            raise FetchError(
                f"header {header}: the environment variable {var} holds a line break or control character; "
                "a header value is one line",
                permanent=True,
            )
        out[header] = secret
    return out
