"""What a webhook sender can rely on: the rules a delivery must follow to be
stored, as plain functions without the ORM (see readme/DEVELOP.md, "Input
rules"). A delivery that breaks one is refused with 400 and a reason naming the
field; nothing is stored."""

import json
import math
from datetime import UTC, datetime

# Longer identifiers would not fit PostgreSQL's index rows (about 2.7 kB): they
# are refused instead of failing the insert.
MAX_IDENTIFIER_LENGTH = 255
# the webhook route's routing type (its dispatcher's)
WEBHOOK_ROUTING_TYPE = "integration_webhook"
IDENTIFIER_FIELDS = (
    "idempotency_key",
    "topic",
    "external_ref",
    "sequence_key",
    "correlation_id",
)


class IntakeRefused(ValueError):
    """A delivery breaks an input rule; ``reason`` says which, naming the field."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise IntakeRefused(f"number out of range: {text[:40]}")
    return value


def _reject_constant(name):
    raise IntakeRefused(f"{name} is not a JSON number")


def parse_json_body(raw_body):
    """The payload of a JSON body.

    :raises IntakeRefused: the body is not JSON, or holds a number beyond the
        range of a double (``1e400``) or ``NaN``/``Infinity``, which PostgreSQL
        cannot store
    """
    try:
        return json.loads(
            raw_body, parse_float=_finite_float, parse_constant=_reject_constant
        )
    except IntakeRefused:
        raise
    except (ValueError, RecursionError) as err:
        raise IntakeRefused("body is not valid JSON") from err


def storable(value):
    """Whether PostgreSQL can store ``value`` as text or jsonb: no NUL character,
    no lone surrogate, JSON-serialisable."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        text.encode()
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError):
        return False
    return "\x00" not in text and "\\u0000" not in text


def check_identifiers(values):
    """Refuse identifiers an index cannot hold.

    :param values: the message's field values (``IDENTIFIER_FIELDS`` among them)
    :raises IntakeRefused: naming the first field longer than
        ``MAX_IDENTIFIER_LENGTH`` characters
    """
    for name in IDENTIFIER_FIELDS:
        value = values.get(name)
        if isinstance(value, str) and len(value) > MAX_IDENTIFIER_LENGTH:
            raise IntakeRefused(
                f"{name} is longer than {MAX_IDENTIFIER_LENGTH} characters"
            )


def utc_naive(moment):
    """Naive UTC datetime (Odoo's convention) of ``moment``, or None when its
    UTC value is outside years 1 to 9999 (``9999-12-31T23:59:59-14:00``): such a
    time is not an event time, and the raw value stays in the payload."""
    if moment.tzinfo is None:
        return moment
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        return None


def parse_event_time(value):
    """Naive UTC datetime of an ISO 8601 string, or None when it is not one or
    falls outside the range :func:`utc_naive` accepts."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return utc_naive(moment)
