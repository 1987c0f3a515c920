from odoo import fields, models

from ..delivery_state import APPLIED, DELIVERY_STATES, REFUSED, STALE


class IntegrationTrackingEvent(models.Model):
    """One tracking event of a parcel, as the carrier reported it, with what the
    state machine made of it (applied, older than the state, or a refused move
    back): nothing a carrier says is lost."""

    _name = "integration.tracking.event"
    _description = "Integration Tracking Event"
    _order = "occurred_at desc, id desc"
    _rec_name = "tracking_state"

    line_id = fields.Many2one(
        "integration.tracking.line", required=True, ondelete="cascade", index=True
    )
    picking_id = fields.Many2one(related="line_id.picking_id", store=True, index=True)
    tracking_number = fields.Char(related="line_id.tracking_number")
    occurred_at = fields.Datetime(required=True, readonly=True)
    status = fields.Char(string="Canonical Status", readonly=True)
    delivery_state = fields.Selection(DELIVERY_STATES, readonly=True)
    tracking_state = fields.Char(string="Carrier Status", readonly=True)
    tracking_substate = fields.Char(string="Carrier Sub-status", readonly=True)
    location = fields.Char(readonly=True)
    description = fields.Char(string="Message", readonly=True)
    outcome = fields.Selection(
        [
            (APPLIED, "Applied"),
            (STALE, "Older than the state"),
            (REFUSED, "Refused: would move back"),
        ],
        readonly=True,
        required=True,
    )
