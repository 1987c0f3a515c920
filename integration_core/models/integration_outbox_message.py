import logging

from odoo import api, fields, models

_logger = logging.getLogger(__name__)

RESPONSE_BODY_MAX_LENGTH = 4000


class IntegrationOutboxMessage(models.Model):
    _name = "integration.outbox.message"
    _description = "Integration Outbound Message"
    _inherit = ["integration.message.mixin"]
    _order = "id desc"

    _transitions = {
        "pending": ("sending", "superseded", "cancelled", "pending"),
        "sending": ("sent", "failed", "dead", "pending"),
        "failed": ("pending", "sending", "dead", "superseded", "cancelled"),
        "dead": ("pending", "cancelled"),
        "sent": ("pending",),
        "superseded": (),
        "cancelled": ("pending",),
    }

    state = fields.Selection(
        [
            ("pending", "Pending"),
            ("sending", "Sending"),
            ("sent", "Sent"),
            ("failed", "Failed"),
            ("dead", "Dead"),
            ("superseded", "Superseded"),
            ("cancelled", "Cancelled"),
        ],
        default="pending",
        required=True,
        readonly=True,
        index=True,
        copy=False,
    )
    coalesce_key = fields.Char(index=True)
    response_status = fields.Integer(readonly=True, copy=False)
    response_body = fields.Text(readonly=True, copy=False)
    sent_at = fields.Datetime(readonly=True, copy=False)
    attempt_ids = fields.One2many(
        "integration.message.attempt", "outbox_message_id", readonly=True
    )

    _sql_constraints = [
        (
            "idempotency_key_backend_unique",
            "unique(backend_id, idempotency_key)",
            "An outbound idempotency key is used once per backend.",
        )
    ]

    @api.model
    def _enqueue(
        self, backend, topic, payload, idempotency_key=None, coalesce_key=None, record=None
    ):
        """See :meth:`integration.backend._outbox_enqueue`."""
        values = {
            "backend_id": backend.id,
            "topic": topic,
            "payload": payload,
            "coalesce_key": coalesce_key,
            "correlation_id": self.env.context.get("integration_correlation_id"),
            "priority": backend._get_topic_priority(topic),
        }
        if record:
            values.update(res_model=record._name, res_id=record.id)
            correlation = getattr(record, "integration_correlation_id", False)
            values["correlation_id"] = values["correlation_id"] or correlation or False
        message = self.sudo().create(dict(values, idempotency_key=idempotency_key or "-"))
        if not idempotency_key:
            message.idempotency_key = f"{backend.backend_type}-out-{message.id}"
        message._enqueue_sending()
        return message.with_env(self.env)

    def _enqueue_sending(self, eta=None):
        """Queue the send job; queue_job only sees it once this transaction commits."""
        self._cancel_pending_jobs()
        for message in self:
            backend = message.backend_id
            message.sudo().with_delay(
                channel=backend._get_outbox_channel(),
                priority=message.priority,
                eta=eta,
                identity_key=message._job_identity(),
                description=f"Send {message.topic} ({backend.name})",
            )._job_send()

    def _job_send(self):
        """queue_job entry point: one attempt at delivering the message."""
        self.ensure_one()
        if self.state not in ("pending", "failed"):
            return f"nothing to do in state {self.state}"
        return self.backend_id._outbox_send(self)
