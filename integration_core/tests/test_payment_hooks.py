"""The payment and refund importers' hooks for payment providers: policies
for unmatched payments and orders without invoice, matching by hand, fee and
internal transfer bookings, refunds of a provider's payment."""

from odoo import Command
from odoo.tests import TransactionCase, tagged

from odoo.addons.integration_core.exceptions import DependencyNotReady

from .common import make_backend


@tagged("post_install", "-at_install")
class TestPaymentHooks(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.journal = cls.env["account.journal"].create(
            {"name": "Provider", "code": "PRV1", "type": "bank"}
        )
        cls.bank = cls.env["account.journal"].create(
            {"name": "Bank hooks", "code": "BHK1", "type": "bank"}
        )
        cls.fees = cls.env["account.account"].create(
            {"name": "Provider fees", "code": "626900", "account_type": "expense"}
        )
        cls.backend = make_backend(
            cls.env,
            payment_map_ids=[
                Command.create({"gateway": "card", "journal_id": cls.journal.id})
            ],
        )
        cls.partner = cls.env["res.partner"].create(
            {"name": "Hooks customer", "email": "h@example.com"}
        )
        cls.importer = cls.env["integration.payment.importer"]._for_backend(cls.backend)

    def invoice(self, amount):
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.partner.id,
                "invoice_line_ids": [
                    Command.create(
                        {
                            "name": "Service",
                            "price_unit": amount,
                            "tax_ids": [Command.clear()],
                        }
                    )
                ],
            }
        )
        invoice.action_post()
        return invoice

    def document(self, external_id, amount, **match):
        return {
            "external_id": external_id,
            "amount": amount,
            "currency": self.env.company.currency_id.name,
            "gateway": "card",
            "match": match,
        }

    def test_sale_order_name_matches_the_odoo_order(self):
        product = self.env["product.product"].create({"name": "Svc", "type": "service"})
        order = self.env["sale.order"].create(
            {
                "partner_id": self.partner.id,
                "order_line": [
                    Command.create(
                        {"product_id": product.id, "price_unit": 20, "tax_id": []}
                    )
                ],
            }
        )
        order.action_confirm()
        payment = self.backend._import_canonical(
            "payment", self.document("hk-1", "20.00", sale_order_name=order.name)
        )
        self.assertEqual(payment.partner_id, self.partner)
        # the default invoice policy leaves it on the customer's account
        self.assertTrue(payment.integration_to_match)

    def test_unmatched_payment_waits_by_default(self):
        with self.assertRaises(DependencyNotReady):
            self.backend._import_canonical(
                "payment", self.document("hk-2", "5.00", by_hand=True)
            )

    def test_unmatched_payment_kept_and_matched_by_hand(self):
        self.patch(
            type(self.importer),
            "_get_unmatched_policy",
            lambda self, backend: "suspense",
        )
        payment = self.backend._import_canonical(
            "payment",
            self.document("hk-3", "15.00", customer_email="nobody@example.com"),
        )
        self.assertTrue(payment.integration_to_match)
        self.assertEqual(
            payment.destination_account_id, self.journal.suspense_account_id
        )
        invoice = self.invoice(15.0)
        self.importer._match_payment_by_hand(payment, invoice)
        self.assertEqual(
            invoice.payment_state,
            self.env["account.move"]._get_invoice_in_payment_state(),
        )
        self.assertFalse(payment.integration_to_match)
        self.assertEqual(payment.partner_id, self.partner)

    def test_matching_rules(self):
        self.patch(
            type(self.importer),
            "_get_unmatched_policy",
            lambda self, backend: "suspense",
        )
        self.patch(
            type(self.importer),
            "_get_match_rules",
            lambda self, backend: ("amount_email",),
        )
        invoice = self.invoice(12.0)
        payment = self.backend._import_canonical(
            "payment", self.document("hk-4", "12.00", customer_email="H@example.com")
        )
        self.assertIn(invoice, payment.reconciled_invoice_ids)

    def test_fee_and_internal_transfer(self):
        balance = self.journal.default_account_id
        fee = self.importer._book_fee(self.journal, self.fees, 1.5, "fee 1")
        self.assertEqual(
            sorted(
                fee.line_ids.mapped(lambda line: (line.account_id.id, line.balance))
            ),
            sorted([(self.fees.id, 1.5), (balance.id, -1.5)]),
        )
        outbound, inbound = self.importer._book_internal_transfer(
            self.journal, self.bank, 98.5, "payout 1"
        )
        self.assertEqual(outbound.paired_internal_transfer_payment_id, inbound)
        transfer = self.env.company.transfer_account_id
        lines = (outbound + inbound).move_id.line_ids.filtered(
            lambda line: line.account_id == transfer
        )
        self.assertEqual(len(lines), 2)
        self.assertTrue(all(lines.mapped("reconciled")))
        self.assertEqual(
            outbound.move_id.line_ids.filtered(
                lambda line: line.account_id == balance
            ).balance,
            -98.5,
        )

    def test_refund_of_a_provider_payment(self):
        invoice = self.invoice(40.0)
        self.backend._import_canonical(
            "payment", self.document("hk-5", "40.00", invoice_reference=invoice.name)
        )
        refunds = self.env["integration.refund.importer"]._for_backend(self.backend)
        data = {
            "external_id": "hk-r1",
            "payment_external_id": "hk-5",
            "amount": "10.00",
            "channel": "card",
        }
        with self.assertRaises(DependencyNotReady):
            refunds._import_payment_refund(
                self.backend, dict(data, payment_external_id="hk-none")
            )
        refund = refunds._import_payment_refund(self.backend, data)
        self.assertEqual(refund.payment_type, "outbound")
        # the default credit note policy leaves it to match
        self.assertTrue(refund.integration_to_match)
        self.patch(
            type(refunds), "_get_credit_note_policy", lambda self, backend: "create"
        )
        refund = refunds._import_payment_refund(
            self.backend, dict(data, external_id="hk-r2")
        )
        note = self.env["account.move"].search([("reversed_entry_id", "=", invoice.id)])
        self.assertEqual(note.amount_total, 10.0)
        self.assertFalse(refund.integration_to_match)
        self.assertEqual(
            refunds._import_payment_refund(
                self.backend, dict(data, external_id="hk-r2")
            ),
            refund,
        )
