"""School reputation monitor: collects public mentions of a school, scores them, alerts staff."""

__version__ = "0.1.0"
