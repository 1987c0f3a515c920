import json

from odoo import api, fields, models


class IntegrationReconciliationLine(models.Model):
    """An object the provider has and Odoo lacks (or holds differently)."""

    _name = "integration.reconciliation.line"
    _description = "Integration Reconciliation Line"
    _order = "id"

    run_id = fields.Many2one(
        "integration.reconciliation.run", required=True, index=True, ondelete="cascade"
    )
    backend_id = fields.Many2one(related="run_id.backend_id", store=True)
    company_id = fields.Many2one(related="run_id.company_id", store=True)
    status = fields.Selection(
        [("missing", "Missing in Odoo"), ("mismatched", "Mismatched")], required=True
    )
    topic = fields.Char(required=True)
    external_ref = fields.Char(index=True)
    idempotency_key = fields.Char()
    sequence_key = fields.Char()
    event_at = fields.Datetime()
    # personal data: managers only, like the messages' payload
    payload = fields.Json(groups="integration_core.group_integration_manager")
    payload_pretty = fields.Text(
        compute="_compute_payload_pretty", string="Payload (formatted)"
    )
    note = fields.Char()
    healed = fields.Boolean(readonly=True)
    inbox_message_id = fields.Many2one(
        "integration.inbox.message", readonly=True, ondelete="set null"
    )

    @api.depends("payload")
    @api.depends_context("uid")
    def _compute_payload_pretty(self):
        for line in self:
            raw = line.sudo().payload
            payload = line.backend_id._mask_payload(raw) if line.backend_id else raw
            line.payload_pretty = (
                json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False)
                if payload is not None
                else False
            )

    def action_heal(self):
        """Receive each line's event as if the provider had sent it again."""
        for line in self.filtered(lambda line: not line.healed):
            payload = line.sudo().payload
            message, _created = line.backend_id._inbox_receive(
                line.topic,
                payload,
                line.idempotency_key or None,
                external_ref=line.external_ref,
                sequence_key=line.sequence_key,
                event_at=line.event_at,
                # the correlation id a webhook of this payload would carry
                correlation_id=line.backend_id._get_correlation_id(payload, {}),
            )
            line.write({"healed": True, "inbox_message_id": message.id})
        return True
