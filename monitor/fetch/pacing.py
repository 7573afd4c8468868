"""Politeness per host: at most `per_host` requests in flight to one host:port (slots), and with
`host_gaps`, at least that many seconds between the starts of two requests to one host (any port)
or host:port. Both are waited for outside a fetch's deadline: waiting is not the server's fault.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping

from monitor.errors import FetchError
from monitor.fetch.addresses import _host_and_port


class _Pacer:
    """At least `gap` seconds between the starts of two requests to one host (any port) or host:port.

    A request takes the next start time when it is about to be sent (so threads queue in order
    without holding a lock while they wait) and then waits for it.
    """

    def __init__(self, gaps: Mapping[str, float]):
        self._gaps: dict[tuple[str, int | None], float] = {}
        for key, seconds in gaps.items():
            host, port = _host_and_port(str(key))
            gap = float(seconds)
            if not host or not math.isfinite(gap) or gap < 0:
                raise ValueError(f"host_gaps: {key!r} = {seconds!r} is not a host with a gap of 0 seconds or more")
            self._gaps[(host, port)] = gap
        self._next: dict[tuple[str, int | None], float] = {}
        self._lock = threading.Lock()

    def _keys(self, host: str, port: int | None) -> list[tuple[tuple[str, int | None], float]]:
        if port is None:  # "host" alone: each of its keys
            return [(k, g) for k, g in self._gaps.items() if k[0] == host]
        return [(k, self._gaps[k]) for k in ((host, None), (host, port)) if k in self._gaps]

    def gap(self, host: str, port: int | None) -> float:
        return max((g for _, g in self._keys(host, port)), default=0.0)

    def reserve(self, host: str, port: int, now: float) -> float:
        """Take this host's next start time; the seconds to wait for it."""
        if not self._gaps:
            return 0.0
        keys = self._keys(host, port)
        if not keys:
            return 0.0
        with self._lock:
            start = max([now] + [self._next.get(k, now) for k, _ in keys])
            for k, gap in keys:
                self._next[k] = start + gap
        return start - now

    def next_allowed(self, host: str, port: int | None, now: float) -> float:
        with self._lock:
            return max([0.0] + [self._next.get(k, now) - now for k, _ in self._keys(host, port)])


class _HostSlots:
    """At most `limit` requests in flight per host:port."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[str, threading.Semaphore] = {}

    def acquire(self, key: str, limit: int, timeout: float | None = None) -> threading.Semaphore:
        """Take a slot for host:port `key`; the caller releases the semaphore returned."""
        slots = self._slots.get(key)  # one dict read is atomic: only a new host takes the lock
        if slots is None:
            with self._lock:
                slots = self._slots.setdefault(key, threading.Semaphore(limit))
        if not slots.acquire(timeout=timeout):
            raise FetchError(f"no free connection slot for {key} within {timeout:g}s")
        return slots
