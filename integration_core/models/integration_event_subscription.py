from odoo import api, fields, models, tools


class IntegrationEventSubscription(models.Model):
    """A subscriber switched on or off for one backend. Without a row, every
    subscriber of the backend's type is on; switched off, its deliveries are
    recorded as ``skipped`` (nothing is silently lost)."""

    _name = "integration.event.subscription"
    _description = "Integration Event Subscription"
    _inherit = ["integration.cached.mixin"]
    _order = "backend_id, subscriber"

    backend_id = fields.Many2one(
        "integration.backend", required=True, ondelete="cascade", index=True
    )
    subscriber = fields.Selection(selection="_selection_subscriber", required=True)
    enabled = fields.Boolean(default=True)

    _sql_constraints = [
        (
            "subscriber_unique",
            "unique(backend_id, subscriber)",
            "A subscriber is switched once per backend.",
        )
    ]

    @api.model
    def _selection_subscriber(self):
        return [
            (subscriber["key"], subscriber.get("name") or subscriber["key"])
            for subscriber in self.env["integration.event"]._get_subscribers()
        ]

    @api.model
    def _is_enabled(self, backend, subscriber):
        """Whether ``backend`` takes the deliveries of ``subscriber``."""
        return (backend.id, subscriber) not in self._switched_off()

    @api.model
    @tools.ormcache()
    def _switched_off(self):
        # read for every delivery created; cleared by any change (mixin)
        return frozenset(
            (row.backend_id.id, row.subscriber)
            for row in self.sudo().search([("enabled", "=", False)])
        )
