import re

from odoo import fields, models

from ..delivery_state import DELIVERY_STATES


class StockPicking(models.Model):
    _name = "stock.picking"
    _inherit = ["stock.picking", "integration.correlated.mixin"]

    # named as OCA delivery_state names them, so its reports and carrier
    # modules read the same fields
    delivery_state = fields.Selection(
        DELIVERY_STATES,
        readonly=True,
        copy=False,
        help="Where the parcels are, from the carrier's tracking events: "
        "delivered when every parcel is.",
    )
    tracking_state = fields.Char(
        string="Carrier Status",
        readonly=True,
        copy=False,
        help="The carrier's own status of the latest event applied.",
    )
    tracking_substate = fields.Char(
        string="Carrier Sub-status", readonly=True, copy=False
    )
    delivery_state_at = fields.Datetime(
        string="Last Tracking Event", readonly=True, copy=False
    )
    delivery_estimated_at = fields.Datetime(
        string="Estimated Delivery", readonly=True, copy=False
    )
    date_delivered = fields.Datetime(readonly=True, copy=False)
    tracking_line_ids = fields.One2many(
        "integration.tracking.line", "picking_id", string="Parcels", copy=False
    )
    tracking_event_ids = fields.One2many(
        "integration.tracking.event",
        "picking_id",
        string="Tracking History",
        readonly=True,
    )
    integration_invoice_id = fields.Many2one(
        "account.move",
        string="Invoice on Delivery",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The invoice created when the carrier confirmed the delivery.",
    )

    def _get_tracking_numbers(self):
        """The tracking numbers of ``carrier_tracking_ref`` (Odoo joins those of
        several parcels with commas; some carriers with ``+``)."""
        self.ensure_one()
        return [
            number
            for number in re.split(r"[,+;\s]+", self.carrier_tracking_ref or "")
            if number
        ]

    def _sync_tracking_lines(self, backend=None):
        """One tracking line per tracking number of the picking (created for the
        numbers that have none), so a picking of several parcels is delivered
        only when every parcel is.

        :returns: the picking's tracking lines
        """
        self.ensure_one()
        known = set(self.tracking_line_ids.mapped("tracking_number"))
        missing = [n for n in self._get_tracking_numbers() if n not in known]
        if missing:
            self.env["integration.tracking.line"].sudo().create(
                [
                    {
                        "picking_id": self.id,
                        "tracking_number": number,
                        "backend_id": backend.id if backend else False,
                    }
                    for number in missing
                ]
            )
        return self.tracking_line_ids

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
            "picking.done", self._integration_event_payload(), record=self
        )

    def _publish_tracked(self):
        """``picking.tracked``: a delivery order validated without its tracking
        number got it (a carrier answering after the validation), published by
        the connector that received it once every parcel has one."""
        self.ensure_one()
        return self.env["integration.event"]._publish(
            "picking.tracked", self._integration_event_payload(), record=self
        )

    def _integration_event_payload(self):
        """The payload of the picking's events."""
        self.ensure_one()
        return {
            "model": self._name,
            "id": self.id,
            "name": self.name,
            "sale_order_id": self.sale_id.id or False,
            "tracking_number": self.carrier_tracking_ref or False,
            "carrier": self.carrier_id.name or False,
            "is_return": bool(self.return_id),
        }

    def _integration_awaits_tracking(self):
        """Whether the picking's tracking number is still to come from its
        carrier (requested on validation, answered later); subscribers that
        need it wait for ``picking.tracked``. False here: carrier connectors
        say when."""
        self.ensure_one()
        return False
