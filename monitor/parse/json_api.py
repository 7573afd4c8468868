"""Bytes -> items for `type = "json"` sources: JMESPath expressions pick the list of posts out of
an API's answer (`items`) and each post's parts (`text`, `title`, `author`, `date`, `link`).
Pure: no network, no database, `now` passed in. The only module importing jmespath.

Rules:
- the whole source fails (ParseError) only for its own fault: a body that is not JSON, an `items`
  expression that matches nothing or gives something other than a list, an expression that is
  not JMESPath; an empty list is zero posts, not an error;
- one bad field spoils only itself: a part that cannot be read (an object where text was meant,
  a date that is not one, a link that is not http(s)) is dropped with a note, the post is kept;
- posts are what pages' posts are: the same identity ladder (link, else a hash of author, date
  and text), canonical links, future dates clamped, text through html_to_text, every field
  printable; each post's own JSON is its evidence.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import jmespath
import jmespath.functions
from jmespath.exceptions import JMESPathError

from monitor.config import PART_KEYS, Source
from monitor.errors import ParseError
from monitor.models import Item
from monitor.parse import dates, identity
from monitor.text import printable

_EPOCH = re.compile(r"^\s*-?\d{9,}(\.\d+)?\s*$")  # a number of seconds (or ms) written as a string
_BAD_HOST = re.compile(r"[\s\\<>\"'`{}|^]|[\x00-\x1f\x7f]")
_MAX_NOTE = 300


def expression_problem(expression: str) -> str | None:
    """Why an expression is not JMESPath, or None when it compiles (what `check` reports)."""
    try:
        compile_expression(expression)
    except ParseError as e:
        return str(e)
    return None


@functools.lru_cache(maxsize=512)
def compile_expression(expression: str) -> Any:
    """A JMESPath expression compiled once (every scan reuses it). ParseError when it is not one,
    or calls a function JMESPath does not have, or with the wrong number of arguments (which
    jmespath itself finds out only when the call is reached, post by post)."""
    if not expression.strip():
        raise ParseError("an empty expression is not JMESPath; give one or remove the key")
    try:
        compiled = jmespath.compile(expression)
    except JMESPathError as e:
        where = getattr(e, "lex_position", None)
        detail = getattr(e, "message", None) or getattr(e, "msg", None) or str(e).splitlines()[0]
        if "incomplete" in type(e).__name__.lower():
            detail = "it ends too soon"
        at = f" (at character {where + 1})" if isinstance(where, int) else ""
        raise ParseError(f"{expression!r} is not a JMESPath expression: {detail}{at}") from None
    except RecursionError:
        raise ParseError(f"{expression[:60]!r}… is nested too deeply to read") from None
    if problem := _function_problem(compiled.parsed):
        raise ParseError(f"{expression!r} is not a JMESPath expression: {problem}")
    return compiled


_FUNCTIONS = jmespath.functions.Functions.FUNCTION_TABLE


def _function_problem(tree: dict) -> str | None:
    """The first call in a parsed expression to an unknown function or with the wrong number of
    arguments (iterative: an expression can nest deeply)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if node.get("type") == "function_expression":
            name, given = node.get("value"), len(node.get("children", ()))
            if name not in _FUNCTIONS:
                return f"no function {name}() in JMESPath"
            signature = _FUNCTIONS[name]["signature"]
            variadic = bool(signature) and signature[-1].get("variadic")
            if given < len(signature) or (given > len(signature) and not variadic):
                wanted = f"at least {len(signature)}" if variadic else str(len(signature))
                return f"{name}() takes {wanted} argument(s), not {given}"
        stack.extend(c for c in node.get("children", ()) if isinstance(c, dict))
    return None


def parse_json(body: bytes, *, source: Source, url: str, now: datetime) -> list[Item]:
    """The posts of a JSON answer. Raises ParseError when the body is not JSON, an expression is
    not JMESPath, or `items` matches nothing or gives something other than a list."""
    # lxml (for the HTML in text fields) loads when a body is parsed: `check` compiles the
    # expressions without it.
    from monitor.parse.text import html_to_text

    if not source.items:  # the config requires it; a Source made by hand may lack it
        raise ParseError("a json source needs `items`, the JMESPath expression of its list of posts")
    items_expr = compile_expression(source.items)
    parts = {key: compile_expression(expr) for key in PART_KEYS if (expr := getattr(source, key))}
    data = _load(body)
    try:
        posts = items_expr.search(data)
    except JMESPathError as e:
        raise ParseError(f"items expression {source.items} failed: {e}") from None
    if posts is None:
        raise ParseError(f"items expression {source.items} matched nothing; the API may have changed")
    if not isinstance(posts, list):
        raise ParseError(
            f"items expression {source.items} gives {_kind(posts)}, not a list of posts; "
            "point it at the list (e.g. data.posts)"
        )
    return [_post(post, parts, source.name, url, now, html_to_text) for post in posts]


