"""`school-monitor init`: a school's answers -> a commented, working sources.toml.

Pure but for `ask`, which talks through the functions it is given: the answers come in (flags or
questions), the file's text goes out; the command line writes it and checks it. Every address is
built here from the name, the town and the URN (the unique reference number Ofsted and Get
Information About Schools use), and each is one a school can read without a login today: Google
News and Reddit search as RSS (Reddit paced to a request a minute), a Mastodon tag feed, the Ofsted
report page and the Parent View results as watched pages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from email.utils import parseaddr
from typing import Any
from urllib.parse import quote, quote_plus

from monitor.config import check_email, check_http_url
from monitor.mentions import is_ambiguous

# Words at the end of a school's name that say what kind of school it is: what is left is the
# name of a place or a saint ("Elm Park", "St Mary's"), which streets and stations share.
SCHOOL_WORDS = frozenset(
    (
        *("school", "schools", "primary", "junior", "juniors", "infant", "infants", "nursery", "secondary"),
        *("high", "academy", "college", "grammar", "community", "foundation", "free", "first", "middle"),
        *("upper", "lower", "boys", "girls", "federation", "and", "&", "of", "church", "england"),
        *("c", "e", "ce", "cofe", "rc", "catholic", "roman", "methodist", "va", "vc"),
    )
)
# The word before "School" that makes the rest a sure name of its own ("Elm Park Primary").
SURE_BEFORE_SCHOOL = frozenset(
    ("primary", "junior", "infant", "infants", "secondary", "high", "grammar", "academy", "nursery")
)
PLACE_LOOKALIKES = ("station", "Road", "Avenue", "Library", "Surgery")
GIAS = "https://get-information-schools.service.gov.uk"
REDDIT_HOST = "www.reddit.com"
GOOGLE_ALERT_PLACEHOLDER = "https://www.google.com/alerts/feeds/00000000000000000000/0000000000000000000"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class Answers:
    name: str = ""
    town: str = ""
    aliases: tuple[str, ...] = ()
    urn: str = ""
    staff: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    dsl: str = ""
    website_feed: str = ""


@dataclass(frozen=True)
class Question:
    field: str  # the Answers field
    flag: str  # its command-line flag
    prompt: str
    required: bool = False
    many: bool = False  # several answers: repeat the flag, or separate them with commas when asked


QUESTIONS = (
    Question("name", "--name", "The school's full name (e.g. Elm Park Primary School)", required=True),
    Question("town", "--town", "Its town or borough (e.g. Hornchurch)", required=True),
    Question("aliases", "--alias", "Other names people use for it, comma-separated (an acronym)", many=True),
    Question("urn", "--urn", f"Its URN, 6 or 7 digits (find it at {GIAS}), or Enter for none"),
    Question("staff", "--staff", "Staff to watch for, comma-separated (e.g. Mrs A Stevenson, Mr B Khan)", many=True),
    Question("recipients", "--recipient", "The social media managers' emails, comma-separated", many=True),
    Question("dsl", "--dsl", "The designated safeguarding lead's email, or Enter for none"),
    Question("website_feed", "--website-feed", "The school website's news feed (RSS) address, or Enter for none"),
)
BY_FIELD = {q.field: q for q in QUESTIONS}


# ---------------------------------------------------------------- one answer


def check_answer(field: str, value: str) -> str:
    """One answer, tidied; ValueError saying what is accepted."""
    value = value.strip()
    if _CONTROL.search(value) or not _is_text(value):
        raise ValueError(f"{value!r} holds a control character or bytes that are not text")
    if field in ("recipients", "dsl"):
        return check_email(value)
    if field == "website_feed":
        return check_http_url(value)
    if field == "urn":
        if not re.fullmatch(r"\d{6,7}", value):
            raise ValueError(f"{value!r} is not a URN: a school's URN is 6 or 7 digits (find it at {GIAS})")
        return value
    if not any(c.isalpha() for c in value) or len(value) > 200:
        raise ValueError(f"{value!r} is not a name (letters, at most 200 characters)")
    return " ".join(value.split())


def _is_text(value: str) -> bool:
    """False for lone surrogates (bytes a terminal sent that are not UTF-8)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def from_values(values: Mapping[str, str | Sequence[str] | None]) -> tuple[Answers, list[tuple[str, str]]]:
    """Answers from the flags' values (by field); (flag, problem) for each one that is not valid."""
    problems: list[tuple[str, str]] = []
    out: dict[str, Any] = {}
    for q in QUESTIONS:
        raw = values.get(q.field)
        given = [raw] if isinstance(raw, str) else list(raw or ())
        good = []
        for v in given:
            if not v.strip():
                continue
            try:
                good.append(check_answer(q.field, v))
            except ValueError as e:
                problems.append((q.flag, str(e)))
        if q.many:
            out[q.field] = _unique(good)
        elif good:
            out[q.field] = good[-1]
    return Answers(**out), problems


