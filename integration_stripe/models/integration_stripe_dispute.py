from odoo import api, fields, models

from odoo.addons.integration_core.exceptions import DependencyNotReady

OUTCOMES = {"won": "won", "lost": "lost", "warning_closed": "won"}


class IntegrationStripeDispute(models.Model):
    """A Stripe dispute (chargeback) of a booked payment and what it moved.

    Funds withdrawn put the disputed amount back on the customer's account
    and book the dispute fee; funds reinstated (a won dispute) take it off
    again; a lost dispute writes the amount off. Each balance transaction is
    booked once, whatever event carries it.
    """

    _name = "integration.stripe.dispute"
    _description = "Stripe Dispute"
    _inherit = ["mail.thread"]
    _order = "id desc"

    name = fields.Char(string="Dispute", required=True, readonly=True)
    backend_id = fields.Many2one(
        "integration.backend", required=True, readonly=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    payment_id = fields.Many2one("account.payment", readonly=True, ondelete="set null")
    invoice_id = fields.Many2one("account.move", readonly=True, ondelete="set null")
    partner_id = fields.Many2one(related="payment_id.partner_id", store=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    amount = fields.Monetary(readonly=True)
    reason = fields.Char(readonly=True)
    stripe_status = fields.Char(readonly=True, tracking=True)
    outcome = fields.Selection(
        [("open", "Open"), ("won", "Won"), ("lost", "Lost")],
        default="open",
        readonly=True,
        tracking=True,
    )
    move_ids = fields.Many2many(
        "account.move", string="Journal Entries", readonly=True, copy=False
    )

    @api.model
    def _stripe_apply(self, backend, values):
        """Apply a dispute as Stripe reports it now (see the class docstring).

        :raises DependencyNotReady: its payment is not booked yet
        """
        Binding = self.env["integration.binding"]
        dispute = Binding._find_record(backend, self._name, values["external_id"])
        if not dispute:
            payment = Binding._find_record(
                backend, "account.payment", values["payment_external_id"]
            )
            if not payment:
                raise DependencyNotReady(
                    f"dispute {values['external_id']}: payment "
                    f"{values['payment_external_id']} is not booked yet"
                )
            dispute = self._stripe_open(backend, payment, values)
        for txn in values["balance_transactions"]:
            dispute._book_balance_transaction(backend, txn)
        dispute.stripe_status = values["status"]
        outcome = OUTCOMES.get(values["status"])
        if outcome and dispute.outcome == "open":
            dispute.outcome = outcome
            if outcome == "lost":
                dispute._book_loss(backend)
            dispute.message_post(
                body=self.env._(
                    "Dispute closed: %s.",
                    dict(self._fields["outcome"].selection)[outcome],
                )
            )
        return dispute

    @api.model
    def _stripe_open(self, backend, payment, values):
        importer = self.env["integration.payment.importer"]._for_backend(backend)
        currency = importer._find_currency(backend, values["currency"])
        invoice = payment.reconciled_invoice_ids[:1]
        dispute = self.create(
            {
                "name": values["external_id"],
                "backend_id": backend.id,
                "payment_id": payment.id,
                "invoice_id": invoice.id,
                "currency_id": currency.id,
                "amount": float(values["amount"]),
                "reason": values["reason"],
                "stripe_status": values["status"],
            }
        )
        self.env["integration.binding"]._bind(
            backend, dispute, values["external_id"], external_name=values["external_id"]
        )
        importer._schedule_review(
            invoice or payment,
            self.env._("Stripe dispute %s", values["external_id"]),
            [
                self.env._(
                    "%(amount)s %(currency)s disputed: %(reason)s",
                    amount=values["amount"],
                    currency=currency.name,
                    reason=values["reason"] or "-",
                )
            ],
        )
        importer._publish(
            "dispute.opened",
            backend,
            dispute,
            external_id=values["external_id"],
            payment_id=payment.id,
            invoice_id=invoice.id or False,
        )
        return dispute

    def _receivable_account(self):
        partner = self.payment_id.partner_id
        if partner:
            return partner.with_company(self.company_id).property_account_receivable_id
        return self.payment_id.destination_account_id

    def _book_balance_transaction(self, backend, txn):
        """Funds withdrawn (negative amount, with the dispute fee) or reinstated
        (positive), once per balance transaction."""
        Binding = self.env["integration.binding"]
        if Binding._find(backend, "account.move", txn["id"]):
            return
        journal = backend.stripe_journal_id
        importer = self.env["integration.payment.importer"]._for_backend(backend)
        currency = importer._find_currency(backend, txn["currency"])
        ref = self.env._(
            "Stripe dispute %(dispute)s: %(txn)s", dispute=self.name, txn=txn["id"]
        )
        receivable = self._receivable_account()
        lines = [
            (journal.default_account_id, txn["amount"] - txn["fee"], None, ref),
            (receivable, -txn["amount"], self.payment_id.partner_id, ref),
        ]
        if txn["fee"]:
            lines.append((backend.stripe_fee_account_id, txn["fee"], None, ref))
        move = importer._book_entry(journal, ref, lines, currency=currency)
        Binding._bind(backend, move, txn["id"], external_name=txn["id"])
        self.move_ids = [fields.Command.link(move.id)]
        self._reconcile_receivable()

    def _book_loss(self, backend):
        """Write off what a lost dispute took back from the customer's account."""
        receivable = self._receivable_account()
        open_lines = self.move_ids.line_ids.filtered(
            lambda line: line.account_id == receivable and not line.reconciled
        )
        amount = sum(open_lines.mapped("amount_currency"))
        if not self.currency_id.compare_amounts(amount, 0) > 0:
            return
        journal = backend.stripe_journal_id
        account = backend.stripe_dispute_account_id or backend.stripe_fee_account_id
        ref = self.env._("Stripe dispute %s lost", self.name)
        importer = self.env["integration.payment.importer"]._for_backend(backend)
        move = importer._book_entry(
            journal,
            ref,
            [
                (account, amount, None, ref),
                (receivable, -amount, self.payment_id.partner_id, ref),
            ],
            currency=self.currency_id,
        )
        self.move_ids = [fields.Command.link(move.id)]
        self._reconcile_receivable()

    def _reconcile_receivable(self):
        receivable = self._receivable_account()
        if not receivable.reconcile:
            return
        lines = self.move_ids.line_ids.filtered(
            lambda line: line.account_id == receivable and not line.reconciled
        )
        debit = sum(lines.mapped("amount_currency"))
        if len(lines) > 1 and self.currency_id.is_zero(debit):
            lines.reconcile()
