"""A total deadline per fetch, enforced by a watchdog thread that cuts the connection (a server
that drips one byte at a time defeats socket timeouts, which restart with every byte).

The one hook into urllib3 lives here too: connection pools that tell the running fetch's guard
which connection it is using (so the watchdog can cut it), and hold the address each connection
reached to the fetch's address rule (DNS rebinding, a kept-alive connection opened for another
source).
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from typing import Any

import requests
import urllib3

from monitor.fetch.addresses import _Scope


class _Guard:
    """One fetch (or robots.txt fetch within it): its deadline, what it is reading from (a
    connection, then the response) so the watchdog can cut it, and the address rule its
    connections are held to."""

    def __init__(self, deadline: float, scope: _Scope, outer: _Guard | None):
        self.deadline = deadline
        self.scope = scope
        self.outer = outer  # the fetch this robots.txt fetch runs within
        self.direct = True  # this hop connects to the host itself (not to a proxy)
        self.expired = False
        self._done = False
        self._target: Any = None
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def extend(self, seconds: float) -> None:
        """Push the deadline back (a wait that is not the server's fault), and that of the fetch
        this one runs within."""
        guard: _Guard | None = self
        while guard is not None:
            with guard._lock:
                guard.deadline += seconds
            guard = guard.outer

    def check_peer(self, sock: socket.socket, host: str) -> None:
        """The address a connection reached, held to the fetch's rule (it may differ from the one
        checked before: DNS rebinding, or a kept-alive connection opened for another source)."""
        if self.scope.private_ok or not self.direct:
            return  # through a proxy the peer is the proxy: its address says nothing of the host
        try:
            ip = str(sock.getpeername()[0])
        except OSError:
            return  # not connected: it will be, through _new_conn, and checked there
        if not self.scope.allows(ip):
            raise self.scope.refusal(host, ip, "connected")

    def attach(self, target: Any) -> None:
        with self._lock:
            self._target = target
            if self.expired and not self._done:
                _cut(target)

    def detach(self) -> None:
        with self._lock:
            self._target = None

    def disarm(self) -> None:
        with self._lock:
            self._done = True
            self._target = None

    def expire(self) -> float | None:
        """Cut the connection if the deadline has passed. Returns when to look again (the deadline
        was pushed back, or the fetch is still running after its cut), or None: it has finished."""
        with self._lock:
            if self._done:
                return None
            now = time.monotonic()
            if now < self.deadline:
                return self.deadline
            self.expired = True
            if self._target is not None:
                _cut(self._target)
            return now + _Watchdog.RECHECK


def _cut(target: Any) -> None:
    """Shut the socket down: a thread blocked reading it wakes at once (close() alone may not wake it)."""
    try:
        if isinstance(target, urllib3.HTTPResponse):
            target.shutdown()  # reading the body: http.client may already have let go of conn.sock
        elif getattr(target, "sock", None) is not None:
            target.sock.shutdown(socket.SHUT_RDWR)  # sending, or waiting for the headers
    except (OSError, ValueError, RuntimeError):
        pass  # already closed or released: nothing left to cut


class _Watchdog:
    """One thread per Fetcher that cuts the connection of any fetch past its deadline."""

    RECHECK = 0.25  # a fetch still running after its cut (e.g. it was connecting) is cut again

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Guard]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._closed = False

    def arm(self, timeout: float, scope: _Scope, outer: _Guard | None) -> _Guard:
        guard = _Guard(time.monotonic() + timeout, scope, outer)
        self._push(guard.deadline, guard)
        return guard

    def _push(self, when: float, guard: _Guard) -> None:
        with self._cond:
            earliest = not self._heap or when < self._heap[0][0]
            heapq.heappush(self._heap, (when, next(self._seq), guard))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fetch-watchdog", daemon=True)
                self._thread.start()
            elif earliest:
                self._cond.notify()  # only a new earliest deadline needs to wake the thread

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._cond.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                if self._closed:
                    return
                _, _, guard = heapq.heappop(self._heap)
            again = guard.expire()
            if again is not None:
                self._push(again, guard)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()


def _watched_pool(base: Any, local: threading.local) -> Any:
    """The one hook into urllib3, at connection time: a pool that tells the running fetch's guard
    which connection it is using (so the watchdog can cut it), takes it back before another fetch
    can pick it up, and holds the address each connection reached to the fetch's rule, both when
    it connects and when a kept-alive connection is taken up again."""
    connection: Any = base.ConnectionCls

    class WatchedConnection(connection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            guard = getattr(local, "guard", None)
            if guard is not None:
                try:
                    guard.check_peer(sock, self.host)
                except BaseException:
                    sock.close()
                    raise
            return sock

    class WatchedPool(base):
        ConnectionCls = WatchedConnection

        def _get_conn(self, timeout: float | None = None) -> Any:
            conn = super()._get_conn(timeout)
            guard = getattr(local, "guard", None)
            if guard is not None:
                if conn.sock is not None:
                    try:
                        guard.check_peer(conn.sock, self.host)
                    except BaseException:
                        conn.close()  # urlopen gives the pool back its place, empty
                        raise
                guard.attach(conn)
            return conn

        def _put_conn(self, conn: Any) -> None:
            guard = getattr(local, "guard", None)
            if guard is not None:
                guard.detach()
            super()._put_conn(conn)

    return WatchedPool


class _WatchedAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter with the watched pools (for direct connections and through a proxy)."""

    def __init__(self, local: threading.local, **kw: Any):
        self._pool_classes = {
            "http": _watched_pool(urllib3.HTTPConnectionPool, local),
            "https": _watched_pool(urllib3.HTTPSConnectionPool, local),
        }
        super().__init__(**kw)

    def init_poolmanager(self, *args: Any, **kw: Any) -> None:
        super().init_poolmanager(*args, **kw)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes

    def proxy_manager_for(self, proxy: str, **kw: Any) -> urllib3.ProxyManager:
        manager = super().proxy_manager_for(proxy, **kw)
        manager.pool_classes_by_scheme = self._pool_classes
        return manager
