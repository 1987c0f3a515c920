import base64
import unittest

from odoo.addons.integration_core.exceptions import SignatureError
from odoo.addons.integration_core.signatures import (
    constant_time_equals,
    hmac_sha256_base64,
    hmac_sha256_hex,
    sign_standard_webhook,
    verify_standard_webhook,
)

# Test vector of the Standard Webhooks reference libraries.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


class TestStandardWebhooks(unittest.TestCase):
    def verify(
        self,
        signature=SPEC_SIGNATURE,
        secrets=(SPEC_SECRET,),
        now=SPEC_TIMESTAMP,
        body=SPEC_BODY,
        timestamp=SPEC_TIMESTAMP,
    ):
        verify_standard_webhook(
            list(secrets), body, SPEC_ID, str(timestamp), signature, now=now
        )

    def test_reference_vector(self):
        self.assertEqual(
            sign_standard_webhook(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY),
            SPEC_SIGNATURE,
        )
        self.verify()

    def test_several_signatures_and_secrets(self):
        self.verify(signature=f"v1,Zm9v v2,abc {SPEC_SIGNATURE}")
        other = "whsec_" + base64.b64encode(b"other secret").decode()
        self.verify(secrets=(other, SPEC_SECRET))

    def test_refusals(self):
        cases = {
            "signature mismatch": {"signature": "v1,Zm9v"},
            "no v1 signature": {"signature": "v2," + SPEC_SIGNATURE[3:]},
            "outside the tolerance": {"now": SPEC_TIMESTAMP + 301},
            "tolerance": {"now": SPEC_TIMESTAMP - 301},
            "no webhook secret": {"secrets": ()},
            "malformed webhook-timestamp": {"timestamp": "soon"},
            "missing": {"signature": ""},
        }
        for reason, kwargs in cases.items():
            with self.subTest(reason), self.assertRaises(SignatureError) as caught:
                self.verify(**kwargs)
            self.assertIn(reason, caught.exception.reason)
        with self.assertRaises(SignatureError):
            self.verify(body=SPEC_BODY + b" ")

    def test_within_tolerance(self):
        self.verify(now=SPEC_TIMESTAMP + 299)
        self.verify(now=SPEC_TIMESTAMP - 299)

    def test_bad_secret_is_a_signature_error(self):
        with self.assertRaises(SignatureError):
            self.verify(secrets=("whsec_not base64!",))

    def test_helpers(self):
        self.assertTrue(constant_time_equals("abc", b"abc"))
        self.assertFalse(constant_time_equals("abc", "abd"))
        self.assertEqual(
            hmac_sha256_hex("key", b"The quick brown fox jumps over the lazy dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
        )
        self.assertEqual(
            hmac_sha256_base64("key", b"The quick brown fox jumps over the lazy dog"),
            "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg=",
        )
