"""The HTTP layer every connector sends through.

One ``requests.Session`` per backend, thread and process (keep-alive connections
are reused by a worker, never shared across a fork), explicit timeouts on every
call, JSON bodies, a user agent naming the suite, and the classification of
responses the outbox retry logic relies on.
"""

import email.utils
import logging
import os
import threading
import time
from datetime import datetime, timezone

import requests

from .exceptions import PermanentHttpError, TransientHttpError

_logger = logging.getLogger(__name__)

USER_AGENT = "Odoo-Integration-Suite/18.0 (+integration_core)"
BODY_MAX_LENGTH = 4000

SUCCESS = "success"
RETRY = "retry"
THROTTLED = "throttled"
PERMANENT = "permanent"

# Statuses a later attempt can succeed on; 429 is apart because it is the
# provider asking us to slow down, not a sign it is unhealthy.
RETRYABLE_STATUSES = frozenset({408, 425})

_local = threading.local()


def classify_status(status):
    """Map an HTTP status to SUCCESS, RETRY, THROTTLED or PERMANENT."""
    if 200 <= status < 300:
        return SUCCESS
    if status == 429:
        return THROTTLED
    if status in RETRYABLE_STATUSES or status >= 500:
        return RETRY
    return PERMANENT


def parse_retry_after(value, now=None):
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date).

    :returns: a float >= 0, or None when the header is missing or unreadable
    """
    if value is None:
        return None
    value = str(value).strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        _logger.debug("Retry-After %r is not in seconds; reading it as a date", value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max((when - now).total_seconds(), 0.0)


def truncate_body(text, limit=BODY_MAX_LENGTH):
    text = text or ""
    return text if len(text) <= limit else text[:limit] + "..."


def build_url(base_url, path_or_url):
    """Join ``base_url`` and a relative path; absolute URLs are kept as they are."""
    if path_or_url.startswith(("http://", "https://")):
        return path_or_url
    if not base_url:
        raise ValueError(f"no API base URL to resolve {path_or_url!r}")
    return f"{base_url.rstrip('/')}/{path_or_url.lstrip('/')}"


def get_session(key):
    """The session of ``key`` (e.g. ``(dbname, backend_id)``) for this thread."""
    sessions = getattr(_local, "sessions", None)
    if sessions is None or getattr(_local, "pid", None) != os.getpid():
        # a forked worker must not reuse the parent's sockets
        sessions = _local.sessions = {}
        _local.pid = os.getpid()
    session = sessions.get(key)
    if session is None:
        session = sessions[key] = requests.Session()
        session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    return session


def drop_session(key):
    session = getattr(_local, "sessions", {}).pop(key, None)
    if session is not None:
        session.close()


class Response:
    """What a connector gets back from a successful call."""

    def __init__(self, raw, elapsed):
        self.raw = raw
        self.status = raw.status_code
        self.headers = raw.headers
        self.text = raw.text
        self.elapsed = elapsed

    def json(self):
        return self.raw.json() if self.text else None

    @property
    def body(self):
        return truncate_body(self.text)


def send(
    session, method, url, timeout, json=None, params=None, headers=None, data=None
):
    """Perform one call and classify it; ``data`` is a raw body (bytes sent as
    they are, e.g. when they are signed), instead of ``json``.

    :returns: a :class:`Response` for a 2xx answer
    :raises TransientHttpError: network errors, timeouts, 408/425/429/5xx
        (``seconds`` from ``Retry-After`` when given)
    :raises PermanentHttpError: any other status
    """
    start = time.monotonic()
    try:
        raw = session.request(
            method,
            url,
            json=json,
            data=data,
            params=params,
            headers=headers,
            timeout=timeout,
        )
    except requests.Timeout as err:
        raise TransientHttpError(f"timeout calling {method} {url}: {err}") from err
    except requests.RequestException as err:
        raise TransientHttpError(
            f"network error calling {method} {url}: {err}"
        ) from err
    response = Response(raw, time.monotonic() - start)
    kind = classify_status(response.status)
    if kind == SUCCESS:
        return response
    message = f"{method} {url} answered {response.status}"
    if kind == PERMANENT:
        raise PermanentHttpError(message, response=response)
    raise TransientHttpError(
        message,
        seconds=parse_retry_after(response.headers.get("Retry-After")),
        response=response,
        throttled=kind == THROTTLED,
    )
