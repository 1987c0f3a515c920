"""Every import and every rewrite of an order ends with Shopify's total and the
mapped taxes on every line; a drift is refused visibly, never passed as done."""

from odoo import Command
from odoo.tests import tagged

from . import shopify_simulator as sim
from .common import ShopifyCase


@tagged("post_install", "-at_install")
class TestOrderTotals(ShopifyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the shipping product's own tax must never replace the mapped one
        cls.backend._get_shipping_product().taxes_id = [Command.set(cls.tax_gst.ids)]
        cls.backend.confirm_policy = "paid"

    def version(self, first, lines, seconds=10, **kwargs):
        """A later version of order ``first`` with other lines (totals recomputed)."""
        return sim.order_payload(
            lines,
            order_id=first["id"],
            name=first["name"],
            updated_at=sim.bump(first, seconds=seconds)["updated_at"],
            shipping=("Standard", "4.00"),
            taxes=[("VAT", 0.2)],
            financial_status="pending",
            **kwargs,
        )

    def first(self, lines):
        return sim.order_payload(
            lines,
            shipping=("Standard", "4.00"),
            taxes=[("VAT", 0.2)],
            financial_status="pending",
        )

    def assertMatchesShopify(self, order, payload):
        self.assertEqual(
            order.currency_id.compare_amounts(
                order.amount_total, float(payload["total_price"])
            ),
            0,
            f"{order.amount_total} != {payload['total_price']}",
        )
        for line in order.order_line:
            self.assertEqual(line.tax_id, self.tax_vat, line.name)

    def test_rewritten_quotation_keeps_mapped_taxes(self):
        v1 = self.first([("SKU-A", 2, "10.00"), ("SKU-B", 1, "7.50")])
        self.assertEqual(self.deliver("orders/create", v1).state, "done")
        order = self.order_of(v1)
        self.assertMatchesShopify(order, v1)
        v2 = self.version(v1, [("SKU-A", 3, "10.00"), ("SKU-B", 1, "7.50")])
        message = self.deliver("orders/updated", v2)
        self.assertEqual(message.state, "done", message.last_error)
        self.assertEqual(order.state, "draft")
        self.assertEqual(order.order_line[0].product_uom_qty, 3)
        self.assertMatchesShopify(order, v2)

    def test_update_before_create_then_create_rewrites_with_mapped_taxes(self):
        v1 = self.first([("SKU-A", 1, "10.00")])
        update = self.version(v1, [("SKU-A", 2, "10.00")], seconds=0)
        self.assertEqual(self.deliver("orders/updated", update).state, "done")
        order = self.order_of(v1)
        self.assertMatchesShopify(order, update)
        message = self.deliver("orders/create", v1)
        self.assertEqual(message.state, "done", message.last_error)
        self.assertEqual(order.order_line[0].product_uom_qty, 1)
        self.assertMatchesShopify(order, v1)

    def test_total_differing_from_shopify_is_refused_for_review(self):
        self.backend.confirm_policy = "confirm"
        v1 = self.first([("SKU-A", 1, "10.00")])
        v1["total_price"] = "99.00"
        message = self.deliver("orders/create", v1)
        self.assertEqual(message.state, "dead")
        self.assertIn("99.00", message.last_error)
        order = self.order_of(v1)
        self.assertEqual(message._get_record(), order, "the order is kept")
        self.assertEqual(order.state, "draft", "never confirmed with a wrong total")
        self.assertEqual(len(order.activity_ids), 1)
        self.assertIn("total", order.activity_ids.summary)
        # fixed in Shopify: the next version applies and confirms it
        v2 = self.version(v1, [("SKU-A", 1, "10.00")])
        self.assertEqual(self.deliver("orders/updated", v2).state, "done")
        self.assertEqual(order.state, "sale")
        self.assertMatchesShopify(order, v2)
        # a replay of the refused version asks once, not twice
        message.action_replay()
        message._job_process()
        self.assertEqual(len(order.activity_ids), 1)
