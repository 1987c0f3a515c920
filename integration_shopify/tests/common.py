"""Fixtures of the Shopify connector tests: a configured backend and helpers
feeding payloads through the real inbox pipeline."""

from datetime import timedelta

from odoo import Command, fields
from odoo.tests import TransactionCase

from odoo.addons.integration_core.tests.common import (
    LocalServerMixin,
    deliver_events,
    make_backend,
    make_product,
    make_retry_policy,
    make_tax,
    pick_in_full,
    receive,
)
from odoo.addons.integration_core.tests.common import process as process_message

from .. import mapping
from . import shopify_simulator as sim

WEBHOOK_SECRET = "shpss_test_secret"
ACCESS_TOKEN = "shpat_test_token"
LOCATION_ID = "70001"


class ShopifyCase(LocalServerMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        cls.policy = make_retry_policy(cls.env, name="Shopify test policy")
        cls.warehouse = cls.env["stock.warehouse"].search(
            [("company_id", "=", cls.company.id)], limit=1
        )
        cls.tax_vat = make_tax(cls.env, 20.0, "Shopify test VAT 20%")
        cls.tax_gst = make_tax(cls.env, 5.0, "Shopify test GST 5%")
        cls.backend = make_backend(
            cls.env,
            "shopify",
            name="Test Shopify",
            retry_policy_id=cls.policy.id,
            shopify_shop_domain="sim-shop.myshopify.com",
            shopify_access_token=ACCESS_TOKEN,
            webhook_secret=WEBHOOK_SECRET,
            warehouse_id=cls.warehouse.id,
            tax_fallback="fail",
            tax_map_ids=[
                Command.create(
                    {"title": "VAT", "rate": 20.0, "tax_id": cls.tax_vat.id}
                ),
                Command.create({"title": "GST", "rate": 5.0, "tax_id": cls.tax_gst.id}),
            ],
            shopify_location_ids=[
                Command.create(
                    {
                        "name": "Main",
                        "shopify_location_id": LOCATION_ID,
                        "warehouse_id": cls.warehouse.id,
                    }
                )
            ],
        )
        cls.products = {
            sku: make_product(cls.env, sku, price)
            for sku, price in (("SKU-A", 20.0), ("SKU-B", 7.5), ("SKU-C", 100.0))
        }

    # -- inbox ---------------------------------------------------------------------
    def headers_for(self, topic, payload, event_id=None):
        headers = {
            "x-shopify-topic": topic,
            "x-shopify-triggered-at": sim.iso(
                fields.Datetime.now().replace(tzinfo=sim.UTC)
            ),
        }
        if event_id:
            headers["x-shopify-event-id"] = event_id
        return headers

    def deliver(self, topic, payload, event_id=None, process=True):
        """Store a delivery as the webhook route does, then run its job."""
        headers = self.headers_for(topic, payload, event_id)
        message = receive(self.backend, payload, headers)
        if process and message.state in ("queued", "failed"):
            process_message(message)
        return message

    def order_binding(self, payload):
        return self.env["integration.binding"]._find(
            self.backend, "sale.order", payload["id"]
        )

    def order_of(self, payload):
        return self.env["integration.binding"]._find_record(
            self.backend, "sale.order", payload["id"]
        )

    def order_payment(self, payload):
        """The customer payment recorded for a paid order, if any."""
        return self.env["integration.binding"]._find_record(
            self.backend, "account.payment", f"order:{payload['id']}"
        )

    def deliver_picking(self, order):
        picking = pick_in_full(
            order.picking_ids.filtered(lambda p: p.state not in ("done", "cancel"))
        )
        picking.shopify_tracking_number = "1Z999"
        picking.shopify_tracking_company = "UPS"
        picking.button_validate()
        # the fulfillment is enqueued by the picking.done subscriber, after commit
        deliver_events(picking)
        return picking

    def stock(self, product, quantity):
        self.env["stock.quant"]._update_available_quantity(
            product, self.warehouse.lot_stock_id, quantity
        )

    def ago(self, **delta):
        return fields.Datetime.now() - timedelta(**delta)

    parse = staticmethod(mapping.parse_datetime)
