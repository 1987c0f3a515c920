from odoo import api, fields, models
from odoo.exceptions import ValidationError


class IntegrationShopifyProductBinding(models.Model):
    """A product variant known to a Shopify shop: a generic binding (the variant
    id is its external id, which orders find it by) plus the inventory item
    that stock levels are exported to."""

    _name = "integration.shopify.product.binding"
    _description = "Shopify Product Binding"
    _inherits = {"integration.binding": "binding_id"}
    _order = "backend_id, product_id"

    binding_id = fields.Many2one(
        "integration.binding", required=True, ondelete="cascade", index=True
    )
    product_id = fields.Many2one(
        "product.product", required=True, ondelete="cascade", index=True
    )
    shopify_variant_id = fields.Char(
        string="Shopify Variant ID", related="binding_id.external_id", readonly=False
    )
    inventory_item_id = fields.Char(string="Shopify Inventory Item ID", index=True)
    export_inventory = fields.Boolean(default=True)

    @api.constrains("backend_id", "product_id", "inventory_item_id")
    def _check_unique_per_backend(self):
        for binding in self:
            others = self.search_count(
                [
                    ("id", "!=", binding.id),
                    ("backend_id", "=", binding.backend_id.id),
                    "|",
                    ("product_id", "=", binding.product_id.id),
                    "&",
                    ("inventory_item_id", "!=", False),
                    ("inventory_item_id", "=", binding.inventory_item_id),
                ]
            )
            if others:
                raise ValidationError(
                    self.env._(
                        "A product and an inventory item are bound once per backend."
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            vals.setdefault("res_model", "product.product")
            if vals.get("product_id"):
                vals["res_id"] = vals["product_id"]
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("product_id"):
            vals = dict(vals, res_id=vals["product_id"])
        return super().write(vals)
