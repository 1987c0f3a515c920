import time
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged

from odoo.addons.integration_core.tests.common import deliver_events

from . import shopify_simulator as sim
from .common import ACCESS_TOKEN, LOCATION_ID, ShopifyCase


@tagged("post_install", "-at_install")
class TestOutbound(ShopifyCase):
    def setUp(self):
        super().setUp()
        self.shop = sim.ShopifySimulator(access_token=ACCESS_TOKEN).start()
        self.addCleanup(self.shop.stop)
        self.backend.api_base_url = self.shop.base_url

    def outbox(self, topic):
        return self.env["integration.outbox.message"].search(
            [("backend_id", "=", self.backend.id), ("topic", "=", topic)], order="id"
        )

    def send_all(self, messages, deadline=30):
        """Run the send jobs like the job runner: retries when their time comes."""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            todo = messages.filtered(lambda m: m.state in ("pending", "failed"))
            if not todo:
                return
            for message in todo:
                if (
                    message.next_attempt_at
                    and message.next_attempt_at > fields.Datetime.now()
                ):
                    continue
                message._job_send()
            time.sleep(0.05)
        self.fail(
            f"not sent: {messages.filtered(lambda m: m.state != 'sent').mapped('last_error')}"
        )

    def test_fulfillment_with_tracking(self):
        payload = sim.order_payload(
            [("SKU-A", 2, "20"), ("SKU-B", 1, "7.5")], shipping=("Std", "5")
        )
        self.shop.add_order(payload)
        self.stock(self.products["SKU-A"], 5)
        self.stock(self.products["SKU-B"], 5)
        self.deliver("orders/create", payload)
        order = self.order_of(payload)
        picking = self.deliver_picking(order)
        message = self.outbox("fulfillment/create")
        self.assertEqual(len(message), 1)
        self.assertEqual(message.idempotency_key, f"fulfillment:{picking.id}")
        self.assertEqual(message._job_send(), "sent", message.last_error)
        calls = [
            (r["method"], r["path"].rsplit("/", 2)[-1]) for r in self.shop.requests
        ]
        self.assertEqual(
            calls, [("GET", "fulfillment_orders.json"), ("POST", "fulfillments.json")]
        )
        fulfillment = self.shop.fulfillments[0]
        self.assertEqual(
            fulfillment["tracking_info"], {"number": "1Z999", "company": "UPS"}
        )
        items = fulfillment["line_items_by_fulfillment_order"][0][
            "fulfillment_order_line_items"
        ]
        self.assertEqual(sorted(i["quantity"] for i in items), [1, 2])
        self.assertEqual(picking.shopify_fulfillment_id, str(fulfillment["id"]))
        fulfillment_order = self.shop.orders[payload["id"]]["_fulfillment_orders"][0]
        self.assertEqual(fulfillment_order["status"], "closed")

    def test_fulfillment_whose_outcome_was_lost_is_adopted_not_sent_again(self):
        """The POST went through, then the transaction rolled back (a
        serialization failure): the retry finds the fulfillment in the shop
        and ends sent, without a second POST and without a dead letter."""
        payload = sim.order_payload([("SKU-A", 1, "20")], shipping=("Std", "5"))
        self.shop.add_order(payload)
        self.stock(self.products["SKU-A"], 5)
        self.deliver("orders/create", payload)
        picking = self.deliver_picking(self.order_of(payload))
        message = self.outbox("fulfillment/create")
        self.assertEqual(message._job_send(), "sent", message.last_error)
        fulfillment_id = picking.shopify_fulfillment_id
        # what the rolled back transaction forgot
        message.write({"state": "pending", "attempt_count": 0})
        picking.shopify_fulfillment_id = False
        self.shop.requests.clear()
        self.assertEqual(message._job_send(), "sent", message.last_error)
        calls = [
            (r["method"], r["path"].rsplit("/", 1)[-1]) for r in self.shop.requests
        ]
        self.assertEqual(
            calls, [("GET", "fulfillment_orders.json"), ("GET", "fulfillments.json")]
        )
        self.assertEqual(len(self.shop.fulfillments), 1)
        self.assertEqual(picking.shopify_fulfillment_id, fulfillment_id)
        notes = " ".join(filter(None, message.attempt_ids.mapped("error")))
        self.assertIn("already has fulfillment", notes)

    def bind(self, sku, item_id):
        return self.env["integration.shopify.product.binding"].create(
            {
                "backend_id": self.backend.id,
                "product_id": self.products[sku].id,
                "inventory_item_id": str(item_id),
            }
        )

    def adjust(self, product, quantity):
        quant = (
            self.env["stock.quant"]
            .with_context(inventory_mode=True)
            .create(
                {
                    "product_id": product.id,
                    "location_id": self.warehouse.lot_stock_id.id,
                    "inventory_quantity": quantity,
                }
            )
        )
        quant.action_apply_inventory()

    def test_inventory_export_coalesces(self):
        self.bind("SKU-A", 900001)
        self.adjust(self.products["SKU-A"], 7)
        self.adjust(self.products["SKU-A"], 12)
        self.adjust(self.products["SKU-B"], 3)  # not bound: nothing sent
        # the waiting message took the second level in place
        messages = self.outbox("inventory/set")
        self.assertEqual(messages.mapped("state"), ["pending"])
        self.assertEqual(messages.coalesce_key, f"inventory:900001:{LOCATION_ID}")
        self.send_all(messages)
        self.assertEqual(self.shop.inventory_levels, {(900001, int(LOCATION_ID)): 12})
        self.assertEqual(len(self.shop.requests), 1)

    def test_inventory_export_follows_reservations(self):
        """An order reserves stock without a done move: the free stock the
        shop shows must drop with it, and come back when the order is
        cancelled."""
        self.bind("SKU-A", 900001)
        self.adjust(self.products["SKU-A"], 10)
        self.send_all(self.outbox("inventory/set"))
        level = (900001, int(LOCATION_ID))
        self.assertEqual(self.shop.inventory_levels, {level: 10})
        payload = sim.order_payload([("SKU-A", 3, "20")])
        self.deliver("orders/create", payload)
        order = self.order_of(payload)
        self.assertEqual(order.picking_ids.move_ids.quantity, 3, "reserved")
        self.send_all(self.outbox("inventory/set"))
        self.assertEqual(self.shop.inventory_levels, {level: 7})
        order._action_cancel()
        self.send_all(self.outbox("inventory/set"))
        self.assertEqual(self.shop.inventory_levels, {level: 10})

    def test_inventory_429_storm_stays_in_bucket(self):
        """Another app filled the bucket: we get one 429, then pace on the
        call-limit header and Retry-After so no call finds the bucket full."""
        self.shop.bucket.size = self.backend.shopify_bucket_size = 8
        self.shop.bucket.leak_rate = self.backend.shopify_leak_rate = 8.0
        for index in range(20):
            self.bind(
                list(self.products)[index % 3], 800000 + index
            ) if index < 3 else None
        items = []
        for index in range(20):
            binding = self.env["integration.shopify.product.binding"].search(
                [("backend_id", "=", self.backend.id)], limit=1
            )
            items.append(
                self.backend._outbox_enqueue(
                    "inventory/set",
                    {
                        "inventory_item_id": str(700000 + index),
                        "location_id": LOCATION_ID,
                        "product_id": binding.product_id.id,
                        "warehouse_id": self.warehouse.id,
                    },
                    coalesce_key=f"inventory:{700000 + index}:{LOCATION_ID}",
                )
            )
        messages = self.env["integration.outbox.message"].browse([m.id for m in items])
        self.shop.bucket.fill(8)
        self.send_all(messages)
        self.assertEqual(set(messages.mapped("state")), {"sent"})
        self.assertLessEqual(self.shop.throttled, 1, "calls beyond the bucket")
        self.assertEqual(len({key for key in self.shop.inventory_levels}), 20)

    def test_link_products_by_sku(self):
        """Inventory item ids come from the shop, over several pages."""
        self.shop.page_size = 1
        product_a, product_b = (
            self.env["product.product"].search([("default_code", "=", sku)])
            for sku in ("SKU-A", "SKU-B")
        )
        first = self.shop.add_product(["SKU-A", "SKU-B", None])
        self.shop.add_product(["NOT-IN-ODOO"])
        # a variant bound by hand keeps its binding, with the shop's ids
        self.env["integration.shopify.product.binding"].create(
            {
                "backend_id": self.backend.id,
                "product_id": product_b.id,
                "inventory_item_id": "1",
            }
        )
        action = self.backend.action_shopify_link_products()
        self.assertIn(
            "2 variants linked, 1 SKUs not found", action["params"]["message"]
        )
        self.assertIn("1 variants without SKU", action["params"]["message"])
        bindings = self.env["integration.shopify.product.binding"].search(
            [("backend_id", "=", self.backend.id)]
        )
        variant_a, variant_b = first["variants"][:2]
        self.assertEqual(
            {
                (b.product_id, b.shopify_variant_id, b.inventory_item_id)
                for b in bindings
            },
            {
                (product_a, str(variant_a["id"]), str(variant_a["inventory_item_id"])),
                (product_b, str(variant_b["id"]), str(variant_b["inventory_item_id"])),
            },
        )
        pages = [r for r in self.shop.requests if r["path"].endswith("products.json")]
        self.assertEqual(len(pages), 2)
        # again: nothing new
        self.backend._shopify_link_products()
        self.assertEqual(
            self.env["integration.shopify.product.binding"].search_count(
                [("backend_id", "=", self.backend.id)]
            ),
            2,
        )

    def test_fulfillment_is_a_picking_done_subscriber_with_the_order_correlation(self):
        payload = sim.order_payload([("SKU-A", 1, "20")])
        self.shop.add_order(payload)
        self.stock(self.products["SKU-A"], 5)
        message = self.deliver("orders/create", payload)
        picking = self.deliver_picking(self.order_of(payload))
        event = self.env["integration.event"].search(
            [("topic", "=", "picking.done"), ("res_id", "=", picking.id)]
        )
        self.assertEqual(event.correlation_id, message.correlation_id)
        delivery = event.delivery_ids.filtered(
            lambda d: (
                d.subscriber == "shopify.fulfillment" and d.backend_id == self.backend
            )
        )
        self.assertEqual(delivery.state, "done", delivery.last_error)
        self.assertEqual(delivery.correlation_id, message.correlation_id)
        fulfillment = self.outbox("fulfillment/create")
        self.assertEqual(fulfillment.correlation_id, message.correlation_id)
        # a replayed delivery enqueues nothing twice
        delivery.action_replay()
        delivery._job_deliver()
        self.assertEqual(self.outbox("fulfillment/create"), fulfillment)

    def test_fulfillment_waits_for_the_carrier_tracking_number(self):
        """A carrier answering after the validation: the fulfillment goes on
        ``picking.tracked``, with the number, once."""
        payload = sim.order_payload([("SKU-A", 1, "20")])
        self.shop.add_order(payload)
        self.stock(self.products["SKU-A"], 5)
        self.deliver("orders/create", payload)
        Picking = self.registry["stock.picking"]
        with patch.object(Picking, "_integration_awaits_tracking", return_value=True):
            picking = self.deliver_picking(self.order_of(payload))
        self.assertFalse(self.outbox("fulfillment/create"), "no number yet")
        picking.carrier_tracking_ref = "9400111"
        picking._publish_tracked()
        deliver_events(picking)
        message = self.outbox("fulfillment/create")
        self.assertEqual(len(message), 1)
        self.assertEqual(message.payload["tracking_number"], "9400111")
        # picking.done delivered again (a replay) enqueues nothing more
        done = self.env["integration.event.delivery"].search(
            [
                ("event_id.topic", "=", "picking.done"),
                ("event_id.res_id", "=", picking.id),
                ("subscriber", "=", "shopify.fulfillment"),
            ]
        )
        done.action_replay()
        done._job_deliver()
        self.assertEqual(self.outbox("fulfillment/create"), message)

    def test_delivered_parcel_marks_the_fulfillment_delivered(self):
        payload = sim.order_payload([("SKU-A", 1, "20")])
        self.shop.add_order(payload)
        self.stock(self.products["SKU-A"], 5)
        self.deliver("orders/create", payload)
        picking = self.deliver_picking(self.order_of(payload))
        picking.carrier_tracking_ref = "1Z999"
        self.assertEqual(self.outbox("fulfillment/create")._job_send(), "sent")
        # a carrier (here through a generic backend) reports the delivery
        carrier = self.env["integration.backend"].create({"name": "Carrier feed"})
        carrier._import_canonical(
            "shipment.event",
            {
                "tracking_number": "1Z999",
                "carrier": "UPS",
                "status": "delivered",
                "occurred_at": "2026-03-15T10:00:00Z",
            },
        )
        deliver_events(picking)
        message = self.outbox("fulfillment/event")
        self.assertEqual(len(message), 1)
        self.assertEqual(message._job_send(), "sent", message.last_error)
        self.assertEqual(self.shop.fulfillments[0]["events"][0]["status"], "delivered")
