"""Where the desk keeps its Monitor: one per app, replaced when the daemon reloads sources.toml."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, current_app

if TYPE_CHECKING:
    from monitor.service import Monitor

KEY = "school-monitor"


def set_service(app: Flask, monitor: Monitor) -> None:
    app.extensions[KEY] = monitor


def service() -> Monitor:
    """The Monitor of the app handling this request."""
    return current_app.extensions[KEY]
