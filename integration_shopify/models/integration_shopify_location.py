from odoo import fields, models


class IntegrationShopifyLocation(models.Model):
    """A Shopify location and the Odoo warehouse that stocks it."""

    _name = "integration.shopify.location"
    _description = "Shopify Location"
    _order = "backend_id, sequence, id"

    backend_id = fields.Many2one(
        "integration.backend", required=True, ondelete="cascade", index=True
    )
    sequence = fields.Integer(default=10)
    name = fields.Char()
    shopify_location_id = fields.Char(required=True, string="Shopify Location ID")
    warehouse_id = fields.Many2one("stock.warehouse", required=True, ondelete="cascade")
    export_inventory = fields.Boolean(
        default=True,
        help="Send this warehouse's stock levels to this Shopify location.",
    )

    _sql_constraints = [
        (
            "location_unique",
            "unique(backend_id, shopify_location_id)",
            "A Shopify location is mapped once per backend.",
        )
    ]
