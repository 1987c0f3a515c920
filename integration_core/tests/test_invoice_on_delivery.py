"""Invoice on delivery: the core's ``shipment.delivered`` subscriber invoices the
delivered quantities of a channel's order once, whatever the carrier repeats."""

from odoo.tests import TransactionCase, tagged

from .common import canonical_order, deliver_events, make_backend, make_product


@tagged("post_install", "-at_install")
class TestInvoiceOnDelivery(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.backend = make_backend(
            cls.env,
            name="Webshop",
            invoice_policy="delivery",
            tax_fallback="none",
        )
        cls.carrier_feed = make_backend(cls.env, name="Carrier feed")
        cls.product = make_product(cls.env, "INV-DELIVERY", 20.0)
        cls.warehouse = cls.env["stock.warehouse"].search(
            [("company_id", "=", cls.env.company.id)], limit=1
        )

    def order(self, external_id):
        order = self.backend._import_canonical(
            "order",
            canonical_order(
                self.env,
                external_id,
                "INV-DELIVERY",
                3,
                "20.00",
                shipping_lines=[
                    {"external_id": "s1", "name": "Standard", "price": "5.00"}
                ],
                totals={"total": "65.00"},
            ),
        )
        self.assertEqual(order.state, "sale")
        return order

    def ship(self, order, quantity, tracking):
        self.env["stock.quant"]._update_available_quantity(
            self.product, self.warehouse.lot_stock_id, quantity
        )
        picking = order.picking_ids.filtered(
            lambda p: p.state not in ("done", "cancel")
        )
        picking.action_assign()
        picking.move_ids.write({"quantity": quantity, "picked": True})
        picking.with_context(cancel_backorder=False)._action_done()
        picking.carrier_tracking_ref = tracking
        return picking

    def track(self, tracking, status, occurred_at):
        return self.carrier_feed._import_canonical(
            "shipment.event",
            {
                "tracking_number": tracking,
                "carrier": "UPS",
                "status": status,
                "occurred_at": occurred_at,
            },
        )

    def invoice_deliveries(self, picking):
        return self.env["integration.event.delivery"].search(
            [
                ("subscriber", "=", "invoice.on_delivery"),
                ("event_id.res_model", "=", "stock.picking"),
                ("event_id.res_id", "=", picking.id),
            ]
        )

    def invoices(self, order):
        return order.invoice_ids.filtered(lambda move: move.move_type == "out_invoice")

    def test_delivered_quantities_invoiced_once(self):
        order = self.order("inv-1")
        picking = self.ship(order, 2, "TRK-INV-1")
        self.track("TRK-INV-1", "in_transit", "2026-03-15T08:00:00Z")
        deliver_events(picking)
        self.assertFalse(self.invoices(order), "no invoice before the delivery")
        self.track("TRK-INV-1", "delivered", "2026-03-16T08:00:00Z")
        self.assertEqual(deliver_events(picking), ["done"])
        invoice = self.invoices(order)
        self.assertEqual(len(invoice), 1)
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(picking.integration_invoice_id, invoice)
        goods = invoice.invoice_line_ids.filtered(
            lambda line: line.product_id == self.product
        )
        self.assertEqual(goods.quantity, 2, "the delivered quantity, not the ordered")
        self.assertEqual(invoice.amount_total, 45.0)
        # the carrier repeats itself, then the delivery is replayed
        self.track("TRK-INV-1", "delivered", "2026-03-16T08:00:00Z")
        self.track("TRK-INV-1", "delivered", "2026-03-16T09:00:00Z")
        deliver_events(picking)
        delivery = self.invoice_deliveries(picking)
        self.assertEqual(len(delivery), 1, "delivered once: one event")
        delivery.action_replay()
        self.assertEqual(delivery._job_deliver(), "done")
        # an incidence after the delivery, then delivered again: a new event,
        # still one invoice
        self.track("TRK-INV-1", "returned", "2026-03-17T08:00:00Z")
        self.track("TRK-INV-1", "delivered", "2026-03-18T08:00:00Z")
        deliver_events(picking)
        self.assertEqual(
            len(self.invoice_deliveries(picking)),
            2,
        )
        self.assertEqual(self.invoices(order), invoice)

    def test_invoice_written_without_field_tracking(self):
        """Like the importers, the invoicer writes without field tracking,
        whatever the job's context (the demo's 1,000 invoices spent a fifth of
        their time describing tracked fields); its note says where it came from."""
        order = self.order("inv-untracked")
        picking = self.ship(order, 3, "TRK-INV-U")
        self.track("TRK-INV-U", "delivered", "2026-03-16T08:00:00Z")
        delivery = self.invoice_deliveries(picking)
        clean_env = self.env(context={})
        invoice = clean_env["integration.delivery.invoicer"]._on_shipment_delivered(
            delivery.with_env(clean_env)
        )
        self.assertEqual(invoice.state, "posted")
        self.assertTrue(invoice.env.context.get("tracking_disable"))
        self.assertTrue(invoice.env.context.get("mail_notrack"))
        self.assertIn("Invoiced on delivery of", str(invoice.message_ids.body))

    def test_not_invoiced_under_manual_policy(self):
        self.backend.invoice_policy = "manual"
        order = self.order("inv-2")
        picking = self.ship(order, 3, "TRK-INV-2")
        self.track("TRK-INV-2", "delivered", "2026-03-16T08:00:00Z")
        self.assertEqual(deliver_events(picking).count("done"), 1)
        self.assertFalse(self.invoices(order))
        self.assertFalse(picking.integration_invoice_id)

    def test_orders_of_no_channel_are_left_alone(self):
        order = self.env["sale.order"].create(
            {
                "partner_id": self.env["res.partner"].create({"name": "Walk-in"}).id,
                "order_line": [
                    (0, 0, {"product_id": self.product.id, "product_uom_qty": 1})
                ],
            }
        )
        order.action_confirm()
        picking = self.ship(order, 1, "TRK-INV-3")
        self.track("TRK-INV-3", "delivered", "2026-03-16T08:00:00Z")
        deliver_events(picking)
        self.assertFalse(self.invoices(order))
