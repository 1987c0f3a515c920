from odoo import api, fields, models

# balance transaction type -> model of the record its source was booked as
BOOKED_AS = {
    "charge": "account.payment",
    "payment": "account.payment",
    "refund": "account.payment",
    "payment_refund": "account.payment",
    "adjustment": "integration.stripe.dispute",
    "dispute": "integration.stripe.dispute",
}


class IntegrationStripePayoutLine(models.Model):
    """One balance transaction of a payout, and what Odoo booked it as: read
    from the bindings when shown, so a payment booked after its payout (events
    out of order) still appears in the report."""

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
    res_model = fields.Char(string="Booked As Model", compute="_compute_booked")
    res_id = fields.Many2oneReference(
        string="Booked Record", model_field="res_model", compute="_compute_booked"
    )
    booked_as = fields.Char(compute="_compute_booked")
    move_id = fields.Many2one(
        "account.move", string="Fee Entry", compute="_compute_booked"
    )

    @api.depends("source", "transaction_type", "name")
    def _compute_booked(self):
        Binding = self.env["integration.binding"]
        for line in self:
            backend = line.payout_id.backend_id
            model = BOOKED_AS.get(line.transaction_type)
            record = None
            if model and line.source:
                record = Binding._find_record(backend, model, line.source)
                if not record and model == "account.payment":
                    # a charge: the payment bound to its PaymentIntent names it
                    record = Binding.search(
                        [
                            ("backend_id", "=", backend.id),
                            ("res_model", "=", model),
                            ("external_name", "=", line.source),
                        ],
                        limit=1,
                    )._get_record()
            line.res_model = record._name if record else False
            line.res_id = record.id if record else False
            line.booked_as = record.display_name if record else False
            line.move_id = Binding._find_record(backend, "account.move", line.name)