def missing(answers: Answers) -> list[Question]:
    return [q for q in QUESTIONS if q.required and not getattr(answers, q.field)]


def ask(answers: Answers, prompt: Callable[[str], str], tell: Callable[[str], None]) -> Answers:
    """Ask for every answer not given yet, a default shown in [brackets] (Enter keeps it, "-" for
    none); a bad answer is explained and asked again. EOFError (Ctrl-D) goes up: nothing is written."""
    for q in QUESTIONS:
        if getattr(answers, q.field):
            continue
        default = suggestion(q.field, answers)
        while True:
            reply = prompt(f"{q.prompt}{f' [{default}]' if default else ''}: ").strip() or default
            if reply == "-" and not q.required:  # none, even where a default was offered
                break
            if not reply:
                if q.required:
                    tell("  needed: every source is built from it")
                    continue
                break
            try:
                parts = [p for p in reply.split(",") if p.strip()] if q.many else [reply]
                checked = [check_answer(q.field, p) for p in parts]
            except ValueError as e:
                tell(f"  {e}")
                continue
            value: Any = _unique(checked) if q.many else checked[0]
            answers = replace(answers, **{q.field: value})
            break
    return answers


def suggestion(field: str, answers: Answers) -> str:
    """The default offered for a question: the acronym of the name for the other names."""
    if field == "aliases" and answers.name:
        return acronym(answers.name)
    return ""


# ---------------------------------------------------------------- names


def _words(name: str) -> list[str]:
    return name.split()


def short_name(name: str) -> str:
    """'Elm Park Primary School' -> 'Elm Park Primary' (how people write it); the name itself when
    dropping 'School' would leave a place ('Elm Park School' stays)."""
    words = _words(name)
    if len(words) >= 3 and words[-1].lower() == "school" and words[-2].lower() in SURE_BEFORE_SCHOOL:
        return " ".join(words[:-1])
    return name


def place_stem(name: str) -> str:
    """The part of the name a street or station may share: 'Elm Park Primary School' -> 'Elm Park',
    "St Mary's Church of England Primary School" -> "St Mary's"; '' when nothing is left."""
    words = _words(name)
    if words and words[0].lower() == "the":
        words = words[1:]
    while words and words[-1].lower().strip(".,()") in SCHOOL_WORDS:
        words.pop()
    stem = " ".join(words)
    return stem if stem and stem.lower() != name.lower() else ""


def acronym(name: str) -> str:
    """'Elm Park Primary School' -> 'EPPS' (for names of three words or more)."""
    letters = [w[0] for w in _words(name) if w[0].isalpha() and w.lower() not in ("of", "and", "the")]
    return "".join(letters).upper() if len(letters) >= 3 else ""


def mastodon_tag(town: str) -> str:
    """A hashtag for the town: its letters and digits ('King's Lynn' -> 'KingsLynn')."""
    return re.sub(r"[^\w]|_", "", town)


# ---------------------------------------------------------------- addresses


def google_news_url(query: str) -> str:
    return f"https://news.google.com/rss/search?q={quote_plus(query)}&hl=en-GB&gl=GB&ceid=GB:en"


def reddit_search_url(name: str) -> str:
    return f"https://{REDDIT_HOST}/search.rss?q={quote_plus(_quoted(name))}&sort=new"


def mastodon_tag_url(tag: str, instance: str = "mastodon.social") -> str:
    return f"https://{instance}/tags/{quote(tag)}.rss"


def ofsted_report_url(urn: str) -> str:
    return f"https://reports.ofsted.gov.uk/provider/21/{urn}"


def parent_view_url(urn: str) -> str:
    """The results page the school's Ofsted report page links to."""
    return f"https://parentview.ofsted.gov.uk/parent-view-results/urn/{urn}"


def _quoted(text: str) -> str:
    return f'"{text}"'


# ---------------------------------------------------------------- the file


def aliases(answers: Answers) -> tuple[str, ...]:
    """The name as people write it first (it is the name in email subjects), then the others."""
    return _unique([short_name(answers.name), *answers.aliases])


