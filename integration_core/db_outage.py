"""PostgreSQL outages as the webhook route sees them.

During an outage every delivery gets 503 and ``Retry-After``; the log gets one
line per worker when the database goes away and one when it is back, instead of
a traceback per request (Odoo logs one for each request otherwise).
"""

import logging
import threading

import psycopg2
from psycopg2 import errorcodes

# server-side codes meaning the server is going away or not accepting yet
_SHUTDOWN_CODES = (
    errorcodes.ADMIN_SHUTDOWN,
    errorcodes.CRASH_SHUTDOWN,
    errorcodes.CANNOT_CONNECT_NOW,
)


def _is_loss(error):
    if isinstance(error, psycopg2.InterfaceError):
        return True
    if not isinstance(error, psycopg2.OperationalError):
        return False
    code = error.pgcode
    # no code: raised by the client library (connection refused, server closed
    # the connection); class 08: connection exceptions
    return code is None or code.startswith("08") or code in _SHUTDOWN_CODES


def is_connection_loss(error):
    """True when ``error``, or an error it was raised from, means PostgreSQL
    cannot be reached (lock and serialization conflicts are not)."""
    seen = set()
    while error is not None and id(error) not in seen:
        if _is_loss(error):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


class OutageLog:
    """One log line per state change of this process: database lost, back."""

    def __init__(self, logger):
        self._logger = logger
        self._lock = threading.Lock()
        self.down = False

    def lost(self, error):
        """Record a connection loss; log it if the database was up until now."""
        with self._lock:
            if self.down:
                return False
            self.down = True
        self._logger.warning(
            "webhook intake: database unreachable (%s); deliveries get 503 "
            "until it is back",
            type(error).__name__,
        )
        return True

    def back(self):
        """Record a stored delivery; log it if the database was lost until now."""
        if not self.down:  # the hot path: no lock
            return False
        with self._lock:
            if not self.down:
                return False
            self.down = False
        self._logger.warning("webhook intake: database reachable again")
        return True


class ConnectionLossFilter(logging.Filter):
    """Drops the records Odoo's HTTP layer logs for a connection loss during a
    webhook request (a traceback each) and counts the loss in ``outage``."""

    def __init__(self, outage, in_webhook_request):
        super().__init__()
        self.outage = outage
        self.in_webhook_request = in_webhook_request

    def filter(self, record):
        error = record.exc_info[1] if record.exc_info else None
        if error is None or not is_connection_loss(error):
            return True
        if not self.in_webhook_request():
            return True
        self.outage.lost(error)
        return False
