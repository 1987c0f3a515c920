from odoo.tests import tagged

from .common import StripeCase


@tagged("post_install", "-at_install")
class TestCurrencies(StripeCase):
    def test_zero_decimal_jpy(self):
        jpy = self.currency("JPY")
        self.assertEqual(jpy.decimal_places, 0)
        invoice = self.make_invoice(5000, currency=jpy)
        intent = self.sim.create_payment(
            "5000", currency="jpy", metadata={"odoo_invoice": invoice.name}
        )
        self.assertEqual(intent["amount_received"], 5000)
        message = self.deliver(self.sim.event("payment_intent.succeeded", intent))
        self.assertEqual(message.state, "done", message.last_error)
        payment = self.payment_of(intent)
        self.assertEqual(payment.amount, 5000)
        self.assertEqual(payment.currency_id, jpy)
        stripe_line = payment.move_id.line_ids.filtered(
            lambda line: line.account_id == self.stripe_account()
        )
        self.assertEqual(stripe_line.amount_currency, 5000)
        self.assertEqual(invoice.payment_state, "paid")
        self.assertEqual(invoice.amount_residual, 0)

    def test_three_decimal_kwd(self):
        kwd = self.currency("KWD")
        self.assertEqual(kwd.decimal_places, 3)
        # Stripe takes KWD amounts with a last digit 0; Odoo's product prices
        # have two decimals
        invoice = self.make_invoice(12.34, currency=kwd)
        intent = self.sim.create_payment(
            "12.340", currency="kwd", metadata={"odoo_invoice": invoice.name}
        )
        self.assertEqual(intent["amount_received"], 12340)
        self.deliver(self.sim.event("payment_intent.succeeded", intent))
        payment = self.payment_of(intent)
        self.assertEqual(payment.amount, 12.34)
        self.assertEqual(invoice.payment_state, "paid")
        refund = self.sim.create_refund(intent, "2.010")
        self.assertEqual(refund["amount"], 2010)
        self.deliver(self.sim.event("refund.created", refund))
        self.assertEqual(self.payment_of(refund).amount, 2.01)


@tagged("post_install", "-at_install")
class TestBadInput(StripeCase):
    def test_unknown_event_types_are_ignored(self):
        event = self.sim.event(
            "customer.created", {"id": "cus_1", "object": "customer"}
        )
        message = self.deliver(event)
        self.assertEqual(message.state, "ignored")
        self.assertIn("no handler", message.ignore_reason)

    def test_an_object_without_a_needed_field_is_dead_with_its_path(self):
        intent = self.sim.create_payment("5.00")
        del intent["amount_received"]
        message = self.deliver(self.sim.event("payment_intent.succeeded", intent))
        self.assertEqual(message.state, "dead")
        self.assertIn("missing data.object.amount_received", message.last_error)
        refund = self.sim.create_refund(self.sim.create_payment("5.00"))
        refund["currency"] = None
        message = self.deliver(self.sim.event("refund.created", refund))
        self.assertEqual(message.state, "dead")
        self.assertIn("missing data.object.currency", message.last_error)

    def test_a_float_amount_is_dead(self):
        intent = self.sim.create_payment("5.00")
        intent["amount_received"] = 5.5
        message = self.deliver(self.sim.event("payment_intent.succeeded", intent))
        self.assertEqual(message.state, "dead")
        self.assertIn("not an integer of minor units", message.last_error)

    def test_intake_keys(self):
        intent = self.sim.create_payment("5.00")
        event = self.sim.event("payment_intent.succeeded", intent)
        message = self.deliver(event, process=False)
        self.assertEqual(message.idempotency_key, event["id"])
        self.assertEqual(message.topic, "payment_intent.succeeded")
        self.assertEqual(message.sequence_key, intent["id"])
        self.assertEqual(message.external_ref, intent["id"])
        self.assertEqual(int(message.event_at.timestamp()), event["created"])
        refund = self.sim.create_refund(intent)
        message = self.deliver(self.sim.event("refund.created", refund), process=False)
        self.assertEqual(message.sequence_key, intent["id"])
        self.assertEqual(message.external_ref, refund["id"])
