from odoo import api, fields, models


class IntegrationStripePayoutLine(models.Model):
    """One balance transaction of a payout, and what Odoo booked it as."""

    _name = "integration.stripe.payout.line"
    _description = "Stripe Payout Report Line"
    _order = "payout_id, id"

    payout_id = fields.Many2one(
        "integration.stripe.payout", required=True, ondelete="cascade", index=True
    )
    currency_id = fields.Many2one(related="payout_id.currency_id")
    name = fields.Char(string="Balance Transaction", required=True)
    transaction_type = fields.Char(string="Type")
    reporting_category = fields.Char()
    source = fields.Char(help="The Stripe object: charge, refund, dispute...")
    amount = fields.Monetary(string="Gross")
    fee = fields.Monetary()
    net = fields.Monetary()
    res_model = fields.Char(string="Booked As Model")
    res_id = fields.Many2oneReference(string="Booked Record", model_field="res_model")
    booked_as = fields.Char(compute="_compute_booked_as")
    move_id = fields.Many2one("account.move", string="Fee Entry")

    @api.depends("res_model", "res_id")
    def _compute_booked_as(self):
        for line in self:
            record = (
                line.env[line.res_model].browse(line.res_id).exists()
                if line.res_model in line.env and line.res_id
                else None
            )
            line.booked_as = record.display_name if record else False
