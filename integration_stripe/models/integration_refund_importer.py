from odoo import models


class IntegrationRefundImporter(models.AbstractModel):
    _inherit = "integration.refund.importer"

    def _get_credit_note_policy(self, backend):
        if backend.backend_type != "stripe":
            return super()._get_credit_note_policy(backend)
        return backend.stripe_credit_note_policy
