from odoo.tests import tagged

from .common import StripeCase


@tagged("post_install", "-at_install")
class TestPaymentStripeCoexistence(StripeCase):
    """Odoo's payment_stripe books its own transactions: their events are
    recorded as ignored here. CI installs payment_stripe in the test database."""

    def setUp(self):
        super().setUp()
        provider = self.env.ref(
            "payment.payment_provider_stripe", raise_if_not_found=False
        )
        if provider is None or provider.code != "stripe":
            self.skipTest("payment_stripe is not installed")
        method = self.env.ref("payment.payment_method_card")
        self.transaction = self.env["payment.transaction"].create(
            {
                "provider_id": provider.id,
                "payment_method_id": method.id,
                "reference": "S00077-1",
                "amount": 30.0,
                "currency_id": self.company.currency_id.id,
                "partner_id": self.partner.id,
            }
        )

    def test_events_of_its_transactions_are_ignored(self):
        # payment_stripe puts its reference in the PaymentIntent's description
        intent = self.sim.create_payment("30.00", description="S00077-1")
        message = self.deliver(self.sim.event("payment_intent.succeeded", intent))
        self.assertEqual(message.state, "ignored")
        self.assertIn("payment_stripe transaction S00077-1", message.ignore_reason)
        self.assertFalse(self.payment_of(intent))
        # and its provider reference is the PaymentIntent (a refund names it)
        self.transaction.provider_reference = intent["id"]
        refund = self.sim.create_refund(intent)
        message = self.deliver(self.sim.event("refund.created", refund))
        self.assertEqual(message.state, "ignored")
        # other Stripe activity is still booked
        other = self.sim.create_payment("12.00", description="Shopify checkout")
        message = self.deliver(self.sim.event("payment_intent.succeeded", other))
        self.assertEqual(message.state, "done", message.last_error)
        self.assertTrue(self.payment_of(other))
