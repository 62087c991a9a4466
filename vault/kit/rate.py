"""A per-process budget of events per key in a sliding window: what keeps an anonymous caller
from turning every refused request into a database write."""

from __future__ import annotations

import math
import threading
import time
from collections import deque

_MAX_KEYS = 10_000


class Budget:
    def __init__(self, allowed: int, window_seconds: float) -> None:
        self._allowed = allowed
        self._window = window_seconds
        self._spent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def spend(self, key: str) -> int | None:
        """None if `key` may have one more event now (and it is counted); otherwise the whole
        seconds until it may."""
        now = time.monotonic()
        with self._lock:
            if len(self._spent) > _MAX_KEYS:
                self._forget_idle(now)
            spent = self._spent.setdefault(key, deque())
            while spent and now - spent[0] >= self._window:
                spent.popleft()
            if len(spent) >= self._allowed:
                return max(1, math.ceil(self._window - (now - spent[0])))
            spent.append(now)
            return None

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, s in self._spent.items() if not s or now - s[-1] >= self._window]:
            del self._spent[key]
