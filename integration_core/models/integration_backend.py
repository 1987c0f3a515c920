import logging
import secrets
from datetime import UTC, datetime
from types import MappingProxyType

from odoo import api, fields, models, tools
from odoo.exceptions import ValidationError

from ..exceptions import SignatureError
from ..intake_rules import parse_event_time
from ..signatures import verify_standard_webhook
from .integration_secret_mixin import SecretField, SecretSetField

_logger = logging.getLogger(__name__)

DEFAULT_TOPIC_PRIORITY = 10
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# Bodies the HTTP layer itself may parse (form encodings) before the per-backend
# limit applies; no backend limit can exceed it.
HARD_MAX_BODY_BYTES = 16 * 1024 * 1024
# Topic every backend type accepts and processes as a no-op.
PING_TOPIC = "integration.ping"
# Type of the backends of an uninstalled connector (see set_connector_removed).
REMOVED_TYPE = "removed"


def set_connector_removed(backends):
    """``ondelete`` policy of a connector's ``backend_type`` value.

    Uninstalling the connector archives its backends as type ``removed`` instead
    of deleting them, which would cascade to their messages and attempts. Use it
    as ``ondelete={"shopify": set_connector_removed}``.
    """
    # sudo: the uninstalling administrator need not be an integration manager
    backends.sudo().with_context(integration_connector_removed=True).write(
        {"backend_type": REMOVED_TYPE, "active": False}
    )


