"""The core rules the order-to-cash chain needs (issue #16): imported orders
get the channel's delivery method, an invoice posted on delivery pays itself
with the payment received before it, and one correlation id follows an order
through every message and record about it."""

from odoo.tests import TransactionCase, tagged

from .common import canonical_order, deliver_events, make_backend, make_product

FLOW = "shopify-flow-1"


@tagged("post_install", "-at_install")
class TestOrderToCashRules(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        shipping = cls.env["product.product"].create(
            {"name": "O2C shipping", "type": "service"}
        )
        cls.carrier = cls.env["delivery.carrier"].create(
            {
                "name": "O2C carrier",
                "delivery_type": "fixed",
                "fixed_price": 0,
                "product_id": shipping.id,
            }
        )
        cls.journal = cls.env["account.journal"].create(
            {"name": "O2C gateway", "code": "O2CG", "type": "bank"}
        )
        cls.backend = make_backend(
            cls.env,
            name="O2C shop",
            invoice_policy="delivery",
            tax_fallback="none",
            default_carrier_id=cls.carrier.id,
            payment_map_ids=[(0, 0, {"gateway": "card", "journal_id": cls.journal.id})],
        )
        cls.carrier_feed = make_backend(cls.env, name="O2C carrier feed")
        cls.product = make_product(cls.env, "O2C-ITEM", 20.0)
        cls.warehouse = cls.env["stock.warehouse"].search(
            [("company_id", "=", cls.env.company.id)], limit=1
        )

    def order(self, external_id, correlation_id=FLOW):
        return self.backend.with_context(
            integration_correlation_id=correlation_id
        )._import_canonical(
            "order", canonical_order(self.env, external_id, "O2C-ITEM", 2, "20.00")
        )

    def pay(self, external_id, correlation_id="stripe-request-1", message=None):
        context = {"integration_correlation_id": correlation_id}
        if message:
            context.update(
                integration_message_id=message.id,
                integration_message_model=message._name,
            )
        return self.backend.with_context(**context)._import_canonical(
            "payment",
            {
                "external_id": f"pay-{external_id}",
                "amount": "40.00",
                "currency": self.env.company.currency_id.name,
                "gateway": "card",
                "match": {"order_external_id": external_id},
            },
        )

    def ship_and_deliver(self, order, tracking):
        self.env["stock.quant"]._update_available_quantity(
            self.product, self.warehouse.lot_stock_id, 2
        )
        picking = order.picking_ids
        picking.action_assign()
        picking.move_ids.write({"quantity": 2, "picked": True})
        picking._action_done()
        picking.carrier_tracking_ref = tracking
        self.carrier_feed._import_canonical(
            "shipment.event",
            {
                "tracking_number": tracking,
                "carrier": "UPS",
                "status": "delivered",
                "occurred_at": "2026-03-16T08:00:00Z",
            },
        )
        deliver_events(picking)
        return picking

    def test_imported_orders_get_the_delivery_method(self):
        order = self.order("o2c-carrier")
        self.assertEqual(order.carrier_id, self.carrier)
        self.assertEqual(order.picking_ids.carrier_id, self.carrier)
        self.backend.default_carrier_id = False
        self.assertFalse(self.order("o2c-no-carrier").carrier_id)

    def test_invoice_on_delivery_reconciled_with_the_earlier_payment(self):
        order = self.order("o2c-paid")
        payment = self.pay("o2c-paid")
        self.assertEqual(payment.integration_sale_order_id, order)
        self.assertTrue(payment.integration_to_match, "no invoice yet")
        self.ship_and_deliver(order, "TRK-O2C-1")
        invoice = order.invoice_ids
        self.assertEqual(invoice.state, "posted")
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertFalse(payment.integration_to_match)
        self.assertEqual(payment.reconciled_invoice_ids, invoice)

    def test_one_correlation_id_follows_the_order(self):
        order = self.order("o2c-flow")
        self.assertEqual(order.integration_correlation_id, FLOW)
        message, _created = self.backend._inbox_receive(
            "payment", {"id": "pay-o2c-flow"}, "o2c-flow-pay", correlation_id="req-1"
        )
        payment = self.pay("o2c-flow", "req-1", message=message)
        self.assertEqual(payment.integration_correlation_id, FLOW)
        self.assertEqual(message.correlation_id, FLOW, "the message joins the flow")
        # the order's "Integration messages" list it (by correlation id)
        action = order.action_view_integration_messages()
        trace = self.env[action["res_model"]].search(action["domain"])
        self.assertIn(message, trace.inbox_message_id)
        # a later message about the order does not take the order over
        order.with_context(integration_correlation_id="req-2").write({"note": "x"})
        self.assertEqual(order.integration_correlation_id, FLOW)
        picking = self.ship_and_deliver(order, "TRK-O2C-2")
        self.assertEqual(picking.integration_correlation_id, FLOW)
        self.assertEqual(order.invoice_ids.integration_correlation_id, FLOW)
        delivered = self.env["integration.event"].search(
            [("topic", "=", "shipment.delivered"), ("res_id", "=", picking.id)]
        )
        self.assertEqual(delivered.correlation_id, FLOW)
