from odoo import fields, models


class IntegrationTaxMap(models.Model):
    """A channel's tax (name and rate) and the Odoo tax it becomes."""

    _name = "integration.tax.map"
    _description = "Integration Tax Mapping"
    _order = "backend_id, title, rate"

    backend_id = fields.Many2one(
        "integration.backend", required=True, ondelete="cascade", index=True
    )
    title = fields.Char(
        string="Tax Name",
        required=True,
        help="Tax name as the channel sends it, e.g. 'VAT' or 'CA State Tax'.",
    )
    rate = fields.Float(
        required=True, digits=(16, 4), help="Rate in percent, e.g. 20 for 20%."
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
            "A channel tax is mapped once per backend.",
        )
    ]
