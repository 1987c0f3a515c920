from odoo import fields, models

from odoo.addons.integration_core.models.integration_backend import (
    set_connector_removed,
)


class IntegrationBackend(models.Model):
    _inherit = "integration.backend"

    backend_type = fields.Selection(
        selection_add=[("carrier", "Shipping carrier")],
        ondelete={"carrier": set_connector_removed},
    )

    def _has_sales_settings(self):
        # a carrier ships orders; it never imports them
        if self.backend_type == "carrier":
            return False
        return super()._has_sales_settings()
