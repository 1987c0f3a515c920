"""Keep expected statement failures out of Odoo's "bad query" error log.

``odoo.tools.mute_logger`` swaps the handlers of a logger process-wide, which is
not safe while other threads log (threaded server, job runner threads): two
overlapping uses can leave the logger muted for good. This filter is installed
once and only drops records of the thread that declared the failure expected.
"""

import contextlib
import logging
import threading

_expecting = threading.local()


class _ExpectedFailureFilter(logging.Filter):
    def filter(self, record):
        return not getattr(_expecting, "depth", 0)


logging.getLogger("odoo.sql_db").addFilter(_ExpectedFailureFilter())


@contextlib.contextmanager
def expected_sql_failure():
    """Within this block, this thread's failed statements are not logged as errors
    (the caller catches and handles them: unique key races, lock conflicts)."""
    _expecting.depth = getattr(_expecting, "depth", 0) + 1
    try:
        yield
    finally:
        _expecting.depth -= 1
