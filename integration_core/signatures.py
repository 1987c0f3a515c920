"""Webhook signature helpers shared by the connectors.

Plain functions over bytes: no ORM, testable without a database. Every comparison
of a received signature is constant-time.
"""

import base64
import binascii
import hashlib
import hmac
import time

from .exceptions import SignatureError

STANDARD_WEBHOOKS_TOLERANCE = 5 * 60
STANDARD_WEBHOOKS_SECRET_PREFIX = "whsec_"


def _to_bytes(value):
    return value.encode() if isinstance(value, str) else bytes(value)


def constant_time_equals(left, right):
    """Compare two str/bytes values in time independent of where they differ."""
    return hmac.compare_digest(_to_bytes(left), _to_bytes(right))


def hmac_sha256(secret, body):
    """Raw HMAC-SHA256 digest of ``body`` with ``secret`` (str or bytes)."""
    return hmac.new(_to_bytes(secret), _to_bytes(body), hashlib.sha256).digest()


def hmac_sha256_base64(secret, body):
    """Base64 HMAC-SHA256 (Shopify ``X-Shopify-Hmac-Sha256``, Standard Webhooks)."""
    return base64.b64encode(hmac_sha256(secret, body)).decode()


def hmac_sha256_hex(secret, body):
    """Hex HMAC-SHA256 (Stripe ``v1=`` signatures and many others)."""
    return hmac.new(_to_bytes(secret), _to_bytes(body), hashlib.sha256).hexdigest()


def decode_standard_webhooks_secret(secret):
    """Key bytes of a Standard Webhooks secret ``whsec_<base64>``.

    :raises SignatureError: when the secret is not valid base64
    """
    secret = secret.strip()
    if secret.startswith(STANDARD_WEBHOOKS_SECRET_PREFIX):
        secret = secret[len(STANDARD_WEBHOOKS_SECRET_PREFIX) :]
    try:
        return base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError) as err:
        raise SignatureError("configured secret is not whsec_<base64>") from err


def sign_standard_webhook(secret, msg_id, timestamp, body):
    """The ``webhook-signature`` header value a sender computes (``v1,<base64>``)."""
    key = decode_standard_webhooks_secret(secret)
    signed = b"%s.%s.%s" % (
        _to_bytes(msg_id),
        _to_bytes(str(timestamp)),
        _to_bytes(body),
    )
    return "v1," + hmac_sha256_base64(key, signed)


def verify_standard_webhook(
    secrets,
    body,
    msg_id,
    timestamp,
    signature_header,
    now=None,
    tolerance=STANDARD_WEBHOOKS_TOLERANCE,
):
    """Verify a Standard Webhooks delivery (https://www.standardwebhooks.com).

    :param secrets: accepted secrets (``whsec_...``), current first
    :param body: the raw request body (bytes)
    :param msg_id: ``webhook-id`` header; ``timestamp``: ``webhook-timestamp``
        (Unix seconds); ``signature_header``: ``webhook-signature``, one or
        more space-separated ``v1,<base64>`` entries
    :raises SignatureError: with the reason when the delivery is not authentic
    """
    if not (msg_id and timestamp and signature_header):
        raise SignatureError(
            "missing webhook-id, webhook-timestamp or webhook-signature"
        )
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError) as err:
        raise SignatureError("malformed webhook-timestamp") from err
    now = time.time() if now is None else now
    if abs(now - sent_at) > tolerance:
        raise SignatureError("webhook-timestamp outside the tolerance")
    if not secrets:
        raise SignatureError("no webhook secret configured")
    received = [
        part.partition(",")[2]
        for part in signature_header.split()
        if part.startswith("v1,")
    ]
    if not received:
        raise SignatureError("no v1 signature")
    signed = b"%s.%s.%s" % (_to_bytes(msg_id), _to_bytes(str(timestamp)), body)
    expected = [
        hmac_sha256_base64(decode_standard_webhooks_secret(secret), signed)
        for secret in secrets
    ]
    # compare against every candidate so the time does not tell which one matched
    matched = False
    for candidate in received:
        for signature in expected:
            matched |= constant_time_equals(candidate, signature)
    if not matched:
        raise SignatureError("signature mismatch")
