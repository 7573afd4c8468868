"""The one Jinja2 environment factory, for emails and the report. The only module that imports Jinja2.

A template in the school's alerts/ folder (beside sources.toml) overrides the packaged one of the
same name (monitor/templates, shipped from the repository's alerts/), file by file. Templates
named *.html are autoescaped: whatever came from the internet is text in them.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2

from monitor.text import http_url, local_time

EMAILS = ("alert", "digest", "pileon")
REPORT = "report.html"


def packaged_dir() -> Path:
    """The templates shipped with the package (the repo's alerts/ folder, installed as monitor.templates);
    the repo's alerts/ folder itself when running from a checkout installed without that mapping."""
    try:  # via a file inside: a namespace package's files() is a MultiplexedPath, not a folder
        return Path(str(files("monitor.templates").joinpath(REPORT))).parent
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "alerts"


@lru_cache(maxsize=8)
def environment(templates_dir: Path, timezone: str) -> jinja2.Environment:
    """The environment for one school's folder and time zone, built once (templates compile once;
    an edited template is read again, a newly added override after `forget()`, as on a reload)."""
    return _build(templates_dir, timezone)


def forget() -> None:
    """Drop the built environments, so that overrides added since are found."""
    environment.cache_clear()


def _build(templates_dir: Path, timezone: str) -> jinja2.Environment:
    tz = ZoneInfo(timezone)
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [jinja2.FileSystemLoader(str(templates_dir)), jinja2.FileSystemLoader(str(packaged_dir()))]
        ),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["http_url"] = http_url
    env.filters["local"] = lambda when, fmt="%Y-%m-%d %H:%M": local_time(when, tz, fmt, missing="")
    return env


def render(env: jinja2.Environment, name: str, context: dict) -> str:
    """Render one template; a template error is raised as jinja2.TemplateError for the caller to word."""
    return env.get_template(name).render(context)


def check(templates_dir: Path, timezone: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Compile every template (the school's overrides included): where each came from, and the
    (template, problem) of every one that does not compile, with its line."""
    env = _build(templates_dir, timezone)  # afresh: an override added since the last render counts
    names = [f"{name}.{ext}" for name in EMAILS for ext in ("txt", "html")] + [REPORT]
    found, problems = [], []
    for name in names:
        try:
            template = env.get_template(name)
        except jinja2.TemplateSyntaxError as e:
            packaged = "" if e.filename and e.filename.startswith(str(templates_dir)) else " (packaged)"
            problems.append((e.name or name, f"line {e.lineno}{packaged}: {e.message}"))
            continue
        except jinja2.TemplateNotFound as e:
            problems.append((str(e.name), f"not found in {templates_dir} nor in the package"))
            continue
        found.append(template.filename or template.name or name)
    return found, problems


TemplateError = jinja2.TemplateError
Markup = jinja2.utils.markupsafe.Markup  # text known to be safe HTML (our own SVG charts)
