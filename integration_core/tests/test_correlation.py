import logging

from odoo.tests import tagged

from odoo.addons.integration_core import tracing
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import IntegrationCase

_logger = logging.getLogger("odoo.addons.integration_core.tests.flow")


@tagged("post_install", "-at_install")
class TestCorrelation(IntegrationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls.env["res.partner"].create({"name": "Correlated customer"})
        cls.product = cls.env["product.product"].create(
            {"name": "Correlated product", "type": "consu"}
        )

    def order_handler(self, message):
        _logger.warning("creating order for %s", message.external_ref)
        order = message.env["sale.order"].create(
            {
                "partner_id": self.customer.id,
                "client_order_ref": message.external_ref,
                "order_line": [
                    (0, 0, {"product_id": self.product.id, "product_uom_qty": 1})
                ],
            }
        )
        order.action_confirm()
        # what a connector does when the order is confirmed
        self.backend._outbox_enqueue(
            "fulfillment/create", {"order": order.name}, record=order
        )
        return order

    def test_inbox_to_order_to_outbox(self):
        self.handlers["orders/create"] = self.order_handler
        message = self.receive(
            "orders/create",
            {"id": 42},
            key="evt-42",
            external_ref=42,
            correlation_id="shopify-evt-42",
        )
        with trap_jobs(), self.assertLogs(_logger.name, level="WARNING") as logs:
            self.assertEqual(message._job_process(), "done")
        self.assertIn("[corr=shopify-evt-42] creating order for 42", logs.output[0])
        order = message._get_record()
        self.assertEqual(order._name, "sale.order")
        self.assertEqual(order.integration_correlation_id, "shopify-evt-42")
        self.assertEqual(order.picking_ids.integration_correlation_id, "shopify-evt-42")
        outbox = self.env["integration.outbox.message"].search(
            [("res_model", "=", "sale.order"), ("res_id", "=", order.id)]
        )
        self.assertEqual(outbox.correlation_id, "shopify-evt-42")

        # later, outside the handler, a user action about the order inherits it too
        with trap_jobs():
            later = self.backend._outbox_enqueue(
                "orders/update", {"n": 2}, record=order
            )
        self.assertEqual(later.correlation_id, "shopify-evt-42")

        # the smart button lists the whole flow, both directions
        self.assertEqual(order.integration_message_count, 3)
        action = order.action_view_integration_messages()
        trace = self.env[action["res_model"]].search(action["domain"])
        # one transaction here: dates cannot order them, directions are what counts
        self.assertEqual(sorted(trace.mapped("direction")), ["in", "out", "out"])
        inbound = trace.filtered(lambda t: t.direction == "in")
        self.assertEqual(inbound.inbox_message_id, message)
        self.assertEqual(inbound.action_open_message()["res_id"], message.id)

    def test_generated_correlation_id_and_write_propagation(self):
        order = self.env["sale.order"].create({"partner_id": self.customer.id})
        self.assertFalse(order.integration_correlation_id)

        def touch(message):
            message.env["sale.order"].browse(order.id).write({"note": "from webhook"})
            return order

        self.handlers["orders/updated"] = touch
        message = self.receive("orders/updated", {"id": 1}, key="evt-upd")
        self.assertTrue(message.correlation_id, "a correlation id is generated")
        message._job_process()
        self.assertEqual(order.integration_correlation_id, message.correlation_id)

    def test_log_prefix_only_inside_processing(self):
        with self.assertLogs(_logger.name, level="WARNING") as logs:
            _logger.warning("plain %s line", "100%")
            with tracing.correlation("abc%d"):
                _logger.warning("inside %s", "x")
                _logger.warning("no args 100%")
        self.assertEqual(logs.records[0].getMessage(), "plain 100% line")
        self.assertEqual(logs.records[1].getMessage(), "[corr=abc%d] inside x")
        self.assertEqual(logs.records[1].integration_correlation_id, "abc%d")
        self.assertEqual(logs.records[2].getMessage(), "[corr=abc%d] no args 100%")
