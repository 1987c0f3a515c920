import logging
import secrets

from odoo import api, fields, models

_logger = logging.getLogger(__name__)

DEFAULT_TOPIC_PRIORITY = 10


class IntegrationBackend(models.Model):
    """One connection to an external system.

    Connectors add their ``backend_type`` with ``selection_add`` and extend the hook
    methods below (``_get_inbox_handler``, ``_get_topic_priority``...) for it.
    """

    _name = "integration.backend"
    _description = "Integration Backend"
    _inherit = ["mail.thread"]
    _order = "name"

    name = fields.Char(required=True, tracking=True)
    backend_type = fields.Selection(
        selection=[("generic", "Generic (Standard Webhooks)")],
        required=True,
        default="generic",
        tracking=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    active = fields.Boolean(default=True, tracking=True)
    retry_policy_id = fields.Many2one(
        "integration.retry.policy",
        required=True,
        ondelete="restrict",
        default=lambda self: self.env.ref(
            "integration_core.retry_policy_default", raise_if_not_found=False
        ),
    )
    retention_days = fields.Integer(
        default=30,
        required=True,
        help="Processed and ignored messages older than this are purged; "
        "failed and dead ones are kept.",
    )
    webhook_token = fields.Char(
        default=lambda self: secrets.token_urlsafe(24),
        required=True,
        readonly=True,
        copy=False,
        index=True,
    )
    webhook_url = fields.Char(compute="_compute_webhook_url")
    inbound_channel = fields.Char(
        help="queue_job channel processing this backend's inbound messages; "
        "empty means root.integration.<type>.inbound."
    )
    outbound_channel = fields.Char(
        help="queue_job channel sending this backend's outbound messages; "
        "empty means root.integration.<type>.outbound."
    )
    inbox_message_ids = fields.One2many("integration.inbox.message", "backend_id")
    outbox_message_ids = fields.One2many("integration.outbox.message", "backend_id")

    _sql_constraints = [
        ("webhook_token_unique", "unique(webhook_token)", "Webhook tokens are unique.")
    ]

    @api.depends("webhook_token")
    def _compute_webhook_url(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
        for backend in self:
            backend.webhook_url = f"{base_url}/integration/webhook/{backend.webhook_token}"

    def action_regenerate_webhook_token(self):
        """Give the backend a new webhook URL; the old one stops answering."""
        for backend in self:
            backend.webhook_token = secrets.token_urlsafe(24)

    # -- channels and priorities ---------------------------------------------------
    def _get_inbox_channel(self):
        self.ensure_one()
        return self.inbound_channel or f"root.integration.{self.backend_type}.inbound"

    def _get_outbox_channel(self):
        self.ensure_one()
        return self.outbound_channel or f"root.integration.{self.backend_type}.outbound"

    def _get_topic_priority(self, topic):
        """queue_job priority of messages of ``topic`` (lower runs first).

        Connectors put orders and payments before catalog updates.
        """
        return DEFAULT_TOPIC_PRIORITY

    # -- inbound -------------------------------------------------------------------
    def _get_inbox_handler(self, topic):
        """Return the callable processing inbound messages of ``topic``, or None.

        The callable receives the ``integration.inbox.message`` and returns the
        record it created or changed (or nothing). The default looks ``topic`` up
        in :meth:`_get_inbox_handler_methods`.
        """
        self.ensure_one()
        method_name = self._get_inbox_handler_methods().get(topic)
        return getattr(self, method_name) if method_name else None

    def _get_inbox_handler_methods(self):
        """Map each topic this backend's type handles to a backend method name."""
        return {}

    def _inbox_receive(
        self,
        topic,
        payload,
        idempotency_key,
        external_ref=None,
        sequence_key=None,
        event_at=None,
        headers=None,
        correlation_id=None,
    ):
        """Store an inbound message once and enqueue its processing.

        :returns: ``(message, created)``; a delivery whose ``idempotency_key`` was
            already received returns the existing message with ``created`` False
            and its ``duplicate_count`` incremented.
        """
        self.ensure_one()
        return self.env["integration.inbox.message"]._receive(
            self,
            topic=topic,
            payload=payload,
            idempotency_key=idempotency_key,
            external_ref=external_ref,
            sequence_key=sequence_key,
            event_at=event_at,
            headers=headers,
            correlation_id=correlation_id,
        )

    # -- outbound ------------------------------------------------------------------
    def _outbox_enqueue(
        self, topic, payload, idempotency_key=None, coalesce_key=None, record=None
    ):
        """Record an outbound message in the current transaction.

        It is sent by a job after the transaction commits; a rollback sends
        nothing. ``record`` is the Odoo record the message is about.
        """
        self.ensure_one()
        return self.env["integration.outbox.message"]._enqueue(
            self,
            topic=topic,
            payload=payload,
            idempotency_key=idempotency_key,
            coalesce_key=coalesce_key,
            record=record,
        )

    def _outbox_send(self, message):
        """Deliver one outbound message; connectors implement it per backend type."""
        raise NotImplementedError(
            f"backend type {self.backend_type} has no outbound delivery"
        )
