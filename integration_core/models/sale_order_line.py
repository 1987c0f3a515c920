from odoo import fields, models


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    integration_line_ref = fields.Char(
        string="External Line ID",
        copy=False,
        help="The channel's id of the order line ('shipping:<id>' for shipping).",
    )
