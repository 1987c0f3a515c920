"""A canonical order sent to a generic backend (Standard Webhooks) gives the
same sale order as the equivalent Shopify order through the Shopify backend:
one business layer for every channel."""

import json

from odoo import Command
from odoo.tests import tagged

from odoo.addons.integration_core.tests.common import make_product, make_tax
from odoo.addons.integration_core.tests.common_webhook import WebhookCase, new_whsec

from .. import mapping
from . import shopify_simulator as sim
from .common import WEBHOOK_SECRET


@tagged("post_install", "-at_install")
class TestCanonicalEquivalence(WebhookCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tax = make_tax(cls.env, 20.0, "Equivalence VAT 20%")
        for sku in ("EQ-A", "EQ-B"):
            make_product(cls.env, sku, 1.0, is_storable=False)
        sales = {
            "confirm_policy": "confirm",
            "tax_fallback": "fail",
            "tax_map_ids": [
                Command.create({"title": "VAT", "rate": 20.0, "tax_id": cls.tax.id})
            ],
        }
        cls.backend.write(sales)
        cls.shopify = cls.env["integration.backend"].create(
            dict(
                sales,
                name="Equivalence Shopify",
                backend_type="shopify",
                webhook_secret=WEBHOOK_SECRET,
            )
        )

    def process(self, response):
        self.assertEqual(response.status_code, 200, response.text)
        message = self.env["integration.inbox.message"].browse(response.json()["id"])
        self.assertEqual(message._job_process(), "done", message.last_error)
        return message._get_record()

    def summary(self, order):
        return {
            "state": order.state,
            "client_order_ref": order.client_order_ref,
            "partner": (order.partner_id.name, order.partner_id.email),
            "shipping": (
                order.partner_shipping_id.street,
                order.partner_shipping_id.city,
                order.partner_shipping_id.country_id.code,
            ),
            "lines": [
                (
                    line.product_id.default_code,
                    line.name,
                    line.product_uom_qty,
                    line.price_unit,
                    round(line.discount, 2),
                    line.tax_id.ids,
                    line.integration_line_ref,
                )
                for line in order.order_line.sorted("id")
            ],
            "amount_untaxed": order.amount_untaxed,
            "amount_tax": order.amount_tax,
            "amount_total": order.amount_total,
        }

    def test_same_order_through_generic_and_shopify(self):
        payload = sim.order_payload(
            [("EQ-A", 2, "19.99", "2.00"), ("EQ-B", 1, "5.00")],
            shipping=("Express", "7.50"),
            taxes=[("VAT", 0.2)],
            email="equal@example.com",
        )
        self.env.flush_all()
        shop_url = f"{self.base_url()}/integration/webhook/{self.shopify.webhook_token}"
        from_shopify = self.process(
            sim.WebhookSender(shop_url, WEBHOOK_SECRET).send("orders/create", payload)
        )
        # the same order as any system would send it, from CANONICAL.md alone
        document = mapping.to_canonical_order(payload)
        document["channel"] = "webshop"
        envelope = {
            "type": "order.created",
            "timestamp": payload["updated_at"],
            "data": json.loads(json.dumps(document)),
        }
        from_generic = self.process(self.post_signed(envelope))
        self.assertNotEqual(from_generic, from_shopify)
        self.assertEqual(self.summary(from_generic), self.summary(from_shopify))
        self.assertEqual(from_generic.partner_id, from_shopify.partner_id)
        self.assertEqual(from_generic.amount_total, float(payload["total_price"]))
        binding = self.env["integration.binding"]._find(
            self.backend, "sale.order", document["external_id"]
        )
        self.assertEqual(binding._get_record(), from_generic)

    def test_other_secret_refused(self):
        response = self.post_signed(
            {"type": "order.created", "data": {}}, secret=new_whsec()
        )
        self.assertEqual(response.status_code, 401)
