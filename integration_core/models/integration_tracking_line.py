from odoo import api, fields, models

from ..delivery_state import DELIVERY_STATES


class IntegrationTrackingLine(models.Model):
    """One parcel of a delivery order, as its carrier tracks it.

    The shipment importer finds it by the carrier's tracker id (a binding of the
    backend) first, then by tracking number; its state moves forward only (see
    :mod:`integration_core.delivery_state`) and the picking's state is derived
    from all its lines. Connectors creating shipments store their references
    here (an inheriting model adds fields).
    """

    _name = "integration.tracking.line"
    _description = "Integration Parcel Tracking"
    _order = "picking_id, id"
    _rec_name = "tracking_number"

    picking_id = fields.Many2one(
        "stock.picking", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="picking_id.company_id", store=True)
    backend_id = fields.Many2one(
        "integration.backend",
        ondelete="set null",
        index="btree_not_null",
        help="The backend whose tracker reports this parcel.",
    )
    package_id = fields.Many2one("stock.quant.package", ondelete="set null")
    parcel_reference = fields.Char(
        help="The parcel's reference in Odoo (package name), when there are several."
    )
    tracking_number = fields.Char(index=True, copy=False)
    tracker_ref = fields.Char(
        string="Tracker ID", copy=False, help="The carrier's id of the tracker."
    )
    delivery_state = fields.Selection(DELIVERY_STATES, readonly=True, copy=False)
    tracking_state = fields.Char(
        string="Carrier Status", readonly=True, copy=False, help="Raw status."
    )
    tracking_substate = fields.Char(
        string="Carrier Sub-status", readonly=True, copy=False
    )
    delivery_state_at = fields.Datetime(string="Last Event", readonly=True, copy=False)
    estimated_delivery = fields.Datetime(readonly=True, copy=False)
    tracking_url = fields.Char(string="Tracking Page", readonly=True, copy=False)
    event_ids = fields.One2many("integration.tracking.event", "line_id")

    _sql_constraints = [
        (
            "tracking_number_unique",
            "unique(picking_id, tracking_number)",
            "A tracking number is one parcel of its delivery order.",
        )
    ]

    @api.depends("tracking_number", "parcel_reference", "picking_id")
    def _compute_display_name(self):
        for line in self:
            line.display_name = (
                line.tracking_number or line.parcel_reference or line.picking_id.name
            )

    def _bind_tracker(self, backend, tracker_ref):
        """Record that ``tracker_ref`` of ``backend`` tracks this parcel: its
        later events find the line by that id, whatever its tracking number."""
        self.ensure_one()
        if not tracker_ref:
            return
        if self.tracker_ref != tracker_ref or self.backend_id != backend:
            self.write({"tracker_ref": tracker_ref, "backend_id": backend.id})
        self.env["integration.binding"].sudo()._bind(backend, self, tracker_ref)
