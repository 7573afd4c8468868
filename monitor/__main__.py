"""`python -m monitor` is `school-monitor`."""

from monitor.cli import entry

if __name__ == "__main__":  # a spawned parsing process imports this module too: it must not run a command
    raise SystemExit(entry())
