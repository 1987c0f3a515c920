import json
import uuid
from datetime import timedelta

from odoo import api, fields, models, tools

from .. import masking
from ..sql_insert import insert_row

# outbound topic of the events a generic backend receives
EVENT_WEBHOOK_TOPIC = "event.webhook"
# an event that changes nothing: its subscriber answers it in Odoo (checks,
# benchmarks); it never leaves as a webhook
EVENT_PING_TOPIC = "integration.ping"


def topic_matches(topic, wanted):
    """``wanted`` is the topic, a prefix ending with ``.``, or ``*`` (all)."""
    return (
        wanted == "*"
        or topic == wanted
        or (wanted.endswith(".") and topic.startswith(wanted))
    )


class IntegrationEvent(models.Model):
    """A business event published inside a transaction (an order imported, a
    picking done) and delivered, once that transaction commits, to every
    subscriber of its topic: one ``integration.event.delivery`` each.

    Subscribers are declared by :meth:`_get_subscribers`, which addons extend
    by inheritance; a connector never calls another one, it subscribes.
    """

    _name = "integration.event"
    _description = "Integration Business Event"
    _order = "id desc"
    _rec_name = "topic"

    topic = fields.Char(required=True, index=True, readonly=True)
    # business documents hold personal data: managers only, users read the
    # masked payload_pretty
    payload = fields.Json(
        readonly=True, groups="integration_core.group_integration_manager"
    )
    payload_pretty = fields.Text(
        compute="_compute_payload_pretty", string="Payload (formatted)"
    )
    correlation_id = fields.Char(index=True, readonly=True)
    res_model = fields.Char(string="Source Model", readonly=True)
    res_id = fields.Many2oneReference(
        string="Source Record", model_field="res_model", readonly=True
    )
    published_at = fields.Datetime(default=fields.Datetime.now, readonly=True)
    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, default=lambda s: s.env.company
    )
    delivery_ids = fields.One2many(
        "integration.event.delivery", "event_id", readonly=True
    )
    delivery_count = fields.Integer(compute="_compute_delivery_stats")
    failed_delivery_count = fields.Integer(compute="_compute_delivery_stats")

    @api.depends("payload")
    @api.depends_context("uid")
    def _compute_payload_pretty(self):
        for event in self:
            payload = event.sudo().payload
            if payload is not None and not self.env.user.has_group(
                "integration_core.group_integration_manager"
            ):
                payload = masking.mask_payload(payload, masking.DEFAULT_MASKED_PATHS)
            event.payload_pretty = (
                json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False)
                if payload is not None
                else False
            )

    @api.depends("delivery_ids.state")
    def _compute_delivery_stats(self):
        for event in self:
            event.delivery_count = len(event.delivery_ids)
            event.failed_delivery_count = len(
                event.delivery_ids.filtered(lambda d: d.state in ("failed", "dead"))
            )

    # -- publishing ----------------------------------------------------------------
    @api.model
    def _publish(self, topic, payload, record=None):
        """Publish an event in the current transaction.

        Its deliveries, one per subscriber of ``topic``, are jobs of this
        transaction: they run once it commits, and a rollback delivers nothing.

        :param payload: JSON-serialisable (a canonical document, record ids)
        :param record: the record the event is about; its correlation id (or
            the running message's) is carried to every delivery
        :returns: the ``integration.event``
        """
        record = record[:1] if record else None
        correlation = self.env.context.get("integration_correlation_id") or (
            record and getattr(record, "integration_correlation_id", False)
        )
        company = (
            record.company_id
            if record and "company_id" in record._fields and record.company_id
            else self.env.company
        )
        # one INSERT per event and per delivery (see sql_insert): publishing is
        # on the business hot paths
        event = insert_row(
            self.sudo(),
            {
                "topic": topic,
                "payload": payload,
                "correlation_id": correlation or str(uuid.uuid4()),
                "res_model": record._name if record else False,
                "res_id": record.id if record else False,
                "company_id": company.id,
            },
        )
        event._fan_out()
        event.invalidate_recordset(["delivery_ids"])
        return event

    def _fan_out(self):
        """One delivery per subscriber of the event's topic (and per backend for
        subscribers of backend types); switched off ones are ``skipped``."""
        Delivery = self.env["integration.event.delivery"].sudo()
        for event in self:
            for subscriber in self._get_subscribers_of(event.topic):
                for backend in self._subscriber_backends(subscriber, event):
                    Delivery._create_for(event, subscriber, backend)

    # -- subscribers -------------------------------------------------------------------
    @api.model
    def _get_subscribers(self):
        """Every subscriber of the suite: a list of dicts

        - ``key``: unique name, e.g. ``"shopify.fulfillment"``;
        - ``topics``: the topics it takes; one ending with ``.`` is a prefix
          (``"order."`` takes ``order.imported``, ``order.updated``...);
        - ``model`` and ``method``: what is called with the delivery, e.g.
          ``"integration.backend"``, ``"_shopify_on_picking_done"`` (called on
          the delivery's backend when the model is ``integration.backend``);
        - ``backend_types`` (optional): one delivery per active backend of these
          types in the event's company (else one delivery without backend);
        - ``name`` (optional): shown to people.

        - ``backend_filter`` (optional): a backend method ``(event) -> bool``
          choosing the backends that get a delivery at all.

        Addons extend the list returned by ``super()``. A handler is given the
        ``integration.event.delivery``; ``delivery.idempotency_key`` is stable
        across its retries and replays, so a handler keyed on it applies once.
        It signals failures with the exceptions of messages (see DEVELOP.md).
        """
        return [
            {
                "key": "webhook.events",
                "name": "Webhook: send events to the backend",
                "topics": ("*",),
                "model": "integration.backend",
                "method": "_event_webhook_send",
                "backend_types": ("generic",),
                "backend_filter": "_event_webhook_wants",
            },
            {
                "key": "integration.ping",
                "name": "Ping: answer integration.ping events (checks)",
                "topics": (EVENT_PING_TOPIC,),
                "model": "integration.backend",
                "method": "_event_ping",
                "backend_types": ("generic",),
                "backend_filter": "_event_ping_wants",
            },
            {
                "key": "invoice.on_delivery",
                "name": "Invoice delivered orders (backend's Invoicing setting)",
                "topics": ("shipment.delivered",),
                "model": "integration.delivery.invoicer",
                "method": "_on_shipment_delivered",
            },
        ]

    @api.model
    def _get_subscribers_of(self, topic):
        return [
            subscriber
            for subscriber in self._get_subscribers()
            if any(topic_matches(topic, wanted) for wanted in subscriber["topics"])
        ]

    @api.model
    def _subscriber_backends(self, subscriber, event):
        """The backends ``subscriber`` gets ``event`` for (``[None]``: one
        delivery without backend)."""
        types = subscriber.get("backend_types")
        if not types:
            return [None]
        backends = (
            self.env["integration.backend"]
            .sudo()
            .browse(self._subscriber_backend_ids(tuple(types), event.company_id.id))
        )
        wants = subscriber.get("backend_filter")
        if wants:
            backends = backends.filtered(lambda backend: getattr(backend, wants)(event))
        return list(backends)

    @api.model
    @tools.ormcache("types", "company_id")
    def _subscriber_backend_ids(self, types, company_id):
        # publishing is on business hot paths; any change to a backend clears
        # this cache (integration.backend's create, write and unlink)
        return tuple(
            self.env["integration.backend"]
            .sudo()
            .search(
                [("backend_type", "in", list(types)), ("company_id", "=", company_id)]
            )
            .ids
        )

    # -- retention -------------------------------------------------------------------
    @api.model
    def _cron_purge(self, batch_size=1000):
        """Delete events older than ``integration_core.event_retention_days``
        (30) whose deliveries are all done or skipped; failed and dead ones are
        kept for a person."""
        days = int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("integration_core.event_retention_days", 30)
        )
        limit = fields.Datetime.now() - timedelta(days=days)
        purged = 0
        while True:
            events = self.search(
                [
                    ("published_at", "<", limit),
                    (
                        "delivery_ids.state",
                        "not in",
                        ("pending", "running", "failed", "dead"),
                    ),
                ],
                limit=batch_size,
            )
            # the domain above keeps events with one finished delivery: check all
            events = events.filtered(
                lambda e: all(d.state in ("done", "skipped") for d in e.delivery_ids)
            )
            if not events:
                return purged
            purged += len(events)
            events.unlink()

    # -- user actions ------------------------------------------------------------------
    def action_open_source(self):
        self.ensure_one()
        if not self.res_model or not self.res_id:
            return False
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
        }
