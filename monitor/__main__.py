"""`python -m monitor` is `school-monitor`."""

from monitor.cli import main

if __name__ == "__main__":  # a spawned parsing process imports this module too: it must not run a command
    raise SystemExit(main())