class IntegrationBackend(models.Model):
    """One connection to an external system.

    Connectors add their ``backend_type`` with ``selection_add`` and extend the hook
    methods below (``_get_inbox_handler``, ``_get_topic_priority``...) for it.
    """

    _name = "integration.backend"
    _description = "Integration Backend"
    _inherit = ["mail.thread", "integration.secret.mixin", "integration.cached.mixin"]
    _order = "name"

    name = fields.Char(required=True, tracking=True)
    backend_type = fields.Selection(
        selection=[
            ("generic", "Generic (Standard Webhooks)"),
            (REMOVED_TYPE, "Connector uninstalled"),
        ],
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
    # -- webhook intake (see controllers/webhook.py) ---------------------------------
    paused = fields.Boolean(
        tracking=True,
        help="A paused backend answers 404 to webhooks, so senders keep them "
        "and retry later.",
    )
    max_body_bytes = fields.Integer(
        string="Max Webhook Size (bytes)",
        default=DEFAULT_MAX_BODY_BYTES,
        required=True,
        help="Larger webhook bodies are refused with 413.",
    )
    intake_rate_limit = fields.Integer(
        string="Intake Rate Limit (per minute)",
        default=0,
        help="Webhooks accepted per minute, all server workers together (a "
        "bucket of that size refilled evenly); more get 429 with Retry-After. "
        "0 means no limit.",
    )
    webhook_secret = SecretField(
        groups="integration_core.group_integration_manager",
        help="Signing secret of incoming webhooks (Standard Webhooks: whsec_...). "
        "Write-only: stored encrypted, never shown again.",
    )
    webhook_secret_set = SecretSetField(string="Webhook Secret Set")
    webhook_secret_previous = SecretField(
        string="Previous Webhook Secret",
        groups="integration_core.group_integration_manager",
        help="Still accepted until the date below, while senders switch secrets.",
    )
    webhook_secret_previous_set = SecretSetField(string="Previous Webhook Secret Set")
    webhook_secret_previous_until = fields.Datetime(
        string="Previous Secret Accepted Until", tracking=True
    )
    webhook_secret_missing = fields.Boolean(
        compute="_compute_webhook_secret_missing",
        help="The backend's type signs its webhooks and no secret is set: every "
        "delivery is refused with 401.",
    )
    outbox_message_ids = fields.One2many("integration.outbox.message", "backend_id")

    _sql_constraints = [
        ("webhook_token_unique", "unique(webhook_token)", "Webhook tokens are unique.")
    ]

    @api.constrains("backend_type")
    def _check_backend_type_removed(self):
        # only set_connector_removed() gives this type: a backend given it by
        # hand would refuse every webhook
        if self.env.context.get("integration_connector_removed"):
            return
        if any(backend.backend_type == REMOVED_TYPE for backend in self):
            raise ValidationError(
                self.env._(
                    "Backends get the type “Connector uninstalled” when their "
                    "connector is uninstalled; choose another type."
                )
            )

    @api.depends("webhook_token")
    def _compute_webhook_url(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
        for backend in self:
            backend.webhook_url = (
                f"{base_url}/integration/webhook/{backend.webhook_token}"
            )

    @api.depends("backend_type", "webhook_secret_set")
    def _compute_webhook_secret_missing(self):
        for backend in self:
            backend.webhook_secret_missing = (
                backend._webhook_secret_required() and not backend.webhook_secret_set
            )

    def _webhook_secret_required(self):
        """Whether this backend's webhooks are refused without a webhook secret
        (default: every type but an uninstalled connector's); connectors whose
        senders do not sign override it."""
        self.ensure_one()
        return self.backend_type != REMOVED_TYPE

    def action_rotate_webhook_secret(self):
        """Keep the current secret as the previous one (for the sender to switch)."""
        for backend in self:
            current = backend._get_secret("webhook_secret")
            if current:
                backend._set_secret("webhook_secret_previous", current)

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
        """Map each topic this backend's type handles to a backend method name.

        Connectors extend the dict returned by ``super()`` for their backend type.
        """
        return {PING_TOPIC: "_inbox_handle_ping"}

    def _inbox_handle_ping(self, message):
        """A connectivity check that changes nothing (test events, benchmarks)."""
        return None

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
        self,
        topic,
        payload,
        idempotency_key=None,
        coalesce_key=None,
        record=None,
        sequence_key=None,
        external_ref=None,
    ):
        """Record an outbound message in the current transaction.

        It is sent by a job after the transaction commits; a rollback sends
        nothing. ``record`` is the Odoo record the message is about. A message
        of the same ``coalesce_key`` still waiting takes this payload in place
        (and is returned) when it was never attempted, else it is superseded by
        a new one; messages sharing a ``coalesce_key`` or ``sequence_key`` are
        sent in enqueue order. ``external_ref`` is the external object's id,
        when known. An explicit ``idempotency_key`` enqueues once: enqueueing it
        again (a replayed event delivery) returns the message of the first time.
        Delivery itself (``_outbox_send`` and its hooks) lives in
        ``integration_backend_outbound.py``.
        """
        self.ensure_one()
        return self.env["integration.outbox.message"]._enqueue(
            self,
            topic=topic,
            payload=payload,
            idempotency_key=idempotency_key,
            coalesce_key=coalesce_key,
            record=record,
            sequence_key=sequence_key,
            external_ref=external_ref,
        )

    # -- webhook intake cache ------------------------------------------------------
    # The route reads its backend, the backend's stored settings and its webhook
    # secrets from a per-worker cache instead of three queries per delivery. Any
    # change to a backend or to its secrets clears it in every worker (Odoo's
    # registry cache signaling, checked at the start of each request).
    _INTAKE_FIELD_TYPES = frozenset(
        {
            "boolean",
            "char",
            "date",
            "datetime",
            "float",
            "integer",
            "many2one",
            "monetary",
            "selection",
            "text",
        }
    )

    @api.model
    def _get_intake_backend(self, token):
        """The active, unpaused backend of webhook ``token`` (empty if none), its
        stored settings already in the record cache."""
        backend_id = self._intake_tokens().get(token)
        if backend_id is None:
            return self.browse()
        backend = self.browse(backend_id)
        backend._cache_intake_settings()
        return backend

    def _cache_intake_settings(self):
        """Put the backend's stored settings in the record cache from the
        per-worker :meth:`_intake_cache_values`; values the cache holds already
        (pending writes of this transaction) stay."""
        self.ensure_one()
        cache = self.env.cache
        for field, value in self._intake_cache_values(self.id):
            cache.insert_missing(self, field, (value,))

    @api.model
    @tools.ormcache()
    def _intake_tokens(self):
        # One entry for all tokens: unknown tokens (anyone can send them) must not
        # each take a place in the registry's shared cache.
        backends = (
            self.sudo()
            .with_context(active_test=True)
            .search_read(
                [("paused", "=", False), ("webhook_token", "!=", False)],
                ["webhook_token"],
            )
        )
        return MappingProxyType(
            {backend["webhook_token"]: backend["id"] for backend in backends}
        )

    @api.model
    @tools.ormcache("backend_id")
    def _intake_cache_values(self, backend_id):
        """``(field, value)`` pairs of the backend's stored scalar settings, in
        the record cache's format: read and converted once per worker (cleared
        on any backend change), since converting them on every webhook and job
        cost more than the rest of the look-up."""
        backend = self.sudo().browse(backend_id)
        return tuple(
            (field, field.convert_to_cache(backend[name], backend, False))
            for name, field in self._fields.items()
            if name != "id"
            and field.store
            and field.column_type
            and field.type in self._INTAKE_FIELD_TYPES
            and not field.translate
            and not field.company_dependent
        )

    @tools.ormcache("self.id")
    def _cached_webhook_secrets(self):
        values = self._get_secrets(["webhook_secret", "webhook_secret_previous"])
        return values["webhook_secret"], values["webhook_secret_previous"]

    def _on_secret_changed(self, name):
        result = super()._on_secret_changed(name)
        self.env.registry.clear_cache()
        return result

    # -- webhook intake hooks ----------------------------------------------------------
    # The route calls these on the backend found by token, in this order. Connectors
    # override them for their backend_type and call super() for the others.
    def _get_webhook_secrets(self):
        """Secrets currently accepted: the current one and the previous one until
        its ``webhook_secret_previous_until`` date."""
        self.ensure_one()
        current, previous = self._cached_webhook_secrets()
        until = self.webhook_secret_previous_until
        if not (until and until > fields.Datetime.now()):
            previous = None
        return [secret for secret in (current, previous) if secret]

    def _intake_rate_limited(self):
        """Seconds the sender must wait before its next webhook (0: accepted),
        under ``intake_rate_limit``, counted across every worker of the server."""
        self.ensure_one()
        if self.intake_rate_limit <= 0:
            return 0
        with self._flow_store() as store:
            return store.take_intake(self.id, self.intake_rate_limit)

    def _webhook_body_limit(self):
        """Bytes a delivery may have; larger ones are refused with 413."""
        self.ensure_one()
        return min(self.max_body_bytes or 0, HARD_MAX_BODY_BYTES) or HARD_MAX_BODY_BYTES

    def _webhook_requires_json(self):
        """Whether deliveries must be ``application/json`` (415 otherwise)."""
        return True

    def _verify_signature(self, raw_body, headers):
        """Check the delivery is authentic; raise SignatureError(reason) if not.

        ``raw_body`` is the exact bytes received, ``headers`` a dict with
        lower-case names. Unknown backend types are refused.
        """
        self.ensure_one()
        if self.backend_type != "generic":
            raise SignatureError(f"no signature verifier for type {self.backend_type}")
        verify_standard_webhook(
            self._get_webhook_secrets(),
            raw_body,
            headers.get("webhook-id"),
            headers.get("webhook-timestamp"),
            headers.get("webhook-signature"),
        )

    def _get_idempotency_key(self, payload, headers):
        """Key identifying the event across redeliveries (None: payload digest)."""
        return headers.get("webhook-id")

    def _get_topic(self, payload, headers):
        """Topic (event type) of the delivery; None is refused with 400."""
        topic = payload.get("type") if isinstance(payload, dict) else None
        return topic if isinstance(topic, str) and topic else None

    def _get_external_ref(self, payload, headers):
        """Id of the external object the event is about, or None."""
        data = payload.get("data") if isinstance(payload, dict) else None
        ref = data.get("id") if isinstance(data, dict) else None
        return str(ref) if isinstance(ref, str | int) and ref != "" else None

    def _get_sequence_key(self, payload, headers):
        """Ordering scope of the event (events of one key apply in order), or None."""
        ref = self._get_external_ref(payload, headers)
        topic = self._get_topic(payload, headers) or ""
        return f"{topic.rsplit('.', 1)[0]}:{ref}" if ref else None

    def _get_event_at(self, payload, headers):
        """When the event happened (naive UTC datetime), or None: the payload's
        ``timestamp``, else the ``webhook-timestamp`` header. A time that cannot
        be read or is out of range gives None (the raw value stays in the
        payload)."""
        value = payload.get("timestamp") if isinstance(payload, dict) else None
        moment = parse_event_time(value)
        if moment:
            return moment
        try:
            stamp = int(headers.get("webhook-timestamp") or "")
            return datetime.fromtimestamp(stamp, UTC).replace(tzinfo=None)
        except (ValueError, OverflowError, OSError):
            return None

    def _get_correlation_id(self, payload, headers):
        """Correlation id given by the sender (None: one is generated)."""
        value = headers.get("x-correlation-id") or headers.get("x-request-id")
        return value[:128] if value else None
