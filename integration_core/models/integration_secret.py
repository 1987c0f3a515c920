from odoo import api, fields, models

from .. import secret_crypto as secret_box


class IntegrationSecret(models.Model):
    """Encrypted value of one secret field of one record.

    No group has any access right on this model: only server code running as
    superuser (:class:`integration.secret.mixin`) reads or writes it, so the
    ciphertext never leaves the server through RPC, exports or views.
    """

    _name = "integration.secret"
    _description = "Integration Secret (encrypted)"
    _log_access = False

    res_model = fields.Char(required=True, index=True)
    res_id = fields.Integer(required=True, index=True)
    field_name = fields.Char(required=True)
    ciphertext = fields.Char(required=True)

    _sql_constraints = [
        (
            "record_field_unique",
            "unique(res_model, res_id, field_name)",
            "One stored value per secret field and record.",
        )
    ]

    @api.model
    def _rotate_all(self):
        """Re-encrypt every stored secret with the first configured key.

        Run after putting a new key first in ``integration_encryption_key``
        (keeping the old one after it); the old key can then be removed.
        """
        secrets = self.sudo().search([])
        for secret in secrets:
            secret.ciphertext = secret_box.rotate(secret.ciphertext)
        return len(secrets)
