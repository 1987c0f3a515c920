from odoo import fields, models


class IntegrationTrackingLine(models.Model):
    """A parcel's shipment at the carrier: the shipment bought for it, its label
    and where the request stands."""

    _inherit = "integration.tracking.line"

    carrier_shipment_ref = fields.Char(
        string="Carrier Shipment", readonly=True, copy=False
    )
    label_state = fields.Selection(
        [
            ("requested", "Requested"),
            ("bought", "Label bought"),
            ("done", "Label attached"),
            ("cancelling", "Cancelling"),
            ("cancelled", "Cancelled"),
        ],
        readonly=True,
        copy=False,
    )
    carrier_label_url = fields.Char(string="Label URL", readonly=True, copy=False)
    carrier_rate = fields.Char(
        string="Postage",
        readonly=True,
        copy=False,
        help="What the carrier charged for the label, as it says it.",
    )
    label_attachment_id = fields.Many2one(
        "ir.attachment", string="Label", readonly=True, copy=False
    )
