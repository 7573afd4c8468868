"""The one exception root. Each subclass says which stage failed; the message says what to do."""


class MonitorError(Exception):
    """Root of every error the monitor raises on purpose. The CLI prints it without a traceback."""

    exit_code = 1


class ConfigError(MonitorError):
    """sources.toml (or a command-line argument) is wrong. Carries every problem found, with its key."""

    exit_code = 2

    def __init__(self, path, problems):
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

    def __init__(self, message, *, status=None, retry_after=None, permanent=False):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.permanent = permanent  # 404/410, robots disallow: no point retrying soon


class ParseError(MonitorError):
    """A fetched body could not be turned into items (not a feed, a selector matched nothing...)."""


class StoreError(MonitorError):
    """The database could not be opened or written."""


class NotifyError(MonitorError):
    """An email could not be rendered or sent (sending failures are queued, not raised to the user)."""
