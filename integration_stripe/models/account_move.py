from odoo import fields, models
from odoo.exceptions import UserError


class AccountMove(models.Model):
    _inherit = "account.move"

    stripe_refund = fields.Boolean(
        string="Refund through Stripe",
        copy=False,
        help="Posting this credit note refunds the Stripe payment of its invoice.",
    )
    stripe_refund_id = fields.Char(copy=False, readonly=True)

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        for move in posted.filtered(
            lambda m: (
                m.move_type == "out_refund"
                and m.stripe_refund
                and not m.stripe_refund_id
            )
        ):
            move._stripe_request_refund()
        return posted

    def _stripe_paid_by(self):
        """``(backend, Stripe id)`` of the Stripe payment of the invoice this
        credit note reverses, or ``(None, None)``."""
        invoice = self.reversed_entry_id
        payments = invoice._get_reconciled_payments() if invoice else ()
        bindings = self.env["integration.binding"].search(
            [
                ("res_model", "=", "account.payment"),
                ("res_id", "in", [p.id for p in payments]),
                ("backend_id.backend_type", "=", "stripe"),
            ],
            order="id",
        )
        for binding in bindings:
            if binding.external_id.startswith(("pi_", "ch_", "py_")):
                return binding.backend_id, binding.external_id
        return None, None

    def _stripe_request_refund(self):
        self.ensure_one()
        backend, payment_ref = self._stripe_paid_by()
        if not backend:
            raise UserError(
                self.env._(
                    "%s is marked to refund through Stripe, but its invoice was "
                    "not paid through Stripe.",
                    self.display_name,
                )
            )
        return backend._stripe_enqueue_refund(self, payment_ref)
