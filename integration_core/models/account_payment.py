from odoo import fields, models
from odoo.exceptions import UserError


class AccountPayment(models.Model):
    _name = "account.payment"
    _inherit = ["account.payment", "integration.correlated.mixin"]

    integration_to_match = fields.Boolean(
        string="Needs Matching",
        copy=False,
        index="btree_not_null",
        help="Imported without an invoice to reconcile with: match it by hand.",
    )
    integration_sale_order_id = fields.Many2one(
        "sale.order",
        string="Order Paid",
        copy=False,
        index="btree_not_null",
        readonly=True,
        help="The imported order this payment pays (or pays back); its "
        "invoice, once posted on delivery, is reconciled with the payments.",
    )
    integration_match_invoice_id = fields.Many2one(
        "account.move",
        string="Invoice to Match",
        copy=False,
        domain="[('move_type', '=', 'out_invoice'), ('state', '=', 'posted'), "
        "('payment_state', 'in', ('not_paid', 'partial')), "
        "('currency_id', '=', currency_id), ('company_id', '=', company_id)]",
        help="The open invoice this payment pays; Match reconciles them.",
    )

    def action_integration_match(self):
        """Reconcile the payment with the invoice chosen in *Invoice to Match*."""
        importer = self.env["integration.payment.importer"]
        for payment in self:
            if not payment.integration_match_invoice_id:
                raise UserError(self.env._("Choose the invoice to match first."))
            importer._match_payment_by_hand(
                payment, payment.integration_match_invoice_id
            )
        return True
