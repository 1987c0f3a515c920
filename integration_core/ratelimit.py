"""Per-backend intake rate limiting (fixed one-minute windows, per process)."""

import threading
import time


class MinuteRateLimiter:
    """Count requests per key in the current minute window.

    State is kept in the worker process: with N HTTP workers a sender can reach
    up to N times the limit, which is enough to shed a flood without adding a
    database write to every delivery.
    """

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._windows = {}

    def hit(self, key, limit):
        """Count one request for ``key``.

        :returns: 0 when allowed, else the seconds until the window reopens
        """
        if not limit or limit <= 0:
            return 0
        now = self._clock()
        window = int(now // 60)
        with self._lock:
            start, count = self._windows.get(key, (window, 0))
            if start != window:
                start, count = window, 0
            if count >= limit:
                return max(1, int((window + 1) * 60 - now + 0.999))
            self._windows[key] = (start, count + 1)
            return 0

    def reset(self, key=None):
        with self._lock:
            if key is None:
                self._windows.clear()
            else:
                self._windows.pop(key, None)
