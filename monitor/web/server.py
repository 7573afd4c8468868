"""Serving the desk with waitress (a production WSGI server): alone (`school-monitor serve`) or in
a thread beside the daemon (`school-monitor run` with [web] listen).

With [web] trusted_proxy set, waitress honours X-Forwarded-For and X-Forwarded-Proto from that
one address (the reverse proxy that terminates TLS) and strips them from anyone else, so the
sign-in throttle sees the real client and a forged header counts for nothing.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING

from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from monitor.errors import ListenError
from monitor.web.app import MAX_UPLOAD, create_app, set_service

if TYPE_CHECKING:
    from monitor.service import Monitor

log = logging.getLogger("monitor.desk")

DEFAULT_LISTEN = "127.0.0.1:8080"
THREADS = 4


class DeskServer:
    """The desk on one address; `start` serves it in a thread, `run` in this one."""

    def __init__(self, monitor: Monitor, listen: str | None = None):
        self.app = create_app(monitor)
        self.listen = listen or monitor.cfg.web.listen or DEFAULT_LISTEN
        proxy = monitor.cfg.web.trusted_proxy
        options: dict = {
            "listen": self.listen,
            "threads": THREADS,
            "ident": "school-monitor",
            "max_request_body_size": MAX_UPLOAD + 1024**2,
            "clear_untrusted_proxy_headers": True,
        }
        if proxy:
            options.update(
                trusted_proxy=proxy,
                trusted_proxy_count=1,
                trusted_proxy_headers={"x-forwarded-for", "x-forwarded-proto"},
            )
        try:
            self._server: BaseWSGIServer | MultiSocketServer = create_server(self.app, **options)
        except (OSError, ValueError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            raise ListenError(f"the desk cannot listen on {self.listen}: {reason}") from None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where it listens, e.g. http://127.0.0.1:8080 (the real port when 0 was asked for)."""
        server = self._server
        name = server.getsockname() if isinstance(server, BaseWSGIServer) else server.effective_listen[0]
        host, port = str(name[0]), name[1]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"

    def set_monitor(self, monitor: Monitor) -> None:
        """After a reload: the new config, the same database."""
        set_service(self.app, monitor)

    def run(self) -> None:
        log.info("the review desk is at %s", self.url)
        if not self.app.extensions["school-monitor"].users():
            log.warning("the review desk has no accounts yet: add one with `school-monitor user add NAME --role admin`")
        self._server.run()

    def start(self) -> DeskServer:
        self._thread = threading.Thread(target=self.run, name="desk", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._server.close()
        self._server.task_dispatcher.shutdown(timeout=max(1, round(timeout)))
        if self._thread is not None:
            self._thread.join(timeout)


def serve(monitor: Monitor, listen: str | None = None) -> int:
    """`school-monitor serve`: until SIGTERM or SIGINT; exit status 0."""
    server = DeskServer(monitor, listen)

    def stop(_sig: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        server.run()  # waitress ends its loop on KeyboardInterrupt (Ctrl-C, or SIGTERM above)
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
    log.info("the review desk has stopped")
    return 0
