"""`python -m monitor` is `school-monitor`."""

from monitor.cli import main

raise SystemExit(main())
