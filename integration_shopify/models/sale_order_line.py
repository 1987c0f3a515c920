from odoo import fields, models


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    shopify_line_id = fields.Char(
        string="Shopify Line ID",
        copy=False,
        help="Id of the Shopify line item (or 'shipping:<id>' for shipping lines).",
    )
