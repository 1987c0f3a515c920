import unittest

from odoo.addons.integration_stripe import signature
from odoo.addons.integration_stripe.signature import StripeSignatureError

SECRET = "whsec_current"
OLD = "whsec_previous"
BODY = b'{"id":"evt_1","type":"payment_intent.succeeded"}'
NOW = 1_700_000_000


class TestStripeSignature(unittest.TestCase):
    def header(self, secrets=(SECRET,), timestamp=NOW, body=BODY):
        return signature.sign(list(secrets), body, timestamp)

    def verify(self, header, secrets=(SECRET,), body=BODY, now=NOW, tolerance=300):
        return signature.verify(
            body, header, list(secrets), tolerance=tolerance, now=now
        )

    def test_valid(self):
        self.assertEqual(self.verify(self.header()), NOW)
        # Stripe's documented scheme, computed independently
        import hashlib
        import hmac

        expected = hmac.new(
            SECRET.encode(), b"%d." % NOW + BODY, hashlib.sha256
        ).hexdigest()
        self.assertEqual(self.header(), f"t={NOW},v1={expected}")

    def test_tampered_body(self):
        with self.assertRaisesRegex(
            StripeSignatureError, "no Stripe-Signature v1 matches"
        ):
            self.verify(self.header(), body=BODY.replace(b"evt_1", b"evt_2"))

    def test_two_v1_values_during_rotation(self):
        # Stripe signs with the old and the new secret while rolling
        header = self.header(secrets=(OLD, SECRET))
        self.assertEqual(self.verify(header), NOW)
        self.assertEqual(self.verify(header, secrets=(OLD,)), NOW)
        with self.assertRaises(StripeSignatureError):
            self.verify(header, secrets=("whsec_other",))

    def test_previous_secret_is_one_of_the_secrets(self):
        self.assertEqual(
            self.verify(self.header(secrets=(OLD,)), secrets=(SECRET, OLD)), NOW
        )

    def test_tolerance_edges(self):
        self.assertEqual(self.verify(self.header(timestamp=NOW - 300)), NOW - 300)
        self.assertEqual(self.verify(self.header(timestamp=NOW + 300)), NOW + 300)
        with self.assertRaisesRegex(StripeSignatureError, "too old"):
            self.verify(self.header(timestamp=NOW - 301))
        with self.assertRaisesRegex(StripeSignatureError, "in the future"):
            self.verify(self.header(timestamp=NOW + 301))
        self.assertEqual(
            self.verify(self.header(timestamp=NOW - 500), tolerance=600), NOW - 500
        )

    def test_missing_header(self):
        for header in (None, "", "  "):
            with self.assertRaisesRegex(StripeSignatureError, "missing"):
                self.verify(header)

    def test_malformed_header(self):
        good = self.header().split(",")[1]
        for header in (
            "garbage",
            f"t=abc,{good}",
            f"t=,{good}",
            good,
            f"t={NOW}",
            f"t={NOW},v0=abc",
            f"t={NOW},t={NOW},{good}",
            f"t={NOW},,{good}",
        ):
            with self.subTest(header=header), self.assertRaises(StripeSignatureError):
                self.verify(header)

    def test_other_schemes_are_ignored(self):
        header = self.header() + ",v0=deadbeef"
        self.assertEqual(self.verify(header), NOW)

    def test_no_secret_configured_fails_closed(self):
        for secrets in ((), (None,), ("",)):
            with (
                self.subTest(secrets=secrets),
                self.assertRaisesRegex(
                    StripeSignatureError, "no webhook signing secret"
                ),
            ):
                self.verify(self.header(), secrets=secrets)
