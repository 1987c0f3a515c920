from odoo import Command
from odoo.tests import HttpCase, tagged

from odoo.addons.integration_core.tests.common import LocalServerMixin, process

from . import carrier_simulator as sim
from .common import API_KEY, CarrierMixin


@tagged("post_install", "-at_install")
class TestTrackingLinkOnThePortal(LocalServerMixin, CarrierMixin, HttpCase):
    def test_portal_order_page_links_the_tracking_page(self):
        carrier = sim.CarrierSimulator(api_key=API_KEY)
        carrier.start()
        self.addCleanup(carrier.stop)
        self.easypost.api_base_url = carrier.url
        order = self.env["sale.order"].create(
            {
                "partner_id": self.customer.id,
                "carrier_id": self.carrier.id,
                "order_line": [
                    Command.create(
                        {"product_id": self.product.id, "product_uom_qty": 1}
                    )
                ],
            }
        )
        order.action_confirm()
        picking = order.picking_ids
        self.validate(picking)
        for _round in range(3):
            for message in self.env["integration.outbox.message"].search(
                [
                    ("res_model", "=", "stock.picking"),
                    ("res_id", "=", picking.id),
                    ("state", "=", "pending"),
                ]
            ):
                self.assertEqual(process(message), "sent", message.last_error)
        url = picking.tracking_line_ids.tracking_url
        self.assertTrue(url)
        self.assertEqual(picking.carrier_tracking_url, url)
        response = self.url_open(order.get_portal_url())
        self.assertEqual(response.status_code, 200)
        self.assertIn(f'href="{url}"', response.text)
        self.assertIn(picking.carrier_tracking_ref, response.text)
