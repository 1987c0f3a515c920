from datetime import datetime

from odoo.tests import BaseCase, tagged

from odoo.addons.integration_core import canonical, commerce

from .. import mapping
from . import shopify_simulator as sim


@tagged("post_install", "-at_install")
class TestMapping(BaseCase):
    def test_money_and_dates(self):
        self.assertEqual(mapping.money("19.995"), 20.0)
        self.assertEqual(mapping.money("1234.5", digits=0), 1235.0)
        self.assertEqual(mapping.money(None), 0.0)
        with self.assertRaises(ValueError):
            mapping.money("abc")
        self.assertEqual(
            mapping.parse_datetime("2024-03-01T10:00:00-05:00"),
            datetime(2024, 3, 1, 15, 0, 0),
        )
        self.assertEqual(
            mapping.parse_datetime("2024-03-01T10:00:00Z"), datetime(2024, 3, 1, 10)
        )
        self.assertIsNone(mapping.parse_datetime(None))

    def test_order_discounts_shipping_taxes(self):
        payload = sim.order_payload(
            [("SKU-A", 3, "9.99", "2.00"), ("SKU-B", 1, "50.00")],
            order_discount_pct=10,
            shipping=("Standard", "5.00"),
            taxes=[("VAT", 0.2)],
        )
        document = canonical.validate("order", mapping.to_canonical_order(payload))
        first, second = document["lines"]
        self.assertEqual(first["unit_price"], "9.99")
        self.assertEqual(first["discount_amount"], "5.00")  # 2.00 + 10% of 29.97
        self.assertEqual(second["discount_amount"], "5.00")
        self.assertEqual(first["taxes"][0]["name"], "VAT")
        self.assertEqual(first["taxes"][0]["rate"], "20")
        self.assertEqual(document["shipping_lines"][0]["price"], "5.00")
        self.assertEqual(document["currency"], "USD")
        self.assertEqual(document["totals"]["total"], payload["total_price"])
        self.assertFalse(document["customer"]["guest"])
        data = commerce.order_data(document)
        self.assertAlmostEqual(data["lines"][0]["discount_percent"], 5.0 / 29.97 * 100)
        self.assertEqual(data["lines"][0]["taxes"], (commerce.TaxKey("VAT", 20.0),))

    def order_data(self, payload):
        return commerce.order_data(
            canonical.validate("order", mapping.to_canonical_order(payload))
        )

    def test_digest_changes_with_lines_only(self):
        payload = sim.order_payload([("SKU-A", 1, "10")])
        data = self.order_data(payload)
        later = self.order_data(sim.bump(payload, note="gift"))
        self.assertEqual(commerce.lines_digest(data), commerce.lines_digest(later))
        changed = sim.bump(payload)
        changed["line_items"][0]["quantity"] = 2
        changed_data = self.order_data(sim.retotal(changed))
        self.assertNotEqual(
            commerce.lines_digest(data), commerce.lines_digest(changed_data)
        )
        old = {data["lines"][0]["line_id"]: ("SKU-A", 1.0, 10.0)}
        self.assertIn("quantity 1 → 2", commerce.describe_changes(old, changed_data)[0])

    def test_refund(self):
        order = sim.order_payload([("SKU-A", 2, "10"), ("SKU-B", 1, "5")])
        refund = canonical.validate(
            "refund",
            mapping.to_canonical_refund(
                sim.refund_payload(order, [(0, 1)], shipping="4.00")
            ),
        )
        self.assertEqual(refund["order_external_id"], str(order["id"]))
        self.assertEqual(refund["lines"][0]["quantity"], 1)
        self.assertTrue(refund["lines"][0]["restock"])
        self.assertEqual(refund["shipping_amount"], "4.00")
        no_restock = mapping.to_canonical_refund(
            sim.refund_payload(order, [(1, 1)], restock_type="no_restock")
        )
        self.assertFalse(no_restock["lines"][0]["restock"])

    def test_cancelled_order_gives_a_cancellation(self):
        order = sim.order_payload([("SKU-A", 1, "10")])
        self.assertIsNone(mapping.to_canonical_cancellation(order))
        order.update(cancelled_at=order["updated_at"], cancel_reason="customer")
        cancellation = canonical.validate(
            "order.cancellation", mapping.to_canonical_cancellation(order)
        )
        self.assertEqual(cancellation["external_id"], str(order["id"]))
        self.assertEqual(cancellation["reason"], "customer")

    def test_rest_protocol_helpers(self):
        link = (
            '<https://shop/admin/api/2024-10/orders.json?page_info=abc>; rel="previous", '
            '<https://shop/admin/api/2024-10/orders.json?page_info=def>; rel="next"'
        )
        self.assertTrue(mapping.next_page_url(link).endswith("page_info=def"))
        self.assertIsNone(mapping.next_page_url('<https://x>; rel="previous"'))
        self.assertIsNone(mapping.next_page_url(None))
        self.assertEqual(mapping.parse_call_limit("32/40"), (32, 40))
        self.assertIsNone(mapping.parse_call_limit("garbage"))
        self.assertEqual(mapping.bucket_delay(10, 40, 2.0), 0.0)
        self.assertEqual(mapping.bucket_delay(40, 40, 2.0), 0.5)
        self.assertEqual(mapping.bucket_delay(41, 40, 2.0), 1.0)
