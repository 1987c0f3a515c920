import json
from datetime import UTC, datetime, timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from odoo.addons.integration_core.tests.common import make_backend, post_webhook

from .. import signature
from . import carrier_simulator as sim

WEBHOOK_LOGGER = "odoo.addons.integration_core.controllers.webhook"
SECRET = "caf\u00e9-secret"
AT = datetime.now(UTC) - timedelta(hours=1)


@tagged("post_install", "-at_install")
class TestCarrierWebhooks(HttpCase):
    """Signatures per dialect through the real route: a valid delivery is
    stored (once), any other answers 401 and stores nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backends = {
            dialect: make_backend(
                cls.env,
                "carrier",
                name=f"Carrier {dialect}",
                carrier_dialect=dialect,
                webhook_secret=SECRET,
            )
            for dialect in ("easypost", "aftership")
        }

    def payload(self, dialect):
        if dialect == "easypost":
            return sim.easypost_tracker_event("trk_w", "9400W", "in_transit", AT)
        return sim.aftership_tracking_update("as_w", "1ZW", "InTransit", AT)

    def post(self, dialect, body, headers):
        return post_webhook(self, self.backends[dialect], body, headers)

    def signed(self, dialect, body, secret=SECRET):
        return {
            "Content-Type": "application/json",
            signature.HEADERS[dialect]: signature.SIGNERS[dialect](secret, body),
        }

    def messages(self, dialect):
        return self.env["integration.inbox.message"].search(
            [("backend_id", "=", self.backends[dialect].id)]
        )

    def test_valid_then_duplicate(self):
        for dialect in self.backends:
            with self.subTest(dialect):
                body = json.dumps(self.payload(dialect)).encode()
                first = self.post(dialect, body, self.signed(dialect, body))
                self.assertEqual(first.status_code, 200, first.text)
                self.assertEqual(first.json()["status"], "accepted")
                again = self.post(dialect, body, self.signed(dialect, body))
                self.assertEqual(again.json()["status"], "duplicate")
                message = self.messages(dialect)
                self.assertEqual(len(message), 1)
                self.assertTrue(message.sequence_key.startswith("tracker:"))
                self.assertIn(message.topic, ("tracker.updated", "tracking_update"))

    def test_tampered_missing_and_wrong_are_refused(self):
        for dialect in self.backends:
            with self.subTest(dialect):
                body = json.dumps(self.payload(dialect)).encode()
                headers = self.signed(dialect, body)
                with mute_logger(WEBHOOK_LOGGER):
                    tampered = self.post(dialect, body + b" ", headers)
                    missing = self.post(
                        dialect, body, {"Content-Type": "application/json"}
                    )
                    wrong = self.post(dialect, body, self.signed(dialect, body, "x"))
                for response in (tampered, missing, wrong):
                    self.assertEqual(response.status_code, 401)
                self.assertFalse(self.messages(dialect))

    def test_easypost_nfkd_secret(self):
        body = json.dumps(self.payload("easypost")).encode()
        # EasyPost signs with its normalised copy of the secret
        headers = self.signed("easypost", body, "cafe\u0301-secret")
        self.assertEqual(self.post("easypost", body, headers).status_code, 200)

    def test_previous_secret_during_rotation(self):
        for dialect, backend in self.backends.items():
            with self.subTest(dialect):
                backend.action_rotate_webhook_secret()
                backend.write(
                    {
                        "webhook_secret": "new-secret",
                        "webhook_secret_previous_until": fields.Datetime.now()
                        + timedelta(days=1),
                    }
                )
                body = json.dumps(self.payload(dialect)).encode()
                old = self.post(dialect, body, self.signed(dialect, body))
                self.assertEqual(old.status_code, 200, old.text)
                backend.webhook_secret_previous_until = (
                    fields.Datetime.now() - timedelta(seconds=1)
                )
                body = json.dumps(self.payload(dialect)).encode()
                with mute_logger(WEBHOOK_LOGGER):
                    expired = self.post(dialect, body, self.signed(dialect, body))
                self.assertEqual(expired.status_code, 401)
                new = self.post(dialect, body, self.signed(dialect, body, "new-secret"))
                self.assertEqual(new.status_code, 200)