def _load(body: bytes) -> Any:
    """The JSON value of a body in UTF-8, -16 or -32 (a BOM allowed); a byte that is not in the
    encoding becomes U+FFFD rather than losing the whole answer."""
    try:
        text = body.decode(json.detect_encoding(body), "replace")
    except LookupError:
        text = body.decode("utf-8", "replace")
    head = text.lstrip()[:512].lower()
    if not head:
        raise ParseError("empty body: the server sent nothing")
    try:
        return json.loads(text)
    except RecursionError:
        raise ParseError("not JSON the monitor reads: nested too deeply") from None
    except json.JSONDecodeError as e:
        if head.startswith(("<!doctype html", "<html")) or "<html" in head:
            raise ParseError(
                "not JSON: the server sent an HTML page (has the API moved, or is it a login page?)"
            ) from None
        if head.startswith("<"):
            raise ParseError('not JSON: the server sent XML (a feed? then use type = "feed")') from None
        raise ParseError(f"not JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except ValueError as e:  # e.g. an integer of more digits than Python converts
        raise ParseError(f"not JSON the monitor reads: {str(e).split(':')[0]}") from None


def _post(
    post: Any, parts: dict[str, Any], source: str, url: str, now: datetime, html_to_text: Callable[[str], str]
) -> Item:
    notes: list[str] = []

    def part(key: str, convert: Callable[[Any], Any], default: Any) -> Any:
        """One part of the post, converted; on any fault `default`, and a note saying why."""
        if key not in parts:
            return default
        try:
            value = parts[key].search(post)
            return default if value is None else convert(value)
        except Exception as e:  # whatever the server sent: this field's fault, not the post's
            notes.append(f"{key} dropped: {e}"[:_MAX_NOTE])
            return default

    text = html_to_text(part("text", lambda v: _text(v, "\n"), ""))
    title = html_to_text(part("title", lambda v: _text(v, " "), ""))
    author = html_to_text(part("author", lambda v: _text(v, ", "), ""))
    link = part("link", lambda v: _link(v, url), "")
    written, when = part("date", lambda v: _date(v, now), ("", None))
    published, clamped = dates.clamp_date(when, now)
    return Item(
        source=source,
        key=printable(identity.item_key(None, link, title, text, extra=f"{author}\x00{written}")),
        url=printable(identity.canonical_link(link)) if link else "",
        title=printable(title),
        text=printable(text),
        author=printable(author),
        published=published,
        raw=_raw(post),
        notes=tuple(printable(n) for n in (*clamped, *notes)),
    )


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true or false"
    return "a number" if isinstance(value, int | float) else type(value).__name__


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise ValueError(f"the expression gives {_kind(value)}, not text; point it at one of its fields")


def _text(value: Any, joiner: str) -> str:
    """Text from what an expression gives: a string, a number, or a list of them (joined)."""
    if isinstance(value, list):
        if any(isinstance(v, dict | list) for v in value):
            raise ValueError("the expression gives a list of objects or lists, not text")
        return joiner.join(_scalar(v) for v in value if v is not None)
    return _scalar(value)


def _link(value: Any, base: str) -> str:
    """The post's address: an http(s) URL, relative ones taken from the API's URL; the first of a list."""
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), "")
    written = _scalar(value).strip()
    if not written:
        return ""
    link = urljoin(base, written)
    parts = urlsplit(link)
    parts.port  # noqa: B018  (raises ValueError when out of range)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or _BAD_HOST.search(parts.netloc):
        raise ValueError(f"{link[:100]!r} is not an http(s) URL")
    return link


def _date(value: Any, now: datetime) -> tuple[str, datetime]:
    """(the date as written, for the identity of a post without a link; its UTC datetime).
    ISO 8601, RFC 2822 or as people write it; a number (or a string of digits) is a Unix time in
    seconds, or milliseconds / microseconds when it is that large."""
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"the expression gives {_kind(value)}, not a date")
    written = str(value).strip()[:200]
    if isinstance(value, int | float) or _EPOCH.match(written):
        return written, _epoch(float(written))
    when = dates.parse_date_text(written, now)
    if when is None:
        raise ValueError(f"{written[:60]!r} is not a date")
    return written, when


def _epoch(seconds: float) -> datetime:
    if abs(seconds) >= 1e14:
        seconds /= 1e6
    elif abs(seconds) >= 1e11:
        seconds /= 1e3
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{seconds!r} is not a time the calendar holds") from None


def _raw(post: Any) -> str:
    """The post's own JSON, compact, as evidence (control characters stay escaped)."""
    try:
        raw = json.dumps(post, ensure_ascii=False, separators=(",", ":"))
    except (ValueError, RecursionError):
        return ""
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a "\ud800" escape: keep it escaped
        raw = json.dumps(post, ensure_ascii=True, separators=(",", ":"))
    return raw
