from odoo.tests import tagged

from .common import StripeCase


@tagged("post_install", "-at_install")
class TestRefunds(StripeCase):
    def paid_invoice(self, amount):
        invoice = self.make_invoice(float(amount))
        intent = self.sim.create_payment(
            amount, metadata={"odoo_invoice": invoice.name}
        )
        self.deliver(self.sim.event("payment_intent.succeeded", intent))
        self.assertEqual(invoice.payment_state, "paid")
        return invoice, intent

    def receivable_lines(self, move):
        return move.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        )

    def test_partial_refund_reconciled_with_a_credit_note(self):
        invoice, intent = self.paid_invoice("100.00")
        refund = self.sim.create_refund(intent, "30.00")
        message = self.deliver(self.sim.event("refund.created", refund))
        self.assertEqual(message.state, "done", message.last_error)
        payment = self.payment_of(refund)
        self.assertEqual(payment.payment_type, "outbound")
        self.assertEqual(payment.amount, 30.0)
        receivable = self.receivable_lines(invoice).account_id
        self.assert_lines(
            payment.move_id, {self.stripe_account(): -30.0, receivable: 30.0}
        )
        note = self.env["account.move"].search([("reversed_entry_id", "=", invoice.id)])
        self.assertEqual(note.move_type, "out_refund")
        self.assertEqual(note.amount_total, 30.0)
        self.assertEqual(note.payment_state, "paid")
        self.assertTrue(self.receivable_lines(note).reconciled)
        self.assertEqual(invoice.payment_state, "paid")
        self.assertEqual(self.balance(self.stripe_account()), 70.0)
        self.assertTrue(
            self.env["integration.event"].search(
                [("topic", "=", "refund.created"), ("res_id", "=", payment.id)]
            )
        )
        # refund.updated of the same refund books nothing more
        self.deliver(
            self.sim.event(
                "refund.updated", self.sim.update_refund(refund["id"], "succeeded")
            )
        )
        self.assertEqual(self.balance(self.stripe_account()), 70.0)

    def test_full_refund_reverses_the_invoice(self):
        invoice, intent = self.paid_invoice("45.50")
        refund = self.sim.create_refund(intent)
        self.deliver(self.sim.event("refund.created", refund))
        note = self.env["account.move"].search([("reversed_entry_id", "=", invoice.id)])
        self.assertEqual(note.amount_total, 45.5)
        self.assertEqual(note.payment_state, "paid")
        self.assertEqual(self.balance(self.stripe_account()), 0.0)

    def test_pending_refund_books_when_it_succeeds_and_a_failure_cancels_it(self):
        _invoice, intent = self.paid_invoice("20.00")
        refund = self.sim.create_refund(intent, "5.00", status="pending")
        self.deliver(self.sim.event("refund.created", refund))
        self.assertFalse(self.payment_of(refund))
        self.deliver(
            self.sim.event(
                "refund.updated", self.sim.update_refund(refund["id"], "succeeded")
            )
        )
        payment = self.payment_of(refund)
        self.assertEqual(payment.state, "paid")
        self.deliver(
            self.sim.event(
                "refund.failed", self.sim.update_refund(refund["id"], "failed")
            )
        )
        self.assertEqual(payment.state, "canceled")
        self.assertEqual(self.balance(self.stripe_account()), 20.0)

    def test_refund_before_its_payment_waits(self):
        invoice = self.make_invoice(60.0)
        intent = self.sim.create_payment(
            "60.00", metadata={"odoo_invoice": invoice.name}
        )
        refund = self.sim.create_refund(intent, "10.00")
        message = self.deliver(self.sim.event("refund.created", refund))
        self.assertEqual(message.state, "failed")
        self.assertIn("not imported yet", message.last_error)
        self.deliver(self.sim.event("payment_intent.succeeded", intent))
        self.run_pending()
        self.assertEqual(message.state, "done", message.last_error)
        self.assertEqual(self.balance(self.stripe_account()), 50.0 - self.fees())

    def test_refund_before_the_orders_invoice_waits_for_it(self):
        # paid before it is invoiced (on delivery): the payment waits on the order
        self.backend.stripe_invoice_policy = "leave"
        order = self.make_order(80.0)
        intent = self.sim.create_payment("80.00", metadata={"odoo_order": order.name})
        self.deliver(self.sim.event("payment_intent.succeeded", intent))
        payment = self.payment_of(intent)
        self.assertEqual(payment.integration_sale_order_id, order)
        refund = self.sim.create_refund(intent, "20.00")
        message = self.deliver(self.sim.event("refund.created", refund))
        self.assertEqual(message.state, "failed")
        self.assertIn(
            f"the invoice of {order.name} is not posted yet", message.last_error
        )
        self.assertFalse(self.payment_of(refund))
        invoice = order._create_invoices()
        invoice.action_post()
        self.env["integration.payment.importer"]._match_order_payments(order, invoice)
        self.run_pending()
        self.assertEqual(message.state, "done", message.last_error)
        note = self.env["account.move"].search([("reversed_entry_id", "=", invoice.id)])
        self.assertEqual((len(note), note.amount_total), (1, 20.0))
        self.assertEqual(note.payment_state, "paid")
        self.assertFalse(self.payment_of(refund).integration_to_match)
        self.assertEqual(invoice.payment_state, "paid")

    def fees(self):
        return self.balance(self.fee_account)

    def test_refund_left_to_match_by_policy(self):
        self.backend.stripe_credit_note_policy = "leave"
        invoice, intent = self.paid_invoice("20.00")
        refund = self.sim.create_refund(intent, "5.00")
        self.deliver(self.sim.event("refund.created", refund))
        payment = self.payment_of(refund)
        self.assertTrue(payment.integration_to_match)
        self.assertFalse(
            self.env["account.move"].search([("reversed_entry_id", "=", invoice.id)])
        )


