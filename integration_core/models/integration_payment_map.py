from odoo import fields, models


class IntegrationPaymentMap(models.Model):
    """A channel's payment gateway and the journal its money goes through.

    A paid order is recorded as a customer payment in the journal of its first
    mapped gateway; refunds are paid back through the refund's gateway."""

    _name = "integration.payment.map"
    _description = "Integration Payment Gateway Mapping"
    _order = "backend_id, gateway"

    backend_id = fields.Many2one(
        "integration.backend", required=True, ondelete="cascade", index=True
    )
    gateway = fields.Char(
        required=True, help="Gateway name as the channel sends it, e.g. 'stripe'."
    )
    journal_id = fields.Many2one(
        "account.journal",
        required=True,
        ondelete="restrict",
        domain="[('type', 'in', ('bank', 'cash'))]",
    )

    _sql_constraints = [
        (
            "gateway_unique",
            "unique(backend_id, gateway)",
            "A payment gateway is mapped once per backend.",
        )
    ]