def exclusions(answers: Answers) -> tuple[str, ...]:
    stem = place_stem(answers.name)
    return tuple(f"{stem} {what}" for what in PLACE_LOOKALIKES) if stem else ()


def render(answers: Answers) -> str:
    """The sources.toml text for these answers (name and town required)."""
    if missing(answers):
        raise ValueError(f"missing {', '.join(q.flag for q in missing(answers))}")
    a = answers
    short = short_name(a.name)
    ambiguous = [x for x in aliases(a) if is_ambiguous(x, a.name)]
    tag = mastodon_tag(a.town)
    sender = "school-monitor@" + parseaddr(a.recipients[0])[1].rsplit("@", 1)[1] if a.recipients else ""
    parts = [
        _HEAD.format(name=a.name),
        "[school]",
        f"name = {_q(a.name)}",
        "# Names people use for the school, matched as whole words in any case",
        f'# ("{short}\'s", "{short.lower()}" and "#{short.replace(" ", "")}" match too).',
    ]
    if ambiguous:
        parts += [
            f"# {', '.join(ambiguous)}: not part of the full name, so ambiguous (another place may use it):",
            "# it counts only with a `context` word near it, or a word any post about a school uses",
            "# (pupils, teacher, Ofsted...).",
        ]
    parts += [
        f"aliases = {_list(aliases(a))}",
        "# Phrases that look like the school's name but are about a place: a text about one of these",
        "# is not about the school (a text naming both still is). A starting list: delete what does",
        "# not apply, add the park, the pub, the church hall...",
        f"exclude = {_list(exclusions(a))}",
        "# Words that confirm an ambiguous name: the town, and whatever else is near the school.",
        f"context = {_list([a.town])}",
        "# Other towns with a school of the same name: a text naming one is about that school.",
        "not_context = []",
        '# Staff named in posts ("Mrs Sale" and "N Sale" match "Mrs N Sale"); criticism naming them is urgent.',
        f"staff = {_list(a.staff)}",
        "",
        "[alerts]",
        "# The social media managers named in the school's social media policy: extremism and abuse",
        "# are emailed to them at once, everything new in a daily digest.",
        f"recipients = {_list(a.recipients)}" + ("" if a.recipients else "   # add their addresses"),
    ]
    if sender:
        parts.append(f"sender = {_q(sender)}   # the From address: one your mail server lets the monitor send as")
    parts += [
        'digest_at = "07:30"                  # the daily digest, school time',
        'timezone = "Europe/London"',
        "",
    ]
    parts += _route(a)
    parts += [_SMTP, _STORAGE, _HOSTS]
    parts += [
        "# ---------------------------------------------------------------- sources",
        "# Each is checked on its interval; `school-monitor scan` runs them all now. Add more from",
        '# README.md, "Sources people ask for" (a subreddit, the local paper, a forum, a YouTube channel).',
        "",
        "# Google News: articles with the school's name in quotes (edit q= to change the search).",
        _source(f"Google News: {short}", "feed", google_news_url(_quoted(short))),
        f"# Google News: the name with the town, for articles that name it with {a.town}.",
        _source(f"Google News: {short}, {a.town}", "feed", google_news_url(f"{_quoted(short)} {a.town}")),
        "# Reddit: the newest posts anywhere on Reddit with the name in quotes. Reddit answers about one",
        f'# request a minute without a login: hourly, and paced by [hosts."{REDDIT_HOST}"] above.',
        _source("Reddit search", "feed", reddit_search_url(short), interval="1h"),
    ]
    if tag:
        parts += [
            f"# Mastodon: public posts tagged #{tag}, filtered for the school (any instance works:",
            "# https://<instance>/tags/<tag>.rss; mastodon.social sees posts from the instances it follows).",
            _source(f"Mastodon #{tag}", "feed", mastodon_tag_url(tag)),
        ]
    parts += _ofsted(a)
    parts += _website(a)
    parts += [_google_alert(short)]
    return "\n".join(parts).rstrip() + "\n"


_HEAD = """\
# What the monitor watches for {name}, and who it tells.
# Written by `school-monitor init`: edit it freely, then check it after every edit:
#     school-monitor check          (with --config PATH when it is not ./sources.toml)
# Every key is described in README.md ("sources.toml"). Durations: 30s, 15m, 1h, 1d.
"""

