import unittest
from decimal import Decimal

from odoo.addons.integration_core import canonical
from odoo.addons.integration_stripe import currency, mapping

from . import stripe_simulator as sim


class TestCurrencyTable(unittest.TestCase):
    def test_exponents(self):
        for code in ("JPY", "KRW", "VND", "XOF", "UGX", "CLP"):
            self.assertEqual(currency.exponent(code), 0, code)
        for code in ("KWD", "BHD", "OMR", "JOD", "TND"):
            self.assertEqual(currency.exponent(code), 3, code)
        # Stripe's special cases stay two-decimal in the API
        for code in ("ISK", "HUF", "TWD", "USD", "EUR"):
            self.assertEqual(currency.exponent(code), 2, code)

    def test_conversions_are_exact(self):
        self.assertEqual(currency.from_minor(5800, "eur"), Decimal("58.00"))
        self.assertEqual(currency.from_minor(5000, "JPY"), Decimal(5000))
        self.assertEqual(currency.from_minor(12340, "KWD"), Decimal("12.340"))
        self.assertEqual(currency.from_minor(500, "ISK"), Decimal("5.00"))
        self.assertEqual(currency.from_minor(5000, "UGX"), Decimal(5000))
        self.assertEqual(currency.to_money(1, "USD"), "0.01")
        self.assertEqual(currency.to_money(1999, "JPY"), "1999")
        self.assertEqual(currency.to_minor("58.00", "EUR"), 5800)
        self.assertEqual(currency.to_minor("12.34", "KWD"), 12340)
        with self.assertRaises(ValueError):
            currency.to_minor("1.5", "JPY")
        with self.assertRaises(TypeError):
            currency.from_minor(58.0, "EUR")
        with self.assertRaises(TypeError):
            currency.from_minor(True, "EUR")


class TestMapping(unittest.TestCase):
    def setUp(self):
        super().setUp()
        self.sim = sim.StripeSimulator()

    def test_payment_intent_to_canonical_payment(self):
        intent = self.sim.create_payment(
            "58.00",
            currency="eur",
            metadata={"odoo_invoice": "INV/2026/00042", "odoo_order": "S00042"},
            email="jane@example.com",
            description="Order S00042",
        )
        document = mapping.to_canonical_payment(
            self.sim.event("payment_intent.succeeded", intent)
        )
        canonical.validate("payment", document)
        charge = self.sim.charge_of(intent)
        self.assertEqual(document["external_id"], intent["id"])
        self.assertEqual(document["amount"], "58.00")
        self.assertEqual(document["currency"], "EUR")
        self.assertEqual(document["reference"], charge["id"])
        self.assertEqual(
            document["match"],
            {
                "invoice_reference": "INV/2026/00042",
                "sale_order_name": "S00042",
                "customer_email": "jane@example.com",
                "description": "Order S00042",
            },
        )
        self.assertEqual(document["extra"]["charge"], charge["id"])
        self.assertTrue(document["paid_at"].endswith("Z"))

    def test_shopify_order_name_and_nothing_to_match(self):
        intent = self.sim.create_payment("5.00", metadata={"shopify_order": "#1001"})
        document = mapping.to_canonical_payment(
            self.sim.event("payment_intent.succeeded", intent)
        )
        self.assertEqual(document["match"], {"order_name": "#1001"})
        bare = self.sim.create_payment("5.00")
        document = mapping.to_canonical_payment(
            self.sim.event("payment_intent.succeeded", bare)
        )
        self.assertEqual(document["match"], {"by_hand": True})
        canonical.validate("payment", document)

    def test_zero_decimal_amounts(self):
        intent = self.sim.create_payment("5000", currency="jpy")
        document = mapping.to_canonical_payment(
            self.sim.event("payment_intent.succeeded", intent)
        )
        self.assertEqual(document["amount"], "5000")

    def test_missing_fields_name_their_path(self):
        intent = self.sim.create_payment("5.00")
        del intent["currency"]
        with self.assertRaisesRegex(KeyError, "missing data.object.currency"):
            mapping.to_canonical_payment(
                self.sim.event("payment_intent.succeeded", intent)
            )
        with self.assertRaisesRegex(KeyError, r"missing \$.data.object"):
            mapping.to_canonical_payment({"id": "evt_1", "type": "x"})

    def test_sequence_key_is_the_payment_intent_or_the_charge(self):
        intent = self.sim.create_payment("5.00")
        refund = self.sim.create_refund(intent)
        self.assertEqual(
            mapping.sequence_key(self.sim.event("refund.created", refund)), intent["id"]
        )
        charge = self.sim.create_payment("5.00", with_intent=False)
        self.assertEqual(
            mapping.sequence_key(self.sim.event("charge.succeeded", charge)),
            charge["id"],
        )
        refund = self.sim.create_refund(charge)
        self.assertEqual(
            mapping.sequence_key(self.sim.event("refund.created", refund)), charge["id"]
        )

    def test_refund_dispute_payout_values(self):
        intent = self.sim.create_payment("20.00")
        values = mapping.refund_values(
            self.sim.event("refund.created", self.sim.create_refund(intent, "5.00"))
        )
        self.assertEqual(values["amount"], "5.00")
        self.assertEqual(values["payment_external_id"], intent["id"])
        dispute = self.sim.create_dispute(intent)
        withdrawn = self.sim.withdraw_dispute_funds(dispute["id"])
        values = mapping.dispute_values(
            self.sim.event("charge.dispute.funds_withdrawn", withdrawn)
        )
        txn = values["balance_transactions"][0]
        self.assertEqual(
            (txn["amount"], txn["fee"], txn["net"]),
            (Decimal("-20.00"), Decimal("15.00"), Decimal("-35.00")),
        )
        payout = self.sim.create_payout()
        values = mapping.payout_values(self.sim.event("payout.paid", payout))
        self.assertEqual(values["status"], "paid")
        self.assertEqual(currency.to_minor(values["amount"], "usd"), payout["amount"])

    def test_stripe_error_message(self):
        self.assertEqual(
            mapping.stripe_error_message(
                {
                    "error": {
                        "type": "card_error",
                        "code": "card_declined",
                        "message": "Declined",
                    }
                }
            ),
            "card_error/card_declined: Declined",
        )
        self.assertIsNone(mapping.stripe_error_message({"ok": True}))
