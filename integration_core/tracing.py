"""Correlation ids in log lines.

While a message is processed its correlation id sits in a context variable; a log
record factory prefixes every record created meanwhile (by any logger, in any
addon) with it, so ``grep <correlation id>`` follows one business flow through
the server log.
"""

import contextlib
import contextvars
import logging

current_correlation_id = contextvars.ContextVar(
    "integration_correlation_id", default=None
)

_installed_factory = None


def _make_factory(previous):
    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        correlation_id = current_correlation_id.get()
        record.integration_correlation_id = correlation_id
        if correlation_id and isinstance(record.msg, str):
            # with arguments the prefix joins the %-format string: escape its % signs
            prefix = (
                correlation_id.replace("%", "%%") if record.args else correlation_id
            )
            record.msg = f"[corr={prefix}] {record.msg}"
        return record

    factory.integration_tracing = True
    return factory


def install_log_record_factory():
    """Install the prefixing record factory once per process (idempotent)."""
    global _installed_factory
    current = logging.getLogRecordFactory()
    if getattr(current, "integration_tracing", False):
        return current
    _installed_factory = _make_factory(current)
    logging.setLogRecordFactory(_installed_factory)
    return _installed_factory


@contextlib.contextmanager
def correlation(correlation_id):
    """Tag the log lines written inside the block with ``correlation_id``."""
    token = current_correlation_id.set(correlation_id or None)
    try:
        yield
    finally:
        current_correlation_id.reset(token)


# Installed at import: the first processing already logs with the prefix.
install_log_record_factory()