_SMTP = """\
# Email. Without an [smtp] table each email is written as an .eml file under data/outbox/
# instead of being sent. Ask whoever runs the school's email for an account the monitor may
# send from, then remove the # in front of these lines and fill them in:
# [smtp]
# host = "smtp.example.org"
# port = 587
# security = "starttls"                   # "starttls", "tls" or "none" (a local relay)
# username = "school-monitor@example.org"
# password_env = "MONITOR_SMTP_PASSWORD"
#   The password never goes in this file: put it in that environment variable where the
#   monitor runs (`export MONITOR_SMTP_PASSWORD=...` before `make run`, or a systemd
#   EnvironmentFile= only the monitor's user can read; README.md, "Running as a service").
"""

_STORAGE = """\
[storage]
database = "sqlite:///data/monitor.db"   # beside this file
keep_days = 365                          # older unflagged mentions are deleted (data protection)

[defaults]
interval = "1h"
timeout = "20s"
"""

_HOSTS = f"""\
# Reddit answers about one request a minute per address; more draws "429 Too Many Requests".
# Every request to it, from any source, starts at least this long after the one before.
[hosts."{REDDIT_HOST}"]
min_gap = "60s"
"""


def _route(a: Answers) -> list[str]:
    lines = [
        "# The safeguarding lane: extremism (the Prevent duty) and abuse also go straight to the",
        "# designated safeguarding lead, never only into the comms digest.",
    ]
    route = ["[[alerts.route]]", 'name = "safeguarding"', 'labels = ["extremism", "abuse"]']
    if a.dsl:
        return lines + route + [f"recipients = {_list([a.dsl])}", ""]
    return lines + [f"# {line}" for line in route] + ['# recipients = ["dsl@example.org"]', ""]


def _ofsted(a: Answers) -> list[str]:
    lines = [
        "# Watched pages: no `item` selector, so the whole page is one item and a change is noticed",
        "# (scored on the lines it added). Only about the school, so every change counts: all_mentions.",
    ]
    if not a.urn:
        return lines + [
            "# The Ofsted report page and Parent View results are built from the school's URN: find it at",
            f"# {GIAS}, then run init again with --urn, or add them as README.md shows.",
            "",
        ]
    return lines + [
        "# The school's Ofsted report page: a new report or a monitoring visit.",
        _source("Ofsted report page", "page", ofsted_report_url(a.urn), all_mentions=True, interval="1d"),
        "# Ofsted Parent View: what parents answered (shown once at least 10 have answered a question).",
        _source("Ofsted Parent View", "page", parent_view_url(a.urn), all_mentions=True, interval="1d"),
    ]


def _website(a: Answers) -> list[str]:
    if not a.website_feed:
        return [
            "# The school website's news feed (the RSS link of its news page, often /feed/ or /rss):",
            "# add it as a source with all_mentions = true (init --website-feed URL writes it).",
            "",
        ]
    return [
        "# The school's own website news: every post is the school's, so all count (a defaced or",
        "# hijacked site shows here too).",
        _source("School website news", "feed", a.website_feed, all_mentions=True),
    ]


def _google_alert(short: str) -> str:
    return f"""\
# Google Alert: Google's own alerts for the name, as a feed. Create it once, by hand:
#   1. sign in at https://www.google.com/alerts with the school's Google account;
#   2. type {_quoted(short)} (with the quotes) and open "Show options";
#   3. set "Deliver to" to "RSS feed", then "Create Alert";
#   4. right-click the alert's RSS icon, copy the link and paste it as url below;
#   5. delete the `enabled = false` line.
# It carries only results for the search, so every item counts (all_mentions).
{_source("Google Alert", "feed", GOOGLE_ALERT_PLACEHOLDER, all_mentions=True, enabled=False)}"""


def _source(name: str, kind: str, url: str, **keys: str | bool) -> str:
    lines = ["[[source]]", f"name = {_q(name)}", f"type = {_q(kind)}", f"url = {_q(url)}"]
    for key, value in keys.items():
        lines.append(f"{key} = {('true' if value else 'false') if isinstance(value, bool) else _q(value)}")
    return "\n".join(lines) + "\n"


def _q(text: str) -> str:
    """A TOML basic string: JSON's escapes are a subset of TOML's; TOML also wants DEL escaped."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _list(items: Sequence[str]) -> str:
    return "[" + ", ".join(_q(x) for x in items) + "]"


def _unique(items: Sequence[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for x in items:
        seen.setdefault(x.lower(), x)
    return tuple(seen.values())
