from odoo.tests import BaseCase, tagged

from .. import signature

BODY = b'{"id": "evt_1", "description": "tracker.updated"}'


@tagged("post_install", "-at_install")
class TestSignatures(BaseCase):
    def headers(self, dialect, secret, body=BODY):
        return {
            signature.HEADERS[dialect].lower(): signature.SIGNERS[dialect](secret, body)
        }

    def test_valid_signature_per_dialect(self):
        for dialect, verify in signature.VERIFIERS.items():
            with self.subTest(dialect):
                verify(["s3cret"], BODY, self.headers(dialect, "s3cret"))

    def test_tampered_body_is_refused(self):
        for dialect, verify in signature.VERIFIERS.items():
            with (
                self.subTest(dialect),
                self.assertRaises(signature.CarrierSignatureError),
            ):
                verify(["s3cret"], BODY + b" ", self.headers(dialect, "s3cret"))

    def test_wrong_secret_is_refused(self):
        for dialect, verify in signature.VERIFIERS.items():
            with (
                self.subTest(dialect),
                self.assertRaises(signature.CarrierSignatureError),
            ):
                verify(["s3cret"], BODY, self.headers(dialect, "other"))

    def test_missing_header_is_refused(self):
        for dialect, verify in signature.VERIFIERS.items():
            with (
                self.subTest(dialect),
                self.assertRaisesRegex(signature.CarrierSignatureError, "missing"),
            ):
                verify(["s3cret"], BODY, {})

    def test_no_secret_configured_is_refused(self):
        for dialect, verify in signature.VERIFIERS.items():
            with (
                self.subTest(dialect),
                self.assertRaises(signature.CarrierSignatureError),
            ):
                verify([], BODY, self.headers(dialect, "s3cret"))

    def test_easypost_header_form(self):
        value = signature.sign_easypost("s3cret", BODY)
        self.assertRegex(value, r"^hmac-sha256-hex=[0-9a-f]{64}$")
        # the hex digest compares case-insensitively
        signature.verify_easypost(
            ["s3cret"],
            BODY,
            {
                "x-hmac-signature": value.upper().replace(
                    "HMAC-SHA256-HEX=", "hmac-sha256-hex="
                )
            },
        )
        with self.assertRaisesRegex(signature.CarrierSignatureError, "hmac-sha256-hex"):
            signature.verify_easypost(
                ["s3cret"], BODY, {"x-hmac-signature": value[16:]}
            )

    def test_easypost_secret_is_nfkd_normalised(self):
        composed = "caf\u00e9-\uff33ecret"  # é composed, full-width S
        decomposed = "cafe\u0301-Secret"  # what NFKD makes of it
        sent = self.headers("easypost", decomposed)
        # the secret as typed in Odoo verifies what EasyPost signed with its
        # normalised copy, and the other way round
        signature.verify_easypost([composed], BODY, sent)
        signature.verify_easypost(
            [decomposed], BODY, self.headers("easypost", composed)
        )
        self.assertEqual(signature.easypost_key(composed), decomposed.encode())

    def test_aftership_secret_is_used_as_it_is(self):
        composed = "caf\u00e9"
        with self.assertRaises(signature.CarrierSignatureError):
            signature.verify_aftership(
                [composed], BODY, self.headers("aftership", "cafe\u0301")
            )

    def test_previous_secret_during_rotation(self):
        for dialect, verify in signature.VERIFIERS.items():
            with self.subTest(dialect):
                verify(["new", "old"], BODY, self.headers(dialect, "old"))
                verify(["new", "old"], BODY, self.headers(dialect, "new"))
                with self.assertRaises(signature.CarrierSignatureError):
                    verify(["new"], BODY, self.headers(dialect, "old"))
