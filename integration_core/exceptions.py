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


class DependencyNotReady(IntegrationError):
    """The message depends on another one not applied yet (a refund before its order).

    The message waits and retries without spending its attempt budget.
    """

    def __init__(self, message="", seconds=None):
        super().__init__(message)
        self.seconds = seconds


class IllegalTransition(UserError):
    """A message was asked to move to a state it cannot reach from its current one."""
