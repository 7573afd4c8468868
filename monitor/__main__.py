"""`python -m monitor` is `school-monitor`."""

from monitor.cli import console

if __name__ == "__main__":  # a spawned parsing process imports this module too: it must not run a command
    raise SystemExit(console())
