"""Helpers for the HTTP headers stored beside inbound messages."""

# Header names (lower case) that carry credentials or signatures: never stored.
CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "webhook-signature",
        "stripe-signature",
        "x-shopify-hmac-sha256",
        "x-hub-signature",
        "x-hub-signature-256",
        "x-signature",
    }
)
CREDENTIAL_MARKERS = ("signature", "secret", "token", "password", "hmac")


def strip_credentials(headers):
    """Return a plain dict of ``headers`` without credential-bearing entries."""
    clean = {}
    for name, value in (headers or {}).items():
        lowered = name.lower()
        if lowered in CREDENTIAL_HEADERS or any(
            marker in lowered for marker in CREDENTIAL_MARKERS
        ):
            continue
        clean[name] = value
    return clean
