"""Errors raised by connector handlers and by the integration pipeline.

Handlers signal how a failed message must be treated by raising one of these;
any other exception is treated as retryable.
"""

from odoo.exceptions import UserError


class IntegrationError(Exception):
    """Base class of the errors a handler raises on purpose."""


class RetryableError(IntegrationError):
    """A transient failure: the message is retried by the backend's retry policy.

    :param seconds: retry after this many seconds instead of the policy's delay
    """

    def __init__(self, message="", seconds=None):
        super().__init__(message)
        self.seconds = seconds


class PermanentError(IntegrationError):
    """A failure that no retry can fix: the message goes to ``dead`` at once."""


class ReviewRequired(PermanentError):
    """The handler applied what it safely could, and a person must look (an
    imported order whose total differs from the channel's).

    Unlike other errors, the handler's work is kept: the message goes to
    ``dead`` with this reason, linked to ``record``, for a user to check, fix
    and replay or ignore.

    :param record: the record to review, linked to the message
    """

    def __init__(self, message="", record=None):
        super().__init__(message)
        self.record = record


class DependencyNotReady(IntegrationError):
    """The message depends on another one not applied yet (a refund before its order).

    The message waits and retries without spending its attempt budget.
    """

    def __init__(self, message="", seconds=None):
        super().__init__(message)
        self.seconds = seconds


class IllegalTransition(UserError):
    """A message was asked to move to a state it cannot reach from its current one."""


class SignatureError(IntegrationError):
    """A webhook failed signature verification; the route answers 401.

    ``reason`` is logged: it names what failed, never a secret or the payload.
    """

    def __init__(self, reason="invalid signature"):
        super().__init__(reason)
        self.reason = reason


class EncryptionKeyMissing(UserError):
    """A secret must be encrypted or decrypted but no key is configured."""


class TransientHttpError(RetryableError):
    """A call failed in a way a later attempt can fix: network error, timeout,
    408, 425, 429 or 5xx. ``seconds`` comes from ``Retry-After`` when given."""

    def __init__(self, message="", seconds=None, response=None, throttled=False):
        super().__init__(message, seconds=seconds)
        self.response = response
        self.throttled = throttled


class PermanentHttpError(PermanentError):
    """The provider refused the call (a 4xx other than 408, 425, 429)."""

    def __init__(self, message="", response=None):
        super().__init__(message)
        self.response = response


class AlreadyDelivered(IntegrationError):
    """The provider already holds what the outbound message delivers: an
    earlier attempt went through but its outcome was lost (its transaction
    rolled back after the call). The message ends ``sent`` without a new call;
    ``found`` (what the provider holds) goes to ``_outbox_adopt_delivered``."""

    def __init__(self, message="", found=None):
        super().__init__(message)
        self.found = found


class OutboundDeferred(IntegrationError):
    """No request was made: the backend's circuit is open or its rate limit asks
    for a longer wait. The message waits ``seconds`` without spending an attempt."""

    def __init__(self, message="", seconds=None):
        super().__init__(message)
        self.seconds = seconds


class ReconciliationError(IntegrationError):
    """A connector's ``_reconcile`` returned an item the framework cannot record."""
