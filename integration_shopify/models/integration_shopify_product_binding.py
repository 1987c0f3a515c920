from odoo import fields, models


class IntegrationShopifyProductBinding(models.Model):
    """A product variant known to a Shopify shop: its inventory item is what
    stock levels are exported to."""

    _name = "integration.shopify.product.binding"
    _description = "Shopify Product Binding"
    _order = "backend_id, product_id"

    backend_id = fields.Many2one(
        "integration.backend", required=True, ondelete="cascade", index=True
    )
    product_id = fields.Many2one(
        "product.product", required=True, ondelete="cascade", index=True
    )
    shopify_variant_id = fields.Char(string="Shopify Variant ID", index=True)
    inventory_item_id = fields.Char(string="Shopify Inventory Item ID", index=True)
    export_inventory = fields.Boolean(default=True)

    _sql_constraints = [
        (
            "product_backend_unique",
            "unique(backend_id, product_id)",
            "A product is bound once per backend.",
        ),
        (
            "inventory_item_backend_unique",
            "unique(backend_id, inventory_item_id)",
            "An inventory item is bound once per backend.",
        ),
    ]
