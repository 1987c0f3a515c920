"""Webhook signatures of the two carrier dialects, as plain functions.

- EasyPost: ``X-Hmac-Signature: hmac-sha256-hex=<hex>``, the hex HMAC-SHA256 of
  the raw body keyed with the webhook secret after Unicode NFKD normalisation
  (a secret typed with composed accents or full-width letters signs like
  EasyPost's normalised copy of it).
- AfterShip: ``aftership-hmac-sha256: <base64>``, the base64 HMAC-SHA256 of the
  raw body keyed with the secret as it is.

Each verifier takes the accepted secrets (the current one, and the previous
one while it is rotated out) and compares in constant time. No ORM: unit-tested
without a database.
"""

import unicodedata

from odoo.addons.integration_core.signatures import (
    constant_time_equals,
    hmac_sha256_base64,
    hmac_sha256_hex,
)

EASYPOST_HEADER = "x-hmac-signature"
EASYPOST_PREFIX = "hmac-sha256-hex="
AFTERSHIP_HEADER = "aftership-hmac-sha256"


class CarrierSignatureError(ValueError):
    """Missing header, no secret, or no secret matches; never names a secret."""


def easypost_key(secret):
    """The HMAC key EasyPost signs with: the secret, NFKD-normalised, UTF-8."""
    return unicodedata.normalize("NFKD", secret).encode()


def sign_easypost(secret, body):
    """The ``X-Hmac-Signature`` value of ``body`` (what EasyPost sends)."""
    return EASYPOST_PREFIX + hmac_sha256_hex(easypost_key(secret), body)


def sign_aftership(secret, body):
    """The ``aftership-hmac-sha256`` value of ``body``."""
    return hmac_sha256_base64(secret.encode(), body)


def _check(received, expected_values, header):
    if not any(
        constant_time_equals(expected, received) for expected in expected_values
    ):
        raise CarrierSignatureError(f"{header} does not match")


def verify_easypost(secrets, body, headers):
    """Accept ``body`` when its ``X-Hmac-Signature`` is one of ``secrets``'.

    :param headers: a dict with lower-case names
    :raises CarrierSignatureError: missing or malformed header, no secret, or
        no secret matches
    """
    received = (headers.get(EASYPOST_HEADER) or "").strip()
    if not received:
        raise CarrierSignatureError("missing X-Hmac-Signature")
    if not received.lower().startswith(EASYPOST_PREFIX):
        raise CarrierSignatureError("X-Hmac-Signature is not hmac-sha256-hex=<hex>")
    if not secrets:
        raise CarrierSignatureError("no webhook secret configured")
    received = EASYPOST_PREFIX + received[len(EASYPOST_PREFIX) :].lower()
    _check(received, [sign_easypost(s, body) for s in secrets], "X-Hmac-Signature")


def verify_aftership(secrets, body, headers):
    """Accept ``body`` when its ``aftership-hmac-sha256`` is one of ``secrets``'.

    :raises CarrierSignatureError: missing header, no secret, or no secret matches
    """
    received = (headers.get(AFTERSHIP_HEADER) or "").strip()
    if not received:
        raise CarrierSignatureError("missing aftership-hmac-sha256")
    if not secrets:
        raise CarrierSignatureError("no webhook secret configured")
    _check(
        received, [sign_aftership(s, body) for s in secrets], "aftership-hmac-sha256"
    )


VERIFIERS = {"easypost": verify_easypost, "aftership": verify_aftership}
SIGNERS = {"easypost": sign_easypost, "aftership": sign_aftership}
HEADERS = {"easypost": "X-Hmac-Signature", "aftership": "aftership-hmac-sha256"}
