from odoo import fields, models


class IntegrationShopifyTaxMap(models.Model):
    """A Shopify tax (title and rate) and the Odoo tax it becomes."""

    _name = "integration.shopify.tax.map"
    _description = "Shopify Tax Mapping"
    _order = "backend_id, title, rate"

    backend_id = fields.Many2one(
        "integration.backend", required=True, ondelete="cascade", index=True
    )
    title = fields.Char(
        required=True,
        help="Tax title as Shopify sends it, e.g. 'VAT' or 'CA State Tax'.",
    )
    rate = fields.Float(
        required=True, digits=(16, 4), help="Rate in percent (Shopify's 0.2 is 20)."
    )
    tax_id = fields.Many2one(
        "account.tax",
        required=True,
        ondelete="restrict",
        domain="[('type_tax_use', '=', 'sale')]",
    )

    _sql_constraints = [
        (
            "title_rate_unique",
            "unique(backend_id, title, rate)",
            "A Shopify tax is mapped once per backend.",
        )
    ]
