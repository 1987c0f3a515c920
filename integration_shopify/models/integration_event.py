from odoo import models


class IntegrationEvent(models.Model):
    _inherit = "integration.event"

    def _get_subscribers(self):
        return super()._get_subscribers() + [
            {
                "key": "shopify.fulfillment",
                "name": "Shopify: fulfil shipped orders",
                "topics": ("picking.done",),
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
