from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged

from odoo.addons.integration_core.tests.common import LocalServerMixin

from . import stripe_simulator as sim
from .common import WEBHOOK_SECRET

OLD_SECRET = "whsec_test_stripe_previous"


@tagged("post_install", "-at_install")
class TestWebhookRoute(LocalServerMixin, HttpCase):
    """Signed deliveries through the real route, as Stripe sends them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls.env["integration.backend"].create(
            {
                "name": "Webhook Stripe",
                "backend_type": "stripe",
                "webhook_secret": WEBHOOK_SECRET,
            }
        )
        cls.stripe = sim.StripeSimulator()

    def sender(self, secrets=(WEBHOOK_SECRET,)):
        # the route reads the database, not this test's unflushed cache
        self.env.flush_all()
        url = f"{self.base_url()}/integration/webhook/{self.backend.webhook_token}"
        return sim.WebhookSender(url, list(secrets))

    def event(self):
        return self.stripe.event(
            "payment_intent.succeeded", self.stripe.create_payment("5.00")
        )

    def test_signed_delivery_is_stored_once(self):
        event = self.event()
        response = self.sender().send(event)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["status"], "accepted")
        message = self.env["integration.inbox.message"].browse(response.json()["id"])
        self.assertEqual(message.idempotency_key, event["id"])
        self.assertEqual(message.topic, "payment_intent.succeeded")
        duplicate = self.sender().send(event)
        self.assertEqual(duplicate.json()["status"], "duplicate")

    def test_refusals(self):
        event = self.event()
        sender = self.sender()
        self.assertEqual(self.sender(["whsec_wrong"]).send(event).status_code, 401)
        body, headers = sender.build(event)
        self.assertEqual(
            sender.post(body.replace(b"5.00", b"9.00") + b" ", headers).status_code, 401
        )
        self.assertEqual(
            sender.post(body, {"Content-Type": "application/json"}).status_code, 401
        )
        self.assertEqual(
            sender.post(
                body, dict(headers, **{"Stripe-Signature": "t=1,v1"})
            ).status_code,
            401,
        )
        old = int(fields.Datetime.now().timestamp()) - 301
        self.assertEqual(sender.send(event, timestamp=old).status_code, 401)
        broken = b'{"id": "evt_x", "type": '
        _body, headers = sender.build({})
        headers["Stripe-Signature"] = sim.sign([WEBHOOK_SECRET], broken)
        self.assertEqual(sender.post(broken, headers).status_code, 400)

    def test_no_secret_configured_fails_closed(self):
        self.backend.webhook_secret = False
        self.assertEqual(self.sender().send(self.event()).status_code, 401)

    def test_previous_secret_until_its_date(self):
        self.backend.write(
            {
                "webhook_secret_previous": OLD_SECRET,
                "webhook_secret_previous_until": fields.Datetime.now()
                + timedelta(days=1),
            }
        )
        self.assertEqual(self.sender([OLD_SECRET]).send(self.event()).status_code, 200)
        # Stripe's rotation: both signatures in one header
        self.assertEqual(
            self.sender([OLD_SECRET, WEBHOOK_SECRET]).send(self.event()).status_code,
            200,
        )
        self.backend.webhook_secret_previous_until = fields.Datetime.now() - timedelta(
            seconds=1
        )
        self.assertEqual(self.sender([OLD_SECRET]).send(self.event()).status_code, 401)
        self.assertEqual(self.sender().send(self.event()).status_code, 200)

    def test_check_api_key_against_the_simulator(self):
        with sim.StripeSimulator(api_key="sk_test_ok") as stripe:
            self.backend.write(
                {"api_base_url": stripe.url, "stripe_api_key": "sk_test_ok"}
            )
            result = self.backend.action_stripe_check_api_key()
            self.assertEqual(result["params"]["type"], "success")
            self.assertEqual(stripe.requests[-1].path, "/v1/balance")
            self.assertEqual(
                stripe.requests[-1].headers["Stripe-Version"], "2024-06-20"
            )
            self.backend.stripe_api_key = "sk_test_wrong"
            result = self.backend.action_stripe_check_api_key()
            self.assertEqual(result["params"]["type"], "danger")
            self.assertIn("Invalid API Key", result["params"]["message"])
