from odoo import api, models

from .. import commerce
from ..exceptions import DependencyNotReady, PermanentError

PAYMENT_MODEL = "account.payment"


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
        order, invoice = self._find_payment_targets(backend, document["match"])
        target = invoice or order
        if target.currency_id != currency:
            raise PermanentError(
                f"payment {document['external_id']} in {currency.name} for "
                f"{target.display_name} in {target.currency_id.name}"
            )
        journal = self._find_journal(backend, document.get("gateway"))
        payment = self.env["account.payment"].create(
            self._prepare_payment_values(document, amount, currency, journal, target)
        )
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
            or target.name,
        }

    def _reconcile_with_invoice(self, payment, invoice):
        lines = (payment.move_id.line_ids + invoice.line_ids).filtered(
            lambda line: (
                line.account_id.account_type == "asset_receivable"
                and not line.reconciled
            )
        )
        lines.reconcile()
