from decimal import Decimal

from odoo import api, fields, models

from odoo.addons.integration_core.exceptions import PermanentError

from .. import mapping


class IntegrationStripePayout(models.Model):
    """A Stripe payout to the bank and its report: the balance transactions it
    pays out (payments, refunds, fees, disputes) and the one internal transfer
    from the Stripe journal to the bank journal that books it."""

    _name = "integration.stripe.payout"
    _description = "Stripe Payout"
    _inherit = ["mail.thread"]
    _order = "id desc"

    name = fields.Char(string="Payout", required=True, readonly=True)
    backend_id = fields.Many2one(
        "integration.backend", required=True, readonly=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    amount = fields.Monetary(readonly=True)
    arrival_date = fields.Date(readonly=True)
    state = fields.Selection(
        [("paid", "Paid"), ("failed", "Failed")], readonly=True, tracking=True
    )
    failure_message = fields.Char(readonly=True)
    line_ids = fields.One2many(
        "integration.stripe.payout.line", "payout_id", string="Report", readonly=True
    )
    transfer_payment_id = fields.Many2one(
        "account.payment", string="Transfer (Stripe side)", readonly=True
    )
    bank_payment_id = fields.Many2one(
        "account.payment", string="Transfer (bank side)", readonly=True
    )
    gross_total = fields.Monetary(compute="_compute_totals")
    fee_total = fields.Monetary(compute="_compute_totals")
    net_total = fields.Monetary(compute="_compute_totals")

    @api.depends("line_ids.amount", "line_ids.fee", "line_ids.net")
    def _compute_totals(self):
        for payout in self:
            lines = payout.line_ids
            payout.gross_total = sum(lines.mapped("amount"))
            payout.fee_total = sum(lines.mapped("fee"))
            payout.net_total = sum(lines.mapped("net"))

    @api.model
    def _stripe_apply(self, backend, values):
        """Book a paid payout once, or reverse a failed one.

        :raises PermanentError: the journals are not set, or the balance
            transactions do not add up to the payout's amount
        """
        Binding = self.env["integration.binding"]
        payout = Binding._find_record(backend, self._name, values["external_id"])
        importer = self.env["integration.payment.importer"]._for_backend(backend)
        currency = importer._find_currency(backend, values["currency"])
        if not payout:
            payout = self.create(
                {
                    "name": values["external_id"],
                    "backend_id": backend.id,
                    "currency_id": currency.id,
                    "amount": float(values["amount"]),
                    "arrival_date": (values["arrival_date"] or "")[:10] or False,
                }
            )
            Binding._bind(
                backend,
                payout,
                values["external_id"],
                external_name=values["external_id"],
            )
        if values["status"] == "failed":
            payout._reverse(values["failure_message"])
        elif values["status"] == "paid" and not payout.transfer_payment_id:
            payout._book(backend, importer, values, currency)
        return payout

    def _book(self, backend, importer, values, currency):
        if not (backend.stripe_journal_id and backend.stripe_payout_journal_id):
            raise PermanentError(
                "set the Stripe journal and the payout bank journal on the backend"
            )
        transactions = [
            backend._stripe_map(mapping.balance_transaction_values, txn)
            for txn in backend._stripe_payout_transactions(values["external_id"])
        ]
        paid_out = [txn for txn in transactions if txn["type"] != "payout"]
        total = sum((txn["net"] for txn in paid_out), Decimal(0))
        if total != values["amount"]:
            raise PermanentError(
                f"payout {values['external_id']}: its balance transactions add up "
                f"to {total}, the payout is {values['amount']} {currency.name}"
            )
        # a fee not booked yet (its look-up still waiting) is booked now, once
        for txn in paid_out:
            if txn["type"] in ("charge", "payment") and txn["fee"]:
                backend._stripe_book_fee(txn)
        self.line_ids.unlink()
        self.line_ids = [
            fields.Command.create(self._prepare_line(backend, txn)) for txn in paid_out
        ]
        # the payout of one order's payments joins that order's flow
        payments = self._paid_out_payments(backend, paid_out)
        if len(set(payments.mapped("integration_correlation_id"))) == 1:
            importer = importer._adopt_correlation(payments)
        outbound, inbound = importer._book_internal_transfer(
            backend.stripe_journal_id,
            backend.stripe_payout_journal_id,
            values["amount"],
            self.env._("Stripe payout %s", values["external_id"]),
            date=self.arrival_date or None,
            currency=currency,
        )
        self.write(
            {
                "state": "paid",
                "transfer_payment_id": outbound.id,
                "bank_payment_id": inbound.id,
            }
        )
        importer._publish(
            "payout.paid",
            backend,
            self,
            external_id=values["external_id"],
            transfer_payment_id=outbound.id,
            amount=f"{values['amount']}",
            currency=currency.name,
        )

    def _paid_out_payments(self, backend, transactions):
        """The ``account.payment`` records of the charges paid out (their
        bindings are named after the charge)."""
        sources = [txn["source"] for txn in transactions if txn["source"]]
        bindings = self.env["integration.binding"].search(
            [
                ("backend_id", "=", backend.id),
                ("res_model", "=", "account.payment"),
                ("external_name", "in", sources),
            ]
        )
        return self.env["account.payment"].browse(bindings.mapped("res_id")).exists()

    def _prepare_line(self, backend, txn):
        return {
            "name": txn["id"],
            "transaction_type": txn["type"],
            "reporting_category": txn["reporting_category"],
            "source": txn["source"],
            "amount": float(txn["amount"]),
            "fee": float(txn["fee"]),
            "net": float(txn["net"]),
        }

    def _reverse(self, reason):
        """A failed payout: the money is back on the Stripe balance."""
        payments = self.transfer_payment_id + self.bank_payment_id
        for payment in payments.filtered(lambda p: p.state != "canceled"):
            payment.move_id.line_ids.remove_move_reconcile()
            payment.action_draft()
            payment.action_cancel()
        if self.state != "failed":
            self.write({"state": "failed", "failure_message": reason or False})
            self.message_post(body=self.env._("Payout failed: %s", reason or "-"))
