from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..backoff import backoff_delay


class IntegrationRetryPolicy(models.Model):
    _name = "integration.retry.policy"
    _description = "Integration Retry Policy"
    _order = "name"

    name = fields.Char(required=True, translate=True)
    active = fields.Boolean(default=True)
    max_attempts = fields.Integer(
        default=8, required=True, help="Attempts before a message is declared dead."
    )
    initial_delay = fields.Integer(
        default=30, required=True, help="Delay in seconds before the first retry."
    )
    backoff_factor = fields.Float(
        default=2.0, required=True, help="Each retry waits this many times longer."
    )
    max_delay = fields.Integer(
        default=3600, required=True, help="Upper bound of a retry delay, in seconds."
    )
    conflict_retries = fields.Integer(
        default=5,
        required=True,
        help="A message that meets a concurrent transaction (lock or "
        "serialization conflict) is retried within a second or two this many "
        "times in a row, without spending an attempt, before the delays above "
        "apply.",
    )
    jitter = fields.Float(
        default=0.1,
        required=True,
        help="Random spread of each delay: 0.1 means plus or minus 10%.",
    )

    @api.constrains(
        "max_attempts",
        "initial_delay",
        "backoff_factor",
        "max_delay",
        "jitter",
        "conflict_retries",
    )
    def _check_values(self):
        for policy in self:
            if policy.max_attempts < 1:
                raise ValidationError(
                    self.env._("A policy needs at least one attempt.")
                )
            if policy.initial_delay < 0 or policy.max_delay < policy.initial_delay:
                raise ValidationError(
                    self.env._(
                        "Delays must be positive and the maximum delay at "
                        "least the initial one."
                    )
                )
            if policy.backoff_factor < 1:
                raise ValidationError(self.env._("The backoff factor must be >= 1."))
            if policy.conflict_retries < 0:
                raise ValidationError(
                    self.env._("Conflict retries cannot be negative.")
                )
            if not 0 <= policy.jitter < 1:
                raise ValidationError(self.env._("The jitter must be in [0, 1)."))

    def _get_delay(self, attempt):
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        self.ensure_one()
        return backoff_delay(
            attempt,
            self.initial_delay,
            self.backoff_factor,
            self.max_delay,
            self.jitter,
        )
