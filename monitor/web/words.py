"""The desk's words for what the monitor stores in codes: flags, labels, statuses, errors."""

from __future__ import annotations

from monitor.errors import InvalidChoice, InvalidInput, InvalidPeriod, ItemNotFound, NoEvidence, RequestError

LABELS = {
    "extremism": "Extremism: hate, support for terrorism or violent extremism",
    "abuse": "Abuse: threats, harassment or insults aimed at people",
    "criticism": "Criticism of the school",
    "praise": "Praise of the school",
    "neutral": "Neutral: about the school, no stance",
    "offtopic": "Not about the school",
}

STATUSES = {
    "new": "awaiting review",
    "reviewed": "reviewed",
    "actioned": "actioned",
    "dismissed": "dismissed",
}

# The kinds of grave finding the scorer's rules name after "abuse:" or "extremism:".
_SHAPES = {
    "aimed": "hostile words aimed at a person",
    "you": "hostile words aimed at the reader",
    "wish": "a wish of harm",
    "deserve": "says someone should or deserves to be hurt",
    "dehumanised": "a group likened to vermin or disease",
    "removal": "urges that a group be removed",
    "attack": "praises an attacker or an attack",
    "group": "names a group shaped like a militant one",
}

_SIMPLE = {
    "criticism": "critical phrase",
    "praise": "praising phrase",
    "negated": "a phrase negated, so it counts the other way",
    "quoted": "praise in scare quotes, read as irony",
    "sarcasm": "a sarcasm cue",
    "staff": "names a member of staff",
    "reporting": "reads as a news report",
    "notice": "reads as a notice",
    "alias": "names the school as",
    "context": "confirmed as about the school by",
}


def flag(code: str) -> str:
    """One flag in words: "abuse:wish:hope she ends up in hospital" -> 'abuse — a wish of harm: “…”'."""
    kind, _, rest = code.partition(":")
    if kind == "vader":
        return f"overall tone {rest} (from −1 hostile to +1 warm)"
    if kind == "contrast":
        return f"turns with “{rest}”: what follows weighs more"
    if kind == "example":
        return f"reads like mention {rest}, whose label a person corrected"
    if kind == "possible":
        return "possible: the signals disagreed on a grave reading, so a person should judge it"
    if kind == "model":
        name, _, value = rest.partition(" ")
        return f"a model trained on people's comments rates it {name} language: {_share(value)}"
    if kind == "ai":
        grave, _, reason = rest.partition(":")
        return f"the AI second opinion called it {grave}: “{reason.strip()}”"
    if kind in ("abuse", "extremism"):
        shape, _, detail = rest.partition(":")
        if shape in _SHAPES:
            return f"{kind} — {_SHAPES[shape]}" + (f": “{detail}”" if detail else "")
        return f"{kind} — phrase “{rest}”"
    if kind == "reported":
        grave, _, phrase = rest.partition(":")
        return f"quotes or reports {grave} rather than making it: “{phrase}”"
    if kind in _SIMPLE and rest:
        return f"{_SIMPLE[kind]}: “{rest}”"
    return code


def _share(value: str) -> str:
    try:
        return f"{float(value):.0%}"
    except ValueError:
        return value


def label(name: str) -> str:
    return LABELS.get(name, name)


def status(name: str) -> str:
    return STATUSES.get(name, name)


def action(name: str | None) -> str:
    return (name or "").replace("-", " ")


HTTP_ERRORS = {
    400: "That request could not be used: the form may have expired. Go back, reload the page and try again.",
    401: "Your session has ended. Please sign in again.",
    403: "Your account cannot do that. Ask an admin if you need to.",
    404: "There is nothing at that address.",
    405: "That address does not take that kind of request.",
    413: "That upload is too large: a screenshot can be at most 10 MB.",
    429: "Too many requests. Please wait a few minutes.",
}


def http_error(code: int) -> str:
    return HTTP_ERRORS.get(code, "Something went wrong. The monitor's log says what.")


def request_error(e: RequestError) -> str:
    """A service error in the desk's words (its fields, not the command line's flags)."""
    if isinstance(e, ItemNotFound):
        return f"There is no mention #{e.item_id}: it may have been deleted under the data-retention rule."
    if isinstance(e, NoEvidence):
        return f"Mention #{e.item_id} has no stored evidence."
    if isinstance(e, InvalidChoice):
        return f"{e.field.capitalize()} “{e.value}” is not one of: {', '.join(e.allowed)}."
    if isinstance(e, InvalidInput):
        return f"{e.field.capitalize()}: {e.problem}."
    if isinstance(e, InvalidPeriod):
        return "The period starts after it ends."
    return str(e)
