from odoo import fields, models


class IntegrationBackend(models.Model):
    _inherit = "integration.backend"

    backend_type = fields.Selection(
        selection_add=[("stripe", "Stripe")], ondelete={"stripe": "cascade"}
    )
