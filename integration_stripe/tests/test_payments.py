from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from . import stripe_simulator as sim
from .common import StripeCase


@tagged("post_install", "-at_install")
class TestPayments(StripeCase):
    def receivable(self, invoice):
        return invoice.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        )

    def test_full_payment_reconciled_with_invoice_and_fee_booked(self):
        invoice = self.make_invoice(58.0)
        intent = self.sim.create_payment(
            "58.00", metadata={"odoo_invoice": invoice.name}
        )
        message = self.deliver(self.sim.event("payment_intent.succeeded", intent))
        self.assertEqual(message.state, "done", message.last_error)
        payment = self.payment_of(intent)
        self.assertEqual(message._get_record(), payment)
        self.assertEqual(payment.state, "paid")
        self.assertEqual(payment.journal_id, self.backend.stripe_journal_id)
        receivable = self.receivable(invoice).account_id
        self.assert_lines(
            payment.move_id, {self.stripe_account(): 58.0, receivable: -58.0}
        )
        self.assertTrue(self.receivable(invoice).reconciled)
        self.assertEqual(invoice.payment_state, "paid")
        self.assertFalse(payment.integration_to_match)
        # the fee: looked up apart from the payment, from the balance transaction
        self.run_pending()
        charge = self.sim.charge_of(intent)
        fee = self.record_of("account.move", charge["balance_transaction"])
        self.assertEqual(fee.state, "posted")
        # 2.9% of 5800 + 30 = 198 cents
        self.assert_lines(fee, {self.fee_account: 1.98, self.stripe_account(): -1.98})
        self.assertEqual(self.balance(self.stripe_account()), 56.02)
        event = self.env["integration.event"].search(
            [("topic", "=", "payment.received"), ("res_id", "=", payment.id)]
        )
        self.assertEqual(len(event), 1)

    def test_payment_for_order_without_invoice_creates_and_posts_it(self):
        order = self.make_order(40.0)
        intent = self.sim.create_payment("40.00", metadata={"odoo_order": order.name})
        message = self.deliver(self.sim.event("payment_intent.succeeded", intent))
        self.assertEqual(message.state, "done", message.last_error)
        invoice = order.invoice_ids
        self.assertEqual(len(invoice), 1)
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(invoice.payment_state, "paid")
        self.assertTrue(self.receivable(invoice).reconciled)

    def test_payment_before_invoice_left_to_match_by_hand(self):
        self.backend.stripe_invoice_policy = "leave"
        order = self.make_order(40.0)
        intent = self.sim.create_payment("40.00", metadata={"odoo_order": order.name})
        message = self.deliver(self.sim.event("payment_intent.succeeded", intent))
        self.assertEqual(message.state, "done", message.last_error)
        payment = self.payment_of(intent)
        self.assertFalse(order.invoice_ids)
        self.assertEqual(payment.partner_id, self.partner)
        self.assertTrue(payment.integration_to_match)
        self.assertFalse(payment.is_reconciled)
        self.assertIn(payment, self.needs_matching())
        # the invoice comes later; a person matches it
        invoice = order._create_invoices()
        invoice.action_post()
        payment.integration_match_invoice_id = invoice
        payment.action_integration_match()
        self.assertEqual(invoice.payment_state, "paid")
        self.assertTrue(self.receivable(invoice).reconciled)
        self.assertNotIn(payment, self.needs_matching())

    def needs_matching(self):
        action = self.env.ref(
            "integration_stripe.action_integration_payment_needs_matching"
        )
        return self.env["account.payment"].search(safe_eval(action.domain))

    def test_payment_naming_an_order_not_there_yet_waits(self):
        intent = self.sim.create_payment("12.00", metadata={"shopify_order": "#9001"})
        message = self.deliver(self.sim.event("payment_intent.succeeded", intent))
        self.assertEqual(message.state, "failed")
        self.assertIn("waiting for dependency", message.last_error)
        self.assertFalse(self.payment_of(intent))
        order = self.make_order(12.0)
        order.client_order_ref = "#9001"
        self.run_pending()
        self.assertEqual(message.state, "done", message.last_error)
        self.assertEqual(order.invoice_ids.payment_state, "paid")

    def test_unmatched_payment_posted_to_suspense_then_matched_by_hand(self):
        intent = self.sim.create_payment("75.00")
        message = self.deliver(self.sim.event("payment_intent.succeeded", intent))
        self.assertEqual(message.state, "done", message.last_error)
        payment = self.payment_of(intent)
        suspense = self.backend.stripe_journal_id.suspense_account_id
        self.assertEqual(payment.state, "paid")
        self.assertFalse(payment.partner_id)
        self.assert_lines(
            payment.move_id, {self.stripe_account(): 75.0, suspense: -75.0}
        )
        self.assertIn(payment, self.needs_matching())
        invoice = self.make_invoice(75.0)
        payment.integration_match_invoice_id = invoice
        payment.action_integration_match()
        receivable = self.receivable(invoice).account_id
        self.assert_lines(
            payment.move_id, {self.stripe_account(): 75.0, receivable: -75.0}
        )
        self.assertEqual(payment.partner_id, self.partner)
        self.assertEqual(invoice.payment_state, "paid")
        self.assertNotIn(payment, self.needs_matching())

    def test_unmatched_payment_left_draft(self):
        self.backend.stripe_unmatched_policy = "draft"
        intent = self.sim.create_payment("75.00")
        self.deliver(self.sim.event("payment_intent.succeeded", intent))
        payment = self.payment_of(intent)
        self.assertEqual(payment.state, "draft")
        self.assertIn(payment, self.needs_matching())
        invoice = self.make_invoice(75.0)
        payment.integration_match_invoice_id = invoice
        payment.action_integration_match()
        self.assertEqual(payment.state, "paid")
        self.assertEqual(invoice.payment_state, "paid")

    def test_matching_rules_invoice_number_and_email(self):
        invoice = self.make_invoice(33.0)
        intent = self.sim.create_payment("33.00", description=f"Pay {invoice.name}")
        self.deliver(self.sim.event("payment_intent.succeeded", intent))
        self.assertEqual(invoice.payment_state, "paid")
        other = self.make_invoice(21.0)
        by_email = self.sim.create_payment("21.00", email="BUYER@example.com")
        self.deliver(self.sim.event("payment_intent.succeeded", by_email))
        self.assertEqual(other.payment_state, "paid")
        self.assertFalse(self.payment_of(by_email).integration_to_match)

    def test_charge_without_payment_intent(self):
        invoice = self.make_invoice(10.0)
        charge = self.sim.create_payment(
            "10.00", metadata={"odoo_invoice": invoice.name}, with_intent=False
        )
        message = self.deliver(self.sim.event("charge.succeeded", charge))
        self.assertEqual(message.state, "done", message.last_error)
        self.assertEqual(message.sequence_key, charge["id"])
        self.assertEqual(invoice.payment_state, "paid")
        # a charge of a PaymentIntent is booked by the PaymentIntent's event
        intent = self.sim.create_payment("5.00")
        message = self.deliver(
            self.sim.event("charge.succeeded", self.sim.charge_of(intent))
        )
        self.assertEqual(message.state, "done")
        self.assertFalse(self.payment_of(intent))

    def test_payment_failed_is_recorded_without_booking(self):
        intent = self.sim.create_payment("5.00")
        intent["status"] = "requires_payment_method"
        message = self.deliver(self.sim.event("payment_intent.payment_failed", intent))
        self.assertEqual(message.state, "done")
        self.assertFalse(self.payment_of(intent))

    def test_fee_waits_for_a_late_balance_transaction_and_is_booked_once(self):
        self.sim.hold_balance_transactions()
        invoice = self.make_invoice(20.0)
        intent = self.sim.create_payment(
            "20.00", metadata={"odoo_invoice": invoice.name}
        )
        event = self.sim.event("payment_intent.succeeded", intent)
        self.deliver(event)
        # the payment is booked at once; its fee waits
        self.assertEqual(invoice.payment_state, "paid")
        fee_message = self.env["integration.inbox.message"].search(
            [("backend_id", "=", self.backend.id), ("topic", "=", "stripe.fee")]
        )
        self.run_pending(rounds=2)
        self.assertEqual(fee_message.state, "failed")
        self.assertIn("not available yet", fee_message.last_error)
        self.assertEqual(fee_message.attempt_count, 0)
        self.sim.release_balance_transactions()
        self.run_pending()
        self.assertEqual(fee_message.state, "done", fee_message.last_error)
        # a redelivery books nothing more
        self.deliver(event)
        self.deliver(self.sim.event("payment_intent.succeeded", intent))
        self.run_pending()
        fees = self.env["account.move.line"].search(
            [("account_id", "=", self.fee_account.id), ("parent_state", "=", "posted")]
        )
        self.assertEqual(len(fees), 1)
        self.assertEqual(fees.balance, 0.88)

    def test_fee_look_up_throttled_by_stripe_is_retried(self):
        intent = self.sim.create_payment("30.00")
        self.deliver(self.sim.event("payment_intent.succeeded", intent))
        fee_message = self.env["integration.inbox.message"].search(
            [("backend_id", "=", self.backend.id), ("topic", "=", "stripe.fee")]
        )
        self.sim.server.script(
            sim.Reply(503, {"error": {"type": "api_error", "message": "down"}})
        )
        self.run_pending(rounds=1)
        self.assertEqual(fee_message.state, "failed")
        self.assertIn("503", fee_message.last_error)
        self.assertEqual(fee_message.attempt_count, 1)
        self.backend.action_reset_circuit()
        self.run_pending()
        self.assertEqual(fee_message.state, "done", fee_message.last_error)
        calls = [r.path for r in self.sim.requests]
        self.assertIn(f"/v1/charges/{intent['latest_charge']}", calls)
