"""Stripe's ``Stripe-Signature`` webhook header, as plain functions.

``Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]``: each ``v1`` is
the hex HMAC-SHA256 of ``"{t}.{raw body}"`` keyed with an endpoint secret
(``whsec_...``, used as it is, not base64-decoded). While a secret is rolled,
Stripe signs with both and sends one ``v1`` per secret. Other schemes (``v0``
test signatures) are ignored. No ORM: unit-tested without a database.
"""

import time

from odoo.addons.integration_core.signatures import (
    constant_time_equals,
    hmac_sha256_hex,
)

DEFAULT_TOLERANCE = 300
SCHEME = "v1"


class StripeSignatureError(ValueError):
    """The header is missing, malformed, too old or too new, or matches no secret;
    the message names which, never a secret."""


def parse_header(header):
    """``(timestamp, [v1 signatures])`` of a ``Stripe-Signature`` value.

    :raises StripeSignatureError: no header, no ``t``, a ``t`` that is not an
        integer, or no ``v1`` value
    """
    if not header or not header.strip():
        raise StripeSignatureError("missing Stripe-Signature")
    timestamp = None
    signatures = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep or not value:
            raise StripeSignatureError("malformed Stripe-Signature")
        if key == "t":
            if not value.isdigit() or timestamp is not None:
                raise StripeSignatureError("malformed Stripe-Signature timestamp")
            timestamp = int(value)
        elif key == SCHEME:
            signatures.append(value.lower())
    if timestamp is None:
        raise StripeSignatureError("Stripe-Signature has no timestamp")
    if not signatures:
        raise StripeSignatureError("Stripe-Signature has no v1 signature")
    return timestamp, signatures


def compute_signature(secret, timestamp, raw_body):
    """The hex ``v1`` value Stripe computes for ``raw_body`` at ``timestamp``."""
    body = raw_body if isinstance(raw_body, bytes) else raw_body.encode()
    return hmac_sha256_hex(secret, b"%d." % timestamp + body)


def sign(secrets, raw_body, timestamp=None):
    """The ``Stripe-Signature`` header Stripe sends: one ``v1`` per secret."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    parts = [f"t={timestamp}"]
    parts += [
        f"v1={compute_signature(secret, timestamp, raw_body)}" for secret in secrets
    ]
    return ",".join(parts)


def verify(raw_body, header, secrets, tolerance=DEFAULT_TOLERANCE, now=None):
    """Check a delivery the way Stripe's libraries do, failing closed.

    :param secrets: the accepted endpoint secrets (current, then previous)
    :param tolerance: seconds ``t`` may lie before or after ``now``
    :returns: the signed timestamp
    :raises StripeSignatureError: no secret, bad header, ``t`` out of
        tolerance, or no ``v1`` matching any secret
    """
    secrets = [secret for secret in secrets or () if secret]
    if not secrets:
        raise StripeSignatureError("no webhook signing secret configured")
    timestamp, signatures = parse_header(header)
    now = time.time() if now is None else now
    if timestamp < now - tolerance:
        raise StripeSignatureError("Stripe-Signature timestamp is too old")
    if timestamp > now + tolerance:
        raise StripeSignatureError("Stripe-Signature timestamp is in the future")
    expected = [compute_signature(secret, timestamp, raw_body) for secret in secrets]
    # every pair is compared, so the time does not tell which one matched
    matches = [
        constant_time_equals(candidate, received)
        for candidate in expected
        for received in signatures
    ]
    if not any(matches):
        raise StripeSignatureError("no Stripe-Signature v1 matches the secrets")
    return timestamp
