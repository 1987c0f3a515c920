from odoo import fields, models

SHIPMENT_STATUSES = [
    ("label_created", "Label created"),
    ("in_transit", "In transit"),
    ("out_for_delivery", "Out for delivery"),
    ("delivered", "Delivered"),
    ("failed_attempt", "Delivery attempt failed"),
    ("exception", "Exception"),
    ("returned", "Returned"),
    ("cancelled", "Cancelled"),
    ("unknown", "Unknown"),
]


class StockPicking(models.Model):
    _name = "stock.picking"
    _inherit = ["stock.picking", "integration.correlated.mixin"]

    shipment_status = fields.Selection(
        SHIPMENT_STATUSES,
        readonly=True,
        copy=False,
        help="Latest tracking status reported by the carrier.",
    )
    shipment_status_at = fields.Datetime(readonly=True, copy=False)
    shipment_estimated_delivery = fields.Datetime(readonly=True, copy=False)