@tagged("post_install", "-at_install")
class TestDisputes(StripeCase):
    def disputed(self, amount="58.00"):
        invoice = self.make_invoice(float(amount))
        intent = self.sim.create_payment(
            amount, metadata={"odoo_invoice": invoice.name}
        )
        self.deliver(self.sim.event("payment_intent.succeeded", intent))
        dispute = self.sim.create_dispute(intent)
        message = self.deliver(self.sim.event("charge.dispute.created", dispute))
        self.assertEqual(message.state, "done", message.last_error)
        record = self.record_of("integration.stripe.dispute", dispute["id"])
        self.assertEqual(record.invoice_id, invoice)
        self.assertEqual(record.outcome, "open")
        self.assertTrue(
            invoice.activity_ids.filtered(lambda a: dispute["id"] in a.summary)
        )
        self.assertTrue(
            self.env["integration.event"].search(
                [("topic", "=", "dispute.opened"), ("res_id", "=", record.id)]
            )
        )
        withdrawn = self.sim.withdraw_dispute_funds(dispute["id"])
        self.deliver(self.sim.event("charge.dispute.funds_withdrawn", withdrawn))
        receivable = self.partner.property_account_receivable_id
        # 58 back on the customer's account, 15 dispute fee, 73 off the balance
        withdrawal = record.move_ids
        self.assert_lines(
            withdrawal,
            {self.stripe_account(): -73.0, receivable: 58.0, self.fee_account: 15.0},
        )
        return invoice, intent, dispute, record

    def test_dispute_won_reinstates_the_funds(self):
        _invoice, _intent, dispute, record = self.disputed()
        won = self.sim.close_dispute(dispute["id"], won=True)
        self.deliver(self.sim.event("charge.dispute.funds_reinstated", won))
        self.deliver(self.sim.event("charge.dispute.closed", won))
        self.assertEqual(record.outcome, "won")
        self.assertEqual(len(record.move_ids), 2)
        receivable_lines = record.move_ids.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        )
        self.assertTrue(all(receivable_lines.mapped("reconciled")))
        # the payment less the card fee and the dispute fee
        self.assertEqual(
            self.balance(self.stripe_account()), 58.0 - 15.0 - self.balance_fee_charge()
        )

    def balance_fee_charge(self):
        return self.balance(self.fee_account) - 15.0

    def test_dispute_lost_is_written_off(self):
        _invoice, _intent, dispute, record = self.disputed()
        lost = self.sim.close_dispute(dispute["id"], won=False)
        self.deliver(self.sim.event("charge.dispute.closed", lost))
        self.assertEqual(record.outcome, "lost")
        self.assertEqual(self.balance(self.loss_account), 58.0)
        receivable_lines = record.move_ids.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        )
        self.assertTrue(all(receivable_lines.mapped("reconciled")))
        # a late funds_withdrawn of the same dispute is stale: nothing more
        self.deliver(self.sim.event("charge.dispute.closed", lost))
        self.assertEqual(self.balance(self.loss_account), 58.0)

    def test_dispute_before_its_payment_waits(self):
        intent = self.sim.create_payment("10.00")
        dispute = self.sim.create_dispute(intent)
        message = self.deliver(self.sim.event("charge.dispute.created", dispute))
        self.assertEqual(message.state, "failed")
        self.deliver(self.sim.event("payment_intent.succeeded", intent))
        self.run_pending()
        self.assertEqual(message.state, "done", message.last_error)
