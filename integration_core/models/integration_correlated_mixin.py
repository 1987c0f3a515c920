from odoo import api, fields, models

CONTEXT_KEY = "integration_correlation_id"


class IntegrationCorrelatedMixin(models.AbstractModel):
    """Business records created or changed by an integration carry its correlation id.

    The inbox puts ``integration_correlation_id`` in the handler's context; every
    record of a model using this mixin that the handler creates, or writes while
    it has none, gets it, and the outbox messages enqueued about the record
    inherit it, so one order can be followed from the webhook to the last
    outbound call. A record keeps its first id; the importers make a message
    about it join that flow (``integration.importer._adopt_correlation``).
    """

    _name = "integration.correlated.mixin"
    _description = "Integration Correlation"

    integration_correlation_id = fields.Char(
        string="Integration correlation",
        index="btree_not_null",
        copy=False,
        readonly=True,
    )
    integration_message_count = fields.Integer(
        compute="_compute_integration_message_count", string="Integration messages"
    )

    @api.model_create_multi
    def create(self, vals_list):
        correlation_id = self.env.context.get(CONTEXT_KEY)
        if correlation_id:
            for vals in vals_list:
                vals.setdefault("integration_correlation_id", correlation_id)
        return super().create(vals_list)

    def write(self, vals):
        # a record keeps the flow it started in: a later message about it (a
        # payment, a tracking event) joins that flow instead of taking it over
        correlation_id = self.env.context.get(CONTEXT_KEY)
        if correlation_id and "integration_correlation_id" not in vals:
            missing = self.filtered(
                lambda record: not record.integration_correlation_id
            )
            if missing:
                super(IntegrationCorrelatedMixin, missing).write(
                    {"integration_correlation_id": correlation_id}
                )
        return super().write(vals)

    def _integration_message_domain(self):
        """Messages of these records: by correlation id or by linked record."""
        correlation_ids = [c for c in self.mapped("integration_correlation_id") if c]
        domain = ["&", ("res_model", "=", self._name), ("res_id", "in", self.ids)]
        if correlation_ids:
            # (by correlation) or (by record): the '&' keeps the second pair
            # together, else its last leaf would restrict both
            domain = ["|", ("correlation_id", "in", correlation_ids)] + domain
        return domain

    def _compute_integration_message_count(self):
        trace = self.env["integration.message.trace"]
        trace._flush_sources()
        for record in self:
            record.integration_message_count = (
                trace.search_count(record._integration_message_domain())
                if record.id
                else 0
            )

    def action_view_integration_messages(self):
        """Inbound and outbound messages of this record, oldest first."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "integration_core.action_integration_message_trace"
        )
        action["domain"] = self._integration_message_domain()
        action["context"] = {}
        return action
