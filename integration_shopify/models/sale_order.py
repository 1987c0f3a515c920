from odoo import fields, models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    shopify_binding_ids = fields.One2many(
        "integration.shopify.order.binding", "sale_order_id", string="Shopify Orders"
    )

    def _shopify_binding(self):
        """The Shopify binding of this order, if any (one per order)."""
        self.ensure_one()
        return self.shopify_binding_ids[:1]
