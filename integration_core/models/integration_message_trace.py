from odoo import api, fields, models, tools


class IntegrationMessageTrace(models.Model):
    """Inbound and outbound messages and event deliveries in one read-only list.

    Backs the "Integration messages" smart button (one business flow across
    directions and backends) and the dashboard's graph and pivot views.
    """

    _name = "integration.message.trace"
    _description = "Integration Message (both directions)"
    _auto = False
    _order = "date desc, id desc"

    direction = fields.Selection(
        [("in", "Inbound"), ("out", "Outbound"), ("event", "Event")], readonly=True
    )
    backend_id = fields.Many2one("integration.backend", readonly=True)
    backend_type = fields.Char(readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    topic = fields.Char(readonly=True)
    state = fields.Selection(
        [
            ("received", "Received"),
            ("queued", "Queued"),
            ("processing", "Processing"),
            ("done", "Done"),
            ("pending", "Pending"),
            ("sending", "Sending"),
            ("sent", "Sent"),
            ("failed", "Failed"),
            ("dead", "Dead"),
            ("ignored", "Ignored"),
            ("superseded", "Superseded"),
            ("cancelled", "Cancelled"),
            ("running", "Running"),
            ("skipped", "Skipped"),
        ],
        readonly=True,
    )
    date = fields.Datetime(readonly=True)
    correlation_id = fields.Char(readonly=True)
    idempotency_key = fields.Char(readonly=True)
    external_ref = fields.Char(readonly=True)
    attempt_count = fields.Integer(readonly=True)
    last_error = fields.Text(readonly=True)
    res_model = fields.Char(readonly=True)
    res_id = fields.Integer(readonly=True)
    inbox_message_id = fields.Many2one("integration.inbox.message", readonly=True)
    outbox_message_id = fields.Many2one("integration.outbox.message", readonly=True)
    event_delivery_id = fields.Many2one("integration.event.delivery", readonly=True)

    def _flush_sources(self):
        """The view reads the message tables: write their pending changes first."""
        self.env["integration.inbox.message"].flush_model()
        self.env["integration.outbox.message"].flush_model()
        self.env["integration.event.delivery"].flush_model()
        self.env["integration.event"].flush_model()

    @api.model
    def _search(self, domain, *args, **kwargs):
        self._flush_sources()
        return super()._search(domain, *args, **kwargs)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        # ids by source modulo 3: unique ids for the ORM
        self.env.cr.execute(
            f"""CREATE VIEW {self._table} AS (
                SELECT m.id * 3 AS id, 'in' AS direction, m.backend_id,
                       m.backend_type, m.company_id, m.topic, m.state,
                       m.received_at AS date, m.correlation_id, m.idempotency_key,
                       m.external_ref, m.attempt_count, m.last_error, m.res_model,
                       m.res_id, m.id AS inbox_message_id,
                       NULL::integer AS outbox_message_id,
                       NULL::integer AS event_delivery_id
                FROM integration_inbox_message m
                UNION ALL
                SELECT o.id * 3 + 1, 'out', o.backend_id, o.backend_type,
                       o.company_id, o.topic, o.state, o.create_date,
                       o.correlation_id, o.idempotency_key, NULL, o.attempt_count,
                       o.last_error, o.res_model, o.res_id, NULL, o.id, NULL
                FROM integration_outbox_message o
                UNION ALL
                SELECT d.id * 3 + 2, 'event', d.backend_id, d.backend_type,
                       e.company_id, e.topic, d.state, e.published_at,
                       d.correlation_id, d.idempotency_key, d.subscriber,
                       d.attempt_count, d.last_error, d.res_model, d.res_id,
                       NULL, NULL, d.id
                FROM integration_event_delivery d
                JOIN integration_event e ON e.id = d.event_id
            )"""
        )

    def action_open_message(self):
        self.ensure_one()
        message = (
            self.inbox_message_id or self.outbox_message_id or self.event_delivery_id
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": message._name,
            "res_id": message.id,
            "view_mode": "form",
        }
