"""The one exception root. Each subclass says which stage failed; the message says what to do."""

from __future__ import annotations

from collections.abc import Iterable


class MonitorError(Exception):
    """Root of every error the monitor raises on purpose. The CLI prints it without a traceback."""

    exit_code = 1


class ConfigError(MonitorError):
    """sources.toml (or a command-line argument) is wrong. Carries every problem found, with its key."""

    exit_code = 2

    def __init__(self, path: object, problems: Iterable[tuple[str | None, str]]):
        self.path = str(path)
        self.problems = list(problems)  # [(key, problem)]
        lines = [
            f"{self.path}: {key}: {problem}" if key else f"{self.path}: {problem}" for key, problem in self.problems
        ]
        super().__init__("\n".join(lines))


class UsageError(MonitorError):
    """A bad command-line argument (a date, a duration, an unknown id)."""

    exit_code = 2


class FetchError(MonitorError):
    """A source could not be fetched. `retry_after` (seconds) is set when the server asked for a pause."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None, permanent: bool = False
    ):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.permanent = permanent  # 404/410, robots disallow: no point retrying soon


class AddressRefused(FetchError):
    """A fetch refused because of where it would connect (a private address where only public
    ones may be read)."""

    def __init__(self, message: str):
        super().__init__(message, permanent=True)


class ParseError(MonitorError):
    """A fetched body could not be turned into items (not a feed, a selector matched nothing...)."""


class StoreError(MonitorError):
    """The database could not be opened or written."""


class NotifyError(MonitorError):
    """An email could not be rendered or sent (sending failures are queued, not raised to the user)."""


# ---------------------------------------------------------------- what a request to the service got wrong
#
# Raised by the service with the facts, not with words for one front end: the command line says
# "--since … must be before --until", the desk highlights a form field. Each carries its data.


class RequestError(MonitorError):
    """A request the service cannot do as asked (an unknown id, a bad choice, a bad period)."""

    exit_code = 2


class ItemNotFound(RequestError):
    def __init__(self, item_id: int):
        super().__init__(f"no mention with id {item_id}")
        self.item_id = item_id


class MessageNotFound(RequestError):
    def __init__(self, outbox_id: int):
        super().__init__(f"no unsent message with id {outbox_id}")
        self.outbox_id = outbox_id


class UnknownSources(RequestError):
    def __init__(self, names: list[str]):
        super().__init__(f"no source named {', '.join(map(repr, names))}")
        self.names = names


class InvalidChoice(RequestError):
    """A value outside its allowed set: a review status, an action, a label, a report format."""

    def __init__(self, field: str, value: str, allowed: tuple[str, ...] | list[str]):
        super().__init__(f"{field} {value!r}: use one of {', '.join(allowed)}")
        self.field, self.value, self.allowed = field, value, tuple(allowed)


class InvalidPeriod(RequestError):
    def __init__(self, since: object, until: object):
        super().__init__(f"the period starts ({since}) after it ends ({until})")
        self.since, self.until = since, until


class InvalidInput(RequestError):
    """A value that is not what it must be (a URL that is not http(s), a screenshot that is not an image)."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


class NothingToFetch(RequestError):
    """A mention added by hand whose address could not be read, and no text was given."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"could not fetch {url} ({reason}) and no text was given")
        self.url, self.reason = url, reason


class NoEvidence(RequestError):
    def __init__(self, item_id: int):
        super().__init__(f"mention {item_id} has no stored evidence")
        self.item_id = item_id


# ---------------------------------------------------------------- the review desk's accounts


class UserNotFound(RequestError):
    def __init__(self, name: str):
        super().__init__(f"no user named {name!r}")
        self.name = name


class UserExists(RequestError):
    def __init__(self, name: str):
        super().__init__(f"a user named {name!r} already exists")
        self.name = name


class InvalidPassword(RequestError):
    """A new password that is not acceptable (too short, the two entries differ)."""

    def __init__(self, problem: str):
        super().__init__(f"password: {problem}")
        self.problem = problem


class LastAdmin(RequestError):
    """Removing or demoting the only admin would leave nobody to manage the accounts."""

    def __init__(self, name: str):
        super().__init__(f"{name!r} is the only admin; make another user admin first")
        self.name = name


class SignInFailed(RequestError):
    """A wrong name or password (never which of the two)."""

    def __init__(self) -> None:
        super().__init__("wrong name or password")


class SignInThrottled(RequestError):
    """Too many failed sign-ins for this name or from this address: refused until `until`."""

    def __init__(self, until: object):
        super().__init__(f"too many failed sign-ins; try again after {until}")
        self.until = until


class ListenError(MonitorError):
    """The desk cannot listen where it was asked (the port is taken, the address is not this host's)."""
