from odoo import fields, models

from odoo.addons.integration_core.models.integration_backend import (
    set_connector_removed,
)


class IntegrationBackend(models.Model):
    _inherit = "integration.backend"

    backend_type = fields.Selection(
        selection_add=[("stripe", "Stripe")],
        ondelete={"stripe": set_connector_removed},
    )
