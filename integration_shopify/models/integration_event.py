from odoo import models


class IntegrationEvent(models.Model):
    _inherit = "integration.event"

    def _get_subscribers(self):
        return super()._get_subscribers() + [
            {
                "key": "shopify.fulfillment",
                "name": "Shopify: fulfil shipped orders",
                # a picking validated before its carrier gave the tracking
                # number is fulfilled when it has it
                "topics": ("picking.done", "picking.tracked"),
                "model": "integration.backend",
                "method": "_shopify_on_picking_done",
                "backend_types": ("shopify",),
            },
            {
                "key": "shopify.delivered",
                "name": "Shopify: mark fulfillments delivered",
                "topics": ("shipment.delivered",),
                "model": "integration.backend",
                "method": "_shopify_on_shipment_delivered",
                "backend_types": ("shopify",),
            },
        ]
