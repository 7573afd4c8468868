"""What a Fetcher remembers between fetches (robots.txt per host, the addresses of names): each
value computed once per key, even when threads ask at the same time, and kept a while.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class _OncePerKey(Generic[T]):
    """A cache whose value for each key is computed once (even when threads ask at the same time)
    and kept `keep` seconds."""

    def __init__(self, keep: float):
        self._keep = keep
        self._lock = threading.Lock()
        self._values: dict[str, tuple[T, float]] = {}
        self._locks: dict[str, threading.Lock] = {}

    def _fresh(self, key: str) -> tuple[T, float] | None:
        hit = self._values.get(key)
        return hit if hit is not None and hit[1] > time.monotonic() else None

    def get(self, key: str, compute: Callable[[], T]) -> T:
        with self._lock:
            hit = self._fresh(key)
            if hit is not None:
                return hit[0]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                hit = self._fresh(key)
                if hit is not None:
                    return hit[0]
            value = compute()
            with self._lock:
                self._values[key] = (value, time.monotonic() + self._keep)
            return value
