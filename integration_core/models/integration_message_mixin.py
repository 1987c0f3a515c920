import json

from odoo import api, fields, models

from ..exceptions import IllegalTransition

ERROR_MAX_LENGTH = 4000


class IntegrationMessageMixin(models.AbstractModel):
    """What inbox and outbox messages share: backend, payload, state machine,
    attempts, the produced or source record and the queue_job plumbing."""

    _name = "integration.message.mixin"
    _description = "Integration Message (shared fields)"
    _order = "id desc"

    # {state: states reachable from it}; subclasses define their own.
    _transitions = {}

    backend_id = fields.Many2one(
        "integration.backend", required=True, index=True, ondelete="cascade"
    )
    backend_type = fields.Selection(related="backend_id.backend_type", store=True)
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True
    )
    topic = fields.Char(required=True, index=True)
    payload = fields.Json()
    payload_pretty = fields.Text(
        compute="_compute_payload_pretty", string="Payload (formatted)"
    )
    idempotency_key = fields.Char(required=True, index=True)
    correlation_id = fields.Char(index=True, copy=False)
    priority = fields.Integer(default=10)
    attempt_count = fields.Integer(readonly=True, copy=False)
    next_attempt_at = fields.Datetime(readonly=True, copy=False)
    last_error = fields.Text(readonly=True, copy=False)
    last_traceback = fields.Text(readonly=True, copy=False, groups="integration_core.group_integration_manager")
    res_model = fields.Char(string="Record Model", readonly=True, index=True)
    res_id = fields.Many2oneReference(
        string="Record ID", model_field="res_model", readonly=True, index=True
    )

    def _compute_payload_pretty(self):
        for message in self:
            message.payload_pretty = (
                json.dumps(message.payload, indent=2, sort_keys=True, ensure_ascii=False)
                if message.payload is not None
                else False
            )

    @api.depends("topic", "idempotency_key")
    def _compute_display_name(self):
        for message in self:
            message.display_name = f"{message.topic or ''} [{message.idempotency_key or ''}]"

    # -- state machine -------------------------------------------------------------
    def _set_state(self, state, **values):
        """Move the messages to ``state``; the only way their state changes."""
        for message in self:
            if state not in self._transitions.get(message.state, ()):
                raise IllegalTransition(
                    self.env._(
                        "Message %(message)s cannot go from %(from)s to %(to)s.",
                        message=message.display_name,
                        **{"from": message.state, "to": state},
                    )
                )
        self.write(dict(values, state=state))

    @api.model
    def _truncate_error(self, text):
        text = text or ""
        return text if len(text) <= ERROR_MAX_LENGTH else text[:ERROR_MAX_LENGTH] + "..."

    # -- linked record -------------------------------------------------------------
    def _get_record(self):
        """The record produced (inbox) or described (outbox) by this message."""
        self.ensure_one()
        if not self.res_model or not self.res_id or self.res_model not in self.env:
            return None
        return self.env[self.res_model].browse(self.res_id).exists() or None

    def action_open_record(self):
        self.ensure_one()
        record = self._get_record()
        if not record:
            return False
        return {
            "type": "ir.actions.act_window",
            "res_model": record._name,
            "res_id": record.id,
            "view_mode": "form",
        }

    # -- jobs ----------------------------------------------------------------------
    def _job_identity(self):
        self.ensure_one()
        return f"{self._name}:{self.id}"

    def _cancel_pending_jobs(self):
        """Cancel the jobs waiting to run for these messages (before a requeue)."""
        identities = [message._job_identity() for message in self]
        jobs = (
            self.env["queue.job"]
            .sudo()
            .search(
                [
                    ("identity_key", "in", identities),
                    ("state", "in", ("wait_dependencies", "pending", "enqueued")),
                ]
            )
        )
        jobs.button_cancelled()
