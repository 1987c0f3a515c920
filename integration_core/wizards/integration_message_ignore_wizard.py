from odoo import fields, models


class IntegrationMessageIgnoreWizard(models.TransientModel):
    _name = "integration.message.ignore.wizard"
    _description = "Mark Integration Messages as Ignored"

    reason = fields.Char(required=True)

    def action_confirm(self):
        model = self.env.context.get("active_model")
        ids = self.env.context.get("active_ids") or []
        if model in ("integration.inbox.message", "integration.outbox.message"):
            self.env[model].browse(ids).action_mark_ignored(self.reason)
        return {"type": "ir.actions.act_window_close"}
