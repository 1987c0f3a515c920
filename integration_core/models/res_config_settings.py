import secrets

from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    integration_metrics_token = fields.Char(
        string="Metrics bearer token",
        config_parameter="integration_core.metrics_token",
        help="Prometheus scrapes /integration/metrics with "
        "'Authorization: Bearer <token>'. Empty: the endpoint refuses everyone.",
    )
    integration_stuck_minutes = fields.Integer(
        string="Requeue stuck messages after (minutes)",
        config_parameter="integration_core.stuck_minutes",
        default=15,
    )

    def action_integration_generate_metrics_token(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "integration_core.metrics_token", secrets.token_urlsafe(32)
        )
        return {"type": "ir.actions.client", "tag": "reload"}
