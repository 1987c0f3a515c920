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

    def _action_done(self):
        result = super()._action_done()
        for picking in self.filtered(
            lambda p: p.state == "done" and p.picking_type_code == "outgoing"
        ):
            picking._publish_done()
        return result

    def _publish_done(self):
        """``picking.done``: a delivery order left the warehouse."""
        self.ensure_one()
        return self.env["integration.event"]._publish(
            "picking.done",
            {
                "model": self._name,
                "id": self.id,
                "name": self.name,
                "sale_order_id": self.sale_id.id or False,
                "tracking_number": self.carrier_tracking_ref or False,
                "carrier": self.carrier_id.name or False,
                "is_return": bool(self.return_id),
            },
            record=self,
        )
