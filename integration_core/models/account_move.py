from odoo import models


class AccountMove(models.Model):
    _name = "account.move"
    _inherit = ["account.move", "integration.correlated.mixin"]

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        for move in posted.filtered(lambda m: m.move_type == "out_invoice"):
            move._publish_posted()
        return posted

    def _publish_posted(self):
        """``invoice.posted``: a customer invoice was posted."""
        self.ensure_one()
        return self.env["integration.event"]._publish(
            "invoice.posted",
            {
                "model": self._name,
                "id": self.id,
                "name": self.name,
                # money as a decimal string, never a float
                "amount_total": f"{self.amount_total:.{self.currency_id.decimal_places}f}",
                "currency": self.currency_id.name,
                "sale_order_ids": self.invoice_line_ids.sale_line_ids.order_id.ids,
            },
            record=self,
        )
