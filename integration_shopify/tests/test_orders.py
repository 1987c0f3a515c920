from odoo import Command
from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from . import shopify_simulator as sim
from .common import ShopifyCase


@tagged("post_install", "-at_install")
class TestOrders(ShopifyCase):
    def test_multi_line_order_with_discounts_shipping_taxes(self):
        payload = sim.order_payload(
            [("SKU-A", 3, "20.00", "6.00"), ("SKU-B", 2, "7.50")],
            order_discount_pct=10,
            shipping=("Express", "12.00"),
            taxes=[("VAT", 0.2)],
            name="#1001",
        )
        message = self.deliver("orders/create", payload, event_id="evt-1")
        self.assertEqual(message.state, "done", message.last_error)
        order = self.order_of(payload)
        self.assertEqual(message._get_record(), order)
        self.assertEqual(order.client_order_ref, "#1001")
        self.assertEqual(order.state, "sale")
        lines = order.order_line.sorted("id")
        self.assertEqual(
            lines.mapped("product_id.default_code")[:2], ["SKU-A", "SKU-B"]
        )
        self.assertEqual(lines[0].product_uom_qty, 3)
        self.assertEqual(lines[0].price_unit, 20.0)
        # 6.00 + 10% of 60 = 12 -> 20% of 60
        self.assertAlmostEqual(lines[0].discount, 20.0)
        self.assertAlmostEqual(lines[0].price_subtotal, 48.0)
        self.assertAlmostEqual(lines[1].price_subtotal, 13.5)
        shipping = lines[2]
        self.assertEqual(shipping.name, "Express")
        self.assertEqual(shipping.price_unit, 12.0)
        self.assertEqual(shipping.product_id, self.backend.shipping_product_id)
        self.assertEqual(lines.mapped("tax_id"), self.tax_vat)
        self.assertAlmostEqual(order.amount_untaxed, 48.0 + 13.5 + 12.0)
        self.assertAlmostEqual(order.amount_total, (48.0 + 13.5 + 12.0) * 1.2)
        self.assertEqual(order.partner_id.email, "jane@example.com")
        self.assertEqual(order.partner_shipping_id, order.partner_id)
        self.assertEqual(order.warehouse_id, self.warehouse)

    def test_separate_discount_lines_are_exact(self):
        self.backend.discount_policy = "product"
        payload = sim.order_payload(
            [("SKU-A", 3, "9.99", "1.01")], taxes=[("GST", 0.05)]
        )
        self.deliver("orders/create", payload)
        order = self.order_of(payload)
        discount = order.order_line.filtered(
            lambda line: line.product_id == self.backend.discount_product_id
        )
        self.assertEqual(discount.price_unit, -1.01)
        self.assertEqual(discount.tax_id, self.tax_gst)
        self.assertAlmostEqual(order.amount_untaxed, 29.97 - 1.01)

    def test_foreign_currency_order(self):
        payload = sim.order_payload([("SKU-C", 1, "89.90")], currency="EUR")
        message = self.deliver("orders/create", payload)
        self.assertEqual(message.state, "done", message.last_error)
        order = self.order_of(payload)
        self.assertEqual(order.currency_id.name, "EUR")
        self.assertEqual(order.pricelist_id.currency_id.name, "EUR")
        self.assertAlmostEqual(order.amount_total, 89.90)
        other = sim.order_payload([("SKU-A", 1, "10")], currency="EUR")
        self.deliver("orders/create", other)
        self.assertEqual(self.order_of(other).pricelist_id, order.pricelist_id)

    def test_unknown_tax_fails_or_falls_back(self):
        payload = sim.order_payload([("SKU-A", 1, "10")], taxes=[("Sales tax", 0.05)])
        message = self.deliver("orders/create", payload)
        self.assertEqual(message.state, "dead")
        self.assertIn("Sales tax", message.last_error)
        self.backend.tax_fallback = "rate"
        message.action_retry_now()
        message._job_process()
        self.assertEqual(message.state, "done", message.last_error)
        self.assertEqual(self.order_of(payload).order_line.tax_id.amount, 5.0)

    def test_missing_sku_fail_policy(self):
        payload = sim.order_payload([("SKU-A", 1, "10"), ("NOPE-1", 2, "3")])
        message = self.deliver("orders/create", payload)
        self.assertEqual(message.state, "dead")
        self.assertIn("NOPE-1", message.last_error)
        self.assertFalse(self.order_of(payload))
        # the fix: create the product, then retry
        self.env["product.product"].create({"name": "Nope", "default_code": "NOPE-1"})
        message.action_retry_now()
        message._job_process()
        self.assertEqual(message.state, "done")
        self.assertEqual(len(self.order_of(payload).order_line), 2)

    def test_missing_sku_create_policy(self):
        self.backend.missing_sku_policy = "create"
        payload = sim.order_payload([("NEW-SKU", 2, "15.00")])
        message = self.deliver("orders/create", payload)
        self.assertEqual(message.state, "done", message.last_error)
        product = self.order_of(payload).order_line.product_id
        self.assertEqual(product.default_code, "NEW-SKU")
        self.assertEqual(product.list_price, 15.0)
        binding = self.env["integration.shopify.product.binding"].search(
            [("product_id", "=", product.id)]
        )
        self.assertEqual(
            binding.shopify_variant_id, str(payload["line_items"][0]["variant_id"])
        )

    def test_guest_checkout(self):
        guest = self.env["res.partner"].create({"name": "Shopify guests"})
        self.backend.guest_partner_id = guest
        payload = sim.order_payload(
            [("SKU-A", 1, "10")],
            customer=False,
            shipping_address=sim.address(
                "Bob Guest",
                street="5 Elm Road",
                city="Leeds",
                zip_code="LS1 1AA",
                country_code="GB",
                province_code="",
            ),
        )
        self.deliver("orders/create", payload)
        order = self.order_of(payload)
        self.assertEqual(order.partner_id, guest)
        self.assertEqual(order.partner_shipping_id.parent_id, guest)
        self.assertEqual(order.partner_shipping_id.type, "delivery")
        self.assertEqual(order.partner_shipping_id.city, "Leeds")
        self.assertEqual(order.partner_shipping_id.country_id.code, "GB")
        # without a guest partner: matched by email, then phone
        self.backend.guest_partner_id = False
        known = self.env["res.partner"].create(
            {"name": "Known", "phone": "+44 20 7946 0000"}
        )
        payload = sim.order_payload(
            [("SKU-A", 1, "10")], customer=False, email=None, phone="+44 20 7946 0000"
        )
        self.deliver("orders/create", payload)
        self.assertEqual(self.order_of(payload).partner_id, known)

    def test_unicode_names_and_addresses(self):
        ship_to = sim.address(
            "Zoë Ærøskøbing-Łukasiewicz",
            street="Straße der Einheit 7",
            street2="Hinterhaus 🏠",
            city="München",
            zip_code="80331",
            country_code="DE",
            province_code="BY",
        )
        bill_to = sim.address(
            "株式会社 テスト",
            street="東京都千代田区1-1",
            city="東京",
            zip_code="100-0001",
            country_code="JP",
            province_code="",
        )
        payload = sim.order_payload(
            [("SKU-A", 1, "10")],
            email="zoë@exämple.de",
            shipping_address=ship_to,
            billing_address=bill_to,
            name="#Ü-1",
        )
        message = self.deliver("orders/create", payload)
        self.assertEqual(message.state, "done", message.last_error)
        order = self.order_of(payload)
        self.assertEqual(order.client_order_ref, "#Ü-1")
        self.assertEqual(order.partner_id.name, "Zoë Ærøskøbing-Łukasiewicz")
        self.assertEqual(order.partner_shipping_id.street2, "Hinterhaus 🏠")
        self.assertEqual(order.partner_shipping_id.city, "München")
        self.assertEqual(order.partner_invoice_id.name, "株式会社 テスト")
        self.assertEqual(order.partner_invoice_id.type, "invoice")
        # the same addresses again reuse the contacts
        again = sim.order_payload(
            [("SKU-A", 1, "10")],
            email="zoë@exämple.de",
            shipping_address=ship_to,
            billing_address=bill_to,
        )
        self.deliver("orders/create", again)
        self.assertEqual(
            self.order_of(again).partner_invoice_id, order.partner_invoice_id
        )

    def test_duplicate_delivery(self):
        payload = sim.order_payload([("SKU-A", 1, "10")])
        first = self.deliver("orders/create", payload, event_id="evt-dup")
        second = self.deliver("orders/create", payload, event_id="evt-dup")
        self.assertEqual(first, second)
        self.assertEqual(second.duplicate_count, 1)
        self.assertEqual(
            self.env["integration.binding"].search_count(
                [
                    ("res_model", "=", "sale.order"),
                    ("external_id", "=", str(payload["id"])),
                ]
            ),
            1,
        )

    def test_updates_out_of_order_never_regress(self):
        self.backend.confirm_policy = "quotation"
        v1 = sim.order_payload([("SKU-A", 1, "10")])
        v2 = sim.bump(v1, seconds=10)
        v2["line_items"][0]["quantity"] = 2
        sim.retotal(v2)
        v3 = sim.bump(v2, seconds=10)
        v3["line_items"][0]["quantity"] = 3
        sim.retotal(v3)
        self.deliver("orders/create", v1)
        self.deliver("orders/updated", v3, event_id="u3")
        late = self.deliver("orders/updated", v2, event_id="u2")
        self.assertEqual(late.state, "ignored")
        order = self.order_of(v1)
        self.assertEqual(order.order_line.product_uom_qty, 3)
        # a stale version reaching the handler (e.g. replayed) is skipped too
        late.action_replay()
        late._job_process()
        self.assertEqual(order.order_line.product_uom_qty, 3)
        # a late orders/create after an update is stale as well
        self.assertEqual(len(order.order_line), 1)

    def test_update_rewrites_quotation(self):
        self.backend.confirm_policy = "quotation"
        v1 = sim.order_payload([("SKU-A", 1, "10"), ("SKU-B", 1, "5")])
        self.deliver("orders/create", v1)
        order = self.order_of(v1)
        self.assertEqual(order.state, "draft")
        v2 = sim.bump(v1)
        v2["line_items"] = v2["line_items"][:1]
        v2["line_items"][0]["quantity"] = 4
        sim.retotal(v2)
        self.deliver("orders/updated", v2)
        self.assertEqual(order.order_line.product_id.default_code, "SKU-A")
        self.assertEqual(order.order_line.product_uom_qty, 4)
        self.assertFalse(order.activity_ids)

    def test_update_after_confirmation_raises_review(self):
        v1 = sim.order_payload([("SKU-A", 1, "10")])
        self.deliver("orders/create", v1)
        order = self.order_of(v1)
        self.assertEqual(order.state, "sale")
        v2 = sim.bump(v1)
        v2["line_items"][0]["quantity"] = 5
        sim.retotal(v2)
        self.deliver("orders/updated", v2)
        self.assertEqual(order.order_line.product_uom_qty, 1)
        self.assertEqual(len(order.activity_ids), 1)
        self.assertIn("changed after confirmation", order.activity_ids.summary)
        self.assertIn("quantity 1 → 5", order.activity_ids.note)
        # an update changing nothing visible does not ask again
        self.deliver("orders/updated", sim.bump(v2, note="thanks"))
        self.assertEqual(len(order.activity_ids), 1)

    def test_confirm_when_paid(self):
        self.backend.confirm_policy = "paid"
        v1 = sim.order_payload([("SKU-A", 1, "10")], financial_status="pending")
        self.deliver("orders/create", v1)
        order = self.order_of(v1)
        self.assertEqual(order.state, "draft")
        self.deliver("orders/paid", sim.bump(v1, financial_status="paid"))
        self.assertEqual(order.state, "sale")

    def test_paid_order_records_one_payment_in_the_gateway_journal(self):
        journal = self.env["account.journal"].create(
            {"name": "Shopify Payments", "code": "SHPAY", "type": "bank"}
        )
        self.backend.payment_map_ids = [
            Command.create({"gateway": "shopify_payments", "journal_id": journal.id})
        ]
        v1 = sim.order_payload(
            [("SKU-A", 2, "10")], shipping=("Standard", "5"), financial_status="pending"
        )
        self.deliver("orders/create", v1)
        self.assertFalse(self.order_payment(v1), "nothing paid yet")
        paid = sim.bump(v1, financial_status="paid")
        message = self.deliver("orders/paid", paid)
        payment = self.order_payment(v1)
        self.assertRecordValues(
            payment,
            [
                {
                    "state": "in_process",
                    "payment_type": "inbound",
                    "amount": 25.0,
                    "journal_id": journal.id,
                    "partner_id": self.order_of(
                        v1
                    ).partner_invoice_id.commercial_partner_id.id,
                    "memo": v1["name"],
                }
            ],
        )
        self.assertEqual(payment.integration_correlation_id, message.correlation_id)
        # redelivered and replayed: still one payment
        self.deliver("orders/paid", paid, event_id="another-delivery")
        message.action_replay()
        message._job_process()
        self.assertEqual(
            self.env["account.payment"].search_count([("journal_id", "=", journal.id)]),
            1,
        )

    def test_paid_through_unmapped_gateway_records_no_payment(self):
        v1 = sim.order_payload([("SKU-A", 1, "10")], gateway="manual")
        self.deliver("orders/create", v1)
        self.assertEqual(self.order_binding(v1).external_status, "paid")
        self.assertFalse(self.order_payment(v1))

    def test_cancel_before_delivery(self):
        v1 = sim.order_payload([("SKU-A", 1, "10")])
        self.deliver("orders/create", v1)
        order = self.order_of(v1)
        self.deliver(
            "orders/cancelled",
            sim.bump(v1, cancelled_at=v1["updated_at"], cancel_reason="customer"),
        )
        self.assertEqual(order.state, "cancel")
        self.assertTrue(all(p.state == "cancel" for p in order.picking_ids))

    def test_cancel_after_delivery_raises_review(self):
        v1 = sim.order_payload([("SKU-A", 1, "10")])
        self.stock(self.products["SKU-A"], 5)
        self.deliver("orders/create", v1)
        order = self.order_of(v1)
        self.deliver_picking(order)
        self.deliver(
            "orders/cancelled",
            sim.bump(v1, cancelled_at=v1["updated_at"], cancel_reason="fraud"),
        )
        self.assertEqual(order.state, "sale")
        self.assertIn("cancelled after delivery", order.activity_ids.summary)

    def test_cancel_delivered_late_is_still_applied(self):
        """orders/updated carrying cancelled_at before orders/cancelled: the
        cancellation is applied by the update, the late one is stale."""
        v1 = sim.order_payload([("SKU-A", 1, "10")])
        self.deliver("orders/create", v1)
        cancelled = sim.bump(
            v1, cancelled_at=v1["updated_at"], cancel_reason="customer"
        )
        self.deliver("orders/updated", sim.bump(cancelled))
        self.assertEqual(self.order_of(v1).state, "cancel")
        self.assertEqual(self.deliver("orders/cancelled", cancelled).state, "ignored")

    def test_partial_refund_with_restock(self):
        v1 = sim.order_payload(
            [("SKU-A", 2, "20.00"), ("SKU-B", 1, "7.50")],
            shipping=("Standard", "5.00"),
            taxes=[("VAT", 0.2)],
        )
        self.stock(self.products["SKU-A"], 10)
        self.stock(self.products["SKU-B"], 10)
        self.deliver("orders/create", v1)
        order = self.order_of(v1)
        delivery = self.deliver_picking(order)
        refund = sim.refund_payload(v1, [(0, 1)], shipping="5.00")
        message = self.deliver("refunds/create", refund)
        self.assertEqual(message.state, "done", message.last_error)
        credit_note = message._get_record()
        self.assertEqual(credit_note.move_type, "out_refund")
        self.assertEqual(credit_note.ref, f"Shopify refund {refund['id']}")
        self.assertAlmostEqual(credit_note.amount_untaxed, 20.0 + 5.0)
        self.assertAlmostEqual(credit_note.amount_total, 25.0 * 1.2)
        sale_line = order.order_line.filtered(
            lambda line: line.product_id.default_code == "SKU-A"
        )
        self.assertIn(sale_line, credit_note.invoice_line_ids.sale_line_ids)
        returns = order.picking_ids - delivery
        self.assertEqual(len(returns), 1)
        self.assertEqual(returns.picking_type_code, "incoming")
        self.assertEqual(returns.move_ids.product_id, self.products["SKU-A"])
        self.assertEqual(returns.move_ids.product_uom_qty, 1)
        self.assertIn("refund", order.activity_ids.summary)
        # redelivered refund: nothing more
        again = self.deliver("refunds/create", refund, event_id="other-delivery")
        self.assertEqual(again.state, "done")
        self.assertEqual(
            self.env["account.move"].search_count([("ref", "=", credit_note.ref)]), 1
        )

    def test_refund_without_restock_makes_no_return(self):
        v1 = sim.order_payload([("SKU-A", 2, "20.00")])
        self.deliver("orders/create", v1)
        order = self.order_of(v1)
        pickings = order.picking_ids
        self.deliver(
            "refunds/create",
            sim.refund_payload(v1, [(0, 1)], restock_type="no_restock"),
        )
        self.assertEqual(order.picking_ids, pickings)

    def test_refund_before_order_waits(self):
        v1 = sim.order_payload([("SKU-A", 2, "20.00")])
        refund = self.deliver(
            "refunds/create",
            sim.refund_payload(v1, [(0, 1)], restock_type="no_restock"),
        )
        self.assertEqual(refund.state, "failed")
        self.assertEqual(refund.attempt_count, 0)
        self.deliver("orders/create", v1)
        refund._job_process()
        self.assertEqual(refund.state, "done", refund.last_error)

    def test_app_uninstalled_pauses_backend(self):
        message = self.deliver(
            "app/uninstalled", {"id": 1, "domain": "sim-shop.myshopify.com"}
        )
        self.assertEqual(message.state, "done", message.last_error)
        self.assertTrue(self.backend.paused)
        self.assertTrue(self.backend.activity_ids)

    def test_orders_go_before_catalog_updates(self):
        with trap_jobs() as trap:
            payload = sim.order_payload([("SKU-C", 1, "89.90")])
            order = self.deliver("orders/create", payload, process=False)
            self.assertEqual(trap.enqueued_jobs[-1].priority, order.priority)
        catalog = self.backend._get_topic_priority("products/update")
        self.assertLess(order.priority, catalog)
        self.assertLess(
            order.priority, self.backend._get_topic_priority("inventory/set")
        )
