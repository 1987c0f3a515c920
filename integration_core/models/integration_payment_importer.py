from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from .. import commerce
from ..exceptions import DependencyNotReady, PermanentError

PAYMENT_MODEL = "account.payment"
KEPT_ON_MATCH = ("outstanding_account_id", "payment_method_line_id")


class IntegrationPaymentImporter(models.AbstractModel):
    """Canonical payments to posted customer ``account.payment`` records,
    matched to their order or invoice, once per external id."""

    _name = "integration.payment.importer"
    _inherit = "integration.importer"
    _description = "Integration Payment Importer"

    @api.model
    def _import_payment(self, backend, document):
        """Record a canonical ``payment`` once: a posted inbound payment in the
        journal of its gateway, reconciled with the matched invoice if any.

        A payment naming an order not imported yet waits. One that matches
        nothing waits too, unless :meth:`_get_unmatched_policy` says to keep it
        for matching by hand (posted to a suspense account, or left draft).
        A matched order without open invoice gets one under the
        ``invoice`` policy of :meth:`_get_invoice_policy`; otherwise the payment
        stays on the customer's account, to match by hand.

        :returns: the ``account.payment``
        :raises DependencyNotReady: the matched order or invoice is not there yet
        :raises PermanentError: no journal for the gateway, a non-positive
            amount or a currency other than the matched order's
        """
        Binding = self.env["integration.binding"]
        existing = Binding._find_record(backend, PAYMENT_MODEL, document["external_id"])
        if existing:
            return existing
        currency = self._find_currency(backend, document["currency"])
        amount = commerce.money(document["amount"], currency.decimal_places)
        if currency.compare_amounts(amount, 0) <= 0:
            raise PermanentError(f"payment {document['external_id']}: amount {amount}")
        match = document["match"]
        try:
            order, invoice = self._find_payment_targets(backend, match)
        except DependencyNotReady:
            if (
                self._names_order(match)
                or self._get_unmatched_policy(backend) == "wait"
            ):
                raise
            order = self.env["sale.order"]
            invoice = self._match_by_rules(backend, document, amount, currency)
        # the payment (and an invoice made for it) joins the flow of what it pays
        self = self._adopt_correlation(order or invoice)  # pylint: disable=self-cls-assignment
        if order and not invoice and self._get_invoice_policy(backend) == "invoice":
            invoice = self._invoice_order(backend, order)
        target = invoice or order
        if target and target.currency_id != currency:
            raise PermanentError(
                f"payment {document['external_id']} in {currency.name} for "
                f"{target.display_name} in {target.currency_id.name}"
            )
        journal = self._find_journal(backend, document.get("gateway"))
        values = self._prepare_payment_values(
            document, amount, currency, journal, target
        )
        outstanding = self._find_outstanding_account(backend, journal)
        if outstanding:
            values["outstanding_account_id"] = outstanding.id
        if not target:
            values = self._prepare_unmatched_payment_values(backend, values, journal)
        elif not invoice:
            # on the customer's account until an invoice of the order is
            # posted (:meth:`_match_order_payments`) or one is matched by hand
            values["integration_to_match"] = True
        if order:
            values["integration_sale_order_id"] = order.id
        payment = self._create_payment(values)
        if target or self._get_unmatched_policy(backend) != "draft":
            payment.action_post()
        if invoice:
            self._reconcile_with_invoice(payment, invoice)
        Binding._bind(
            backend,
            payment,
            document["external_id"],
            external_name=document.get("reference") or False,
            external_status="paid",
        )
        self._publish(
            "payment.received",
            backend,
            payment,
            external_id=document["external_id"],
            sale_order_id=order.id or False,
            invoice_id=invoice.id or False,
        )
        if order:
            order.message_post(
                body=self.env._(
                    "Payment %(payment)s recorded: paid through %(gateway)s.",
                    payment=payment.name,
                    gateway=document.get("gateway") or journal.name,
                )
            )
        return payment

    def _find_payment_targets(self, backend, match):
        """``(sale order, invoice)`` a payment's ``match`` keys point to.

        :raises DependencyNotReady: neither is found (yet)
        """
        order = self.env["sale.order"]
        if match.get("order_external_id"):
            order = self.env["integration.binding"]._find_record(
                backend, "sale.order", match["order_external_id"]
            )
        if not order and match.get("order_name"):
            order = order.search(
                [
                    ("client_order_ref", "=", match["order_name"]),
                    ("company_id", "=", backend.company_id.id),
                ],
                limit=1,
            )
        if not order and match.get("sale_order_name"):
            order = order.search(
                [
                    ("name", "=", match["sale_order_name"]),
                    ("company_id", "=", backend.company_id.id),
                ],
                limit=1,
            )
        invoice = self._find_invoice(backend, match.get("invoice_reference"), order)
        if not (order or invoice):
            raise DependencyNotReady(f"nothing matches payment keys {match}")
        return order, invoice

    def _find_invoice(self, backend, reference, order):
        """The posted customer invoice of ``reference`` (number or reference),
        else the matched order's only open one."""
        Move = self.env["account.move"]
        open_invoice = [
            ("move_type", "=", "out_invoice"),
            ("state", "=", "posted"),
            ("payment_state", "in", ("not_paid", "partial")),
            ("company_id", "=", backend.company_id.id),
        ]
        if reference:
            invoice = Move.search(
                open_invoice + ["|", ("name", "=", reference), ("ref", "=", reference)],
                limit=1,
            )
            if invoice:
                return invoice
        if order:
            invoices = order.invoice_ids.filtered_domain(open_invoice)
            return invoices if len(invoices) == 1 else Move
        return Move

    def _find_journal(self, backend, gateway):
        """Journal of ``gateway`` in the backend's gateway mapping.

        :raises PermanentError: the gateway is not mapped
        """
        row = backend.payment_map_ids.filtered(lambda r: r.gateway == gateway)[:1]
        if not row:
            raise PermanentError(
                f"no journal for payment gateway {gateway!r}; map it on the "
                "backend's Sales tab and retry"
            )
        return row.journal_id

    def _prepare_payment_values(self, document, amount, currency, journal, target):
        """``account.payment`` values; ``target`` (the invoice or order) may be
        empty, for a payment kept for matching by hand."""
        partner = (
            target.partner_invoice_id
            if target._name == "sale.order"
            else target.partner_id
        ).commercial_partner_id
        return {
            "payment_type": "inbound",
            "partner_type": "customer",
            "partner_id": partner.id,
            "amount": amount,
            "currency_id": currency.id,
            "journal_id": journal.id,
            "memo": document.get("reference")
            or getattr(target, "client_order_ref", False)
            or target.name
            or document["external_id"],
        }

    def _reconcile_with_invoice(self, payment, invoice):
        lines = (payment.move_id.line_ids + invoice.line_ids).filtered(
            lambda line: (
                line.account_id.account_type == "asset_receivable"
                and not line.reconciled
            )
        )
        lines.reconcile()

    @api.model
    def _match_order_payments(self, order, invoice):
        """Reconcile the posted ``invoice`` of ``order`` with the payments of
        the order still waiting for an invoice (imported before it existed),
        oldest first, while it is open.

        :returns: the payments reconciled
        """
        payments = self.env["account.payment"].search(
            [
                ("integration_sale_order_id", "=", order.id),
                ("integration_to_match", "=", True),
                ("payment_type", "=", "inbound"),
                ("state", "in", ("in_process", "paid")),
                ("currency_id", "=", invoice.currency_id.id),
            ],
            order="id",
        )
        matched = self.env["account.payment"]
        for payment in payments:
            if invoice.payment_state not in ("not_paid", "partial"):
                break
            self._reconcile_with_invoice(payment, invoice)
            payment.integration_to_match = False
            matched |= payment
        return matched

    @api.model
    def _create_payment(self, values):
        """``account.payment.create(values)``, keeping an explicit
        ``outstanding_account_id`` (the payment method's is computed over it)."""
        values = dict(values)
        outstanding = values.pop("outstanding_account_id", False)
        payment = self.env["account.payment"].create(values)
        if outstanding:
            payment.outstanding_account_id = outstanding
        return payment

    # -- policies (connectors override them for their backend type) ----------------
    def _get_unmatched_policy(self, backend):
        """What becomes of a payment that matches nothing: ``wait`` (retry
        later, the default), ``suspense`` (posted to the suspense account) or
        ``draft`` (left draft); both of the latter list it in *Needs matching*.
        A payment naming an order always waits for it."""
        return "wait"

    def _get_invoice_policy(self, backend):
        """For a paid order without open invoice: ``invoice`` (create and post
        it, then reconcile) or ``leave`` (the default: the payment stays on the
        customer's account, listed in *Needs matching*)."""
        return "leave"

    def _get_match_rules(self, backend):
        """Names of the rules :meth:`_match_by_rules` tries, in order:
        ``reference_text`` (an open invoice's number in the description, same
        amount) and ``amount_email`` (the only open invoice of that amount for
        the payer's email). None by default."""
        return ()

    def _find_outstanding_account(self, backend, journal):
        """Account the payment's money goes to (empty: the journal's payment
        method decides). A provider without bank statements books its balance
        on the journal's own account."""
        return self.env["account.account"]

    def _find_suspense_account(self, backend, journal):
        """Counterpart of an unmatched payment under the ``suspense`` policy."""
        return (
            journal.suspense_account_id
            or journal.company_id.account_journal_suspense_account_id
        )

    def _names_order(self, match):
        return bool(
            match.get("order_external_id")
            or match.get("order_name")
            or match.get("sale_order_name")
        )

    # -- matching ------------------------------------------------------------------
    def _open_invoices_domain(self, backend, currency):
        return [
            ("move_type", "=", "out_invoice"),
            ("state", "=", "posted"),
            ("payment_state", "in", ("not_paid", "partial")),
            ("company_id", "=", backend.company_id.id),
            ("currency_id", "=", currency.id),
        ]

    def _match_by_rules(self, backend, document, amount, currency):
        """The open invoice the first matching rule finds, or an empty one."""
        for rule in self._get_match_rules(backend):
            invoice = getattr(self, f"_match_rule_{rule}")(
                backend, document, amount, currency
            )
            if len(invoice) == 1:
                return invoice
        return self.env["account.move"]

    def _match_rule_reference_text(self, backend, document, amount, currency):
        """An open invoice of that residual whose number or reference is a word
        of the payment's description."""
        text = document["match"].get("description") or ""
        words = {word.strip(".,;:()[]") for word in text.split()} - {""}
        if not words:
            return self.env["account.move"]
        invoices = self.env["account.move"].search(
            self._open_invoices_domain(backend, currency)
            + ["|", ("name", "in", list(words)), ("ref", "in", list(words))]
        )
        return invoices.filtered(
            lambda inv: currency.compare_amounts(inv.amount_residual, amount) == 0
        )

    def _match_rule_amount_email(self, backend, document, amount, currency):
        """The only open invoice of that residual for the payer's email."""
        email = document["match"].get("customer_email")
        if not email:
            return self.env["account.move"]
        invoices = self.env["account.move"].search(
            self._open_invoices_domain(backend, currency)
            + [("partner_id.commercial_partner_id.email", "=ilike", email)]
        )
        invoices = invoices.filtered(
            lambda inv: currency.compare_amounts(inv.amount_residual, amount) == 0
        )
        return invoices if len(invoices) == 1 else self.env["account.move"]

    def _prepare_unmatched_payment_values(self, backend, values, journal):
        """Values of a payment kept for matching by hand: no customer, and
        under the ``suspense`` policy the suspense account as counterpart."""
        values = dict(values, partner_id=False, integration_to_match=True)
        company = backend.company_id
        account = company.partner_id.with_company(
            company
        ).property_account_receivable_id
        if self._get_unmatched_policy(backend) == "suspense":
            account = self._find_suspense_account(backend, journal) or account
        values["destination_account_id"] = account.id
        return values

    def _invoice_order(self, backend, order):
        """Create and post the invoice of a paid order (``invoice`` policy);
        an empty recordset when the order has nothing to invoice."""
        if order.state not in ("sale", "done"):
            return self.env["account.move"]
        try:
            invoices = order._create_invoices()
        except UserError:
            # nothing invoiceable (delivered-quantity policy, nothing delivered)
            return self.env["account.move"]
        invoices.action_post()
        return invoices[:1]

    @api.model
    def _match_payment_by_hand(self, payment, invoice):
        """Book ``payment`` (kept for matching) on ``invoice``'s customer and
        reconcile them; a posted payment is reset to draft and posted again on
        the customer's receivable.

        :raises UserError: the invoice is not an open customer invoice of the
            payment's currency and company
        """
        payment.ensure_one()
        invoice.ensure_one()
        if (
            invoice.move_type != "out_invoice"
            or invoice.state != "posted"
            or invoice.payment_state not in ("not_paid", "partial")
            or invoice.currency_id != payment.currency_id
            or invoice.company_id != payment.company_id
        ):
            raise UserError(
                self.env._(
                    "%(invoice)s is not an open customer invoice in %(currency)s.",
                    invoice=invoice.display_name,
                    currency=payment.currency_id.name,
                )
            )
        receivable = invoice.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        )[:1].account_id
        if payment.state != "draft":
            payment.action_draft()
        # a new partner recomputes the payment method and its outstanding
        # account; the payment keeps the account it was booked on
        kept = [payment._fields[name] for name in KEPT_ON_MATCH]
        with self.env.protecting(kept, payment):
            payment.write(
                {
                    "partner_id": invoice.commercial_partner_id.id,
                    "destination_account_id": receivable.id,
                }
            )
        payment.action_post()
        self._reconcile_with_invoice(payment, invoice)
        payment.integration_to_match = False
        payment.message_post(
            body=self.env._("Matched by hand with %s.", invoice.display_name)
        )
        return payment

    # -- provider bookings -------------------------------------------------------
    @api.model
    def _book_entry(self, journal, ref, lines, currency=None, date=None):
        """Post a journal entry in ``journal`` of ``[(account, amount, partner,
        label)]`` lines, amounts in ``currency`` (default: the company's),
        positive for a debit; they must balance.

        :returns: the posted ``account.move``
        """
        company = journal.company_id
        currency = currency or company.currency_id
        date = date or fields.Date.context_today(self)
        line_values = []
        for account, amount, partner, label in lines:
            amount = float(amount)
            balance = currency._convert(amount, company.currency_id, company, date)
            line_values.append(
                Command.create(
                    {
                        "account_id": account.id,
                        "partner_id": partner.id if partner else False,
                        "name": label or ref,
                        "currency_id": currency.id,
                        "amount_currency": amount,
                        "balance": balance,
                    }
                )
            )
        move = self.env["account.move"].create(
            {
                "move_type": "entry",
                "journal_id": journal.id,
                "ref": ref,
                "date": date,
                "line_ids": line_values,
            }
        )
        move.action_post()
        return move

    @api.model
    def _book_fee(self, journal, fee_account, amount, ref, currency=None, date=None):
        """A provider's fee taken from its balance: ``fee_account`` debited,
        ``journal``'s own account credited (a negative ``amount``: a fee given
        back).

        :returns: the posted ``account.move``
        """
        balance = journal.default_account_id
        return self._book_entry(
            journal,
            ref,
            [(fee_account, amount, None, ref), (balance, -amount, None, ref)],
            currency=currency,
            date=date,
        )

    @api.model
    def _book_internal_transfer(
        self, from_journal, to_journal, amount, ref, date=None, currency=None
    ):
        """Money moved from ``from_journal`` to ``to_journal`` (a payout): an
        outbound and an inbound payment through the company's liquidity
        transfer account, reconciled together and paired, as Odoo's internal
        transfers are. The inbound one waits in the bank journal's
        outstanding receipts for its bank statement line.

        :returns: ``(outbound payment, inbound payment)``
        """
        transfer = from_journal.company_id.transfer_account_id
        if not transfer:
            raise UserError(
                self.env._("The company has no liquidity transfer account.")
            )
        common = {
            "amount": amount,
            "currency_id": (
                currency
                or from_journal.currency_id
                or from_journal.company_id.currency_id
            ).id,
            "memo": ref,
            "partner_id": from_journal.company_id.partner_id.id,
            "destination_account_id": transfer.id,
            "date": date or fields.Date.context_today(self),
        }
        outbound = self._create_payment(
            dict(
                common,
                payment_type="outbound",
                partner_type="supplier",
                journal_id=from_journal.id,
                outstanding_account_id=from_journal.default_account_id.id,
            )
        )
        inbound = self._create_payment(
            dict(
                common,
                payment_type="inbound",
                partner_type="customer",
                journal_id=to_journal.id,
                paired_internal_transfer_payment_id=outbound.id,
            )
        )
        outbound.paired_internal_transfer_payment_id = inbound
        (outbound + inbound).action_post()
        (outbound.move_id.line_ids + inbound.move_id.line_ids).filtered(
            lambda line: line.account_id == transfer and not line.reconciled
        ).reconcile()
        return outbound, inbound
