"""robots.txt, obeyed when a source asks for it (`robots = true`).

Rules:
- read as urllib.robotparser reads it: 401/403 forbid all, other errors (and a missing file) allow all;
- at most ROBOTS_LIMIT bytes, within ROBOTS_TIMEOUT (or the source's own timeout when shorter);
- fetched once per host along the Fetcher's own route (its slots, deadline and address rule),
  and kept ROBOTS_KEEP seconds.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.robotparser import RobotFileParser

from monitor.errors import FetchError

if TYPE_CHECKING:
    from monitor.fetch import Limits

ROBOTS_AGENT = "school-monitor"
ROBOTS_LIMIT = 512 * 1024  # Google reads 500 KiB of a robots.txt; so do we
ROBOTS_TIMEOUT = 10.0
ROBOTS_KEEP = 24 * 3600.0  # a long-lived Fetcher (the daemon's) reads robots.txt again after a day


def limits_for(limits: Limits) -> Limits:
    """The limits of fetching a host's robots.txt for a source fetched with `limits`."""
    return replace(limits, timeout=min(limits.timeout, ROBOTS_TIMEOUT), max_bytes=ROBOTS_LIMIT, robots=False)


def read(url: str, body: bytes) -> RobotFileParser:
    """The rules of a robots.txt fetched from `url`."""
    rules = RobotFileParser(url)
    rules.parse(body.decode("utf-8", "replace").splitlines())
    return rules


def unread(url: str, status: int | None) -> RobotFileParser:
    """The rules when robots.txt could not be fetched: 401/403 forbid all, other errors allow all."""
    rules = RobotFileParser(url)
    rules.parse(["User-agent: *", "Disallow: /"] if status in (401, 403) else [])
    return rules


def check(rules: RobotFileParser, url: str, root: str) -> None:
    """Raise (a permanent FetchError) when the rules of `root` forbid reading `url`."""
    if not rules.can_fetch(ROBOTS_AGENT, url):
        raise FetchError(
            f"disallowed by robots.txt ({root}/robots.txt); the site asks robots not to read this page",
            permanent=True,
        )
