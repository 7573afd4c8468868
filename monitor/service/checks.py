"""`check`: what sources.toml cannot say by itself but would fail later, found before it does.

Problems (exit 2, every one at once): a template override that does not compile, an [smtp]
ca_file that is missing or holds no CA certificate, a source's JMESPath expression or CSS selector
that does not compile. Warnings: an environment variable the config names for a secret (a JSON
source's `env:` header too) that is not set where `check` runs (the service may run with another
environment, so it is not an error).
"""

from __future__ import annotations

import os

from monitor import notify, source_check, templating
from monitor.config import Config
from monitor.errors import ConfigError, NotifyError


def check(cfg: Config) -> tuple[list[str], list[str]]:
    """(the templates used, warnings); ConfigError listing every problem."""
    found, template_problems = templating.check(cfg.templates_dir, cfg.alerts.timezone)
    problems = [(f"alerts/{name}", problem) for name, problem in template_problems]
    try:
        notify.tls_context(cfg)
    except NotifyError as e:
        problems.append(("smtp.ca_file", str(e).removeprefix("[smtp] ca_file ")))
    problems += source_check.problems(cfg.sources)
    if problems:
        raise ConfigError(cfg.path, problems)
    return found, _unset_secrets(cfg) + source_check.warnings(cfg.sources)


def _unset_secrets(cfg: Config) -> list[str]:
    named = []
    if cfg.smtp and cfg.smtp.username and cfg.smtp.password_env:
        named.append(("smtp.password_env", cfg.smtp.password_env, "the SMTP login will fail"))
    if cfg.alerts.urls_env:
        named.append(("alerts.urls_env", cfg.alerts.urls_env, "its channels will get nothing"))
    if cfg.scoring.ai and cfg.scoring.ai.api_key_env:
        named.append(("scoring.ai.api_key_env", cfg.scoring.ai.api_key_env, "the AI endpoint may refuse"))
    return [
        f"{key}: ${name} is not set in this environment ({consequence} unless the service has it)"
        for key, name, consequence in named
        if not os.environ.get(name)
    ]
