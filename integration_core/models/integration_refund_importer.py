from odoo import Command, api, models

from .. import commerce
from ..exceptions import DependencyNotReady, PermanentError

PAYMENT_MODEL = "account.payment"


class IntegrationRefundImporter(models.AbstractModel):
    """Canonical refunds to a credit note for the refunded lines and shipping,
    return pickings for the restocked lines and a review activity on the order,
    once per refund."""

    _name = "integration.refund.importer"
    _inherit = "integration.importer"
    _description = "Integration Refund Importer"

    @api.model
    def _import_refund(self, backend, document):
        """Apply a canonical ``refund`` once.

        :returns: the credit note, or the order when nothing was credited
        :raises DependencyNotReady: its order is not imported yet
        :raises PermanentError: a refunded line the order does not have
        """
        order = self.env["integration.order.importer"]._get_bound_order(
            backend, document["order_external_id"]
        )
        data = commerce.refund_data(document, digits=order.currency_id.decimal_places)
        key = f"refund:{data['id']}"
        done = self.env["integration.binding"].search(
            [("backend_id", "=", backend.id), ("external_id", "=", key)], limit=1
        )
        if done:
            return done._get_record() or order
        lines_by_ref = {
            line.integration_line_ref: line
            for line in order.order_line
            if line.integration_line_ref
        }
        credit_lines = []
        restock = []
        for item in data["lines"]:
            sale_line = lines_by_ref.get(item["line_item_id"])
            if not sale_line:
                raise PermanentError(
                    f"refund {data['id']}: unknown line item {item['line_item_id']}"
                )
            if item["quantity"] > 0:
                credit_lines.append(
                    self._prepare_refund_line(sale_line, item["quantity"])
                )
            if item["restock"]:
                restock.append((sale_line, item["quantity"]))
        if data["shipping_amount"]:
            credit_lines.append(
                self._prepare_shipping_refund_line(backend, order, data)
            )
        credit_note = self.env["account.move"]
        if credit_lines:
            credit_note = self._create_credit_note(
                backend, order, data, self._refund_reference(document), credit_lines
            )
        details = [credit_note.display_name] if credit_note else []
        unreturned = self._create_returns(restock) if restock else []
        details += [
            self.env._(
                "%(qty)s x %(product)s could not be returned: nothing delivered",
                qty=qty,
                product=line.product_id.display_name,
            )
            for line, qty in unreturned
        ]
        self.env["integration.binding"]._bind(
            backend, credit_note or order, key, external_name=key
        )
        if credit_note:
            # a credit note whose total is not the refund's stays a draft
            self._check_channel_total(
                credit_note,
                data["amount"],
                self.env._("Refund %s: total differs from the channel", data["id"]),
                review_on=order,
            )
            if backend.post_refunds:
                credit_note.action_post()
                self._register_refund_payments(backend, credit_note, data)
        self._publish(
            "refund.created",
            backend,
            credit_note or order,
            external_id=data["id"],
            sale_order_id=order.id,
        )
        self._schedule_review(
            order,
            self.env._(
                "%(refund)s on %(order)s",
                refund=self._refund_reference(document),
                order=order.client_order_ref or order.name,
            ),
            details,
        )
        return credit_note or order

    def _refund_reference(self, document):
        """Reference of the credit note: the channel and the refund's id."""
        channel = (document.get("channel") or "").strip()
        prefix = f"{channel.capitalize()} refund" if channel else "Refund"
        return f"{prefix} {document['external_id']}"

    def _prepare_refund_line(self, sale_line, quantity):
        return {
            "product_id": sale_line.product_id.id,
            "name": sale_line.name,
            "quantity": quantity,
            "price_unit": sale_line.price_unit,
            "discount": sale_line.discount,
            "tax_ids": [Command.set(sale_line.tax_id.ids)],
            "sale_line_ids": [Command.set(sale_line.ids)],
        }

    def _prepare_shipping_refund_line(self, backend, order, data):
        shipping_line = order.order_line.filtered(
            lambda line: (line.integration_line_ref or "").startswith("shipping:")
        )[:1]
        values = {
            "product_id": backend._get_shipping_product().id,
            "name": self.env._("Shipping refund"),
            "quantity": 1,
            "price_unit": data["shipping_amount"],
            "tax_ids": [Command.set(shipping_line.tax_id.ids)],
        }
        if shipping_line:
            values["sale_line_ids"] = [Command.set(shipping_line.ids)]
        return values

    def _create_credit_note(self, backend, order, data, ref, lines):
        move = (
            self.env["account.move"]
            .with_context(default_move_type="out_refund")
            .create(
                {
                    "move_type": "out_refund",
                    "partner_id": order.partner_invoice_id.id,
                    "currency_id": order.currency_id.id,
                    "invoice_origin": order.name,
                    "ref": ref,
                    "invoice_line_ids": [Command.create(line) for line in lines],
                }
            )
        )
        return move

    def _register_refund_payments(self, backend, move, data):
        """Pay the posted credit note through the journal of each refund gateway."""
        for transaction in data["transactions"]:
            if transaction["kind"] != "refund" or transaction["status"] not in (
                "success",
                "",
            ):
                continue
            mapping_row = backend.payment_map_ids.filtered(
                lambda row, gw=transaction["gateway"]: row.gateway == gw
            )[:1]
            if not mapping_row or move.payment_state in ("paid", "in_payment"):
                continue
            self.env["account.payment.register"].with_context(
                active_model="account.move", active_ids=move.ids
            ).create(
                {
                    "journal_id": mapping_row.journal_id.id,
                    "amount": min(transaction["amount"], move.amount_residual),
                }
            )._create_payments()

    def _create_returns(self, restock):
        """Return pickings for ``[(sale_line, qty)]``; returns what could not be."""
        unreturned = []
        by_picking = {}
        for sale_line, quantity in restock:
            remaining = quantity
            moves = sale_line.move_ids.filtered(
                lambda m: m.state == "done" and m.picking_code == "outgoing"
            )
            for move in moves:
                qty = min(remaining, move.quantity)
                if qty <= 0:
                    continue
                by_picking.setdefault(move.picking_id, []).append((move, qty))
                remaining -= qty
            if remaining > 0:
                unreturned.append((sale_line, remaining))
        for picking, moves in by_picking.items():
            wizard = (
                self.env["stock.return.picking"]
                .with_context(active_id=picking.id, active_model="stock.picking")
                .create({"picking_id": picking.id})
            )
            quantities = {move.id: qty for move, qty in moves}
            for line in wizard.product_return_moves:
                line.quantity = quantities.get(line.move_id.id, 0.0)
            wizard.action_create_returns()
        return unreturned

    # -- money refunds of a provider's payment ----------------------------------------
    def _get_credit_note_policy(self, backend):
        """For a provider's refund of a paid invoice without a credit note for
        it: ``create`` (a credit note for the refunded amount, posted and
        reconciled) or ``leave`` (the default: the refund payment is listed in
        *Needs matching*)."""
        return "leave"

    @api.model
    def _import_payment_refund(self, backend, data):
        """Book a provider's refund of an imported payment once: an outbound
        payment in the payment's journal, reconciled with a credit note of the
        paid invoice (an open one, or one created by policy).

        :param data: ``external_id`` (the refund's id), ``payment_external_id``
            (the refunded payment's ``external_id``), ``amount`` (decimal
            string), ``currency``, ``reason``, ``channel``
        :returns: the outbound ``account.payment``
        :raises DependencyNotReady: the refunded payment is not imported yet
        :raises PermanentError: a non-positive amount, another currency than
            the payment's, or more than is left to refund
        """
        Binding = self.env["integration.binding"]
        existing = Binding._find_record(backend, PAYMENT_MODEL, data["external_id"])
        if existing:
            return existing
        payment = Binding._find_record(
            backend, PAYMENT_MODEL, data["payment_external_id"]
        )
        if not payment:
            raise DependencyNotReady(
                f"refund {data['external_id']}: payment "
                f"{data['payment_external_id']} is not imported yet"
            )
        # the refund joins the flow of the payment it pays back
        self = self._adopt_correlation(payment)  # pylint: disable=self-cls-assignment
        currency = payment.currency_id
        if data.get("currency") and data["currency"] != currency.name:
            raise PermanentError(
                f"refund {data['external_id']} in {data['currency']} of a payment "
                f"in {currency.name}"
            )
        amount = commerce.money(data["amount"], currency.decimal_places)
        if currency.compare_amounts(amount, 0) <= 0:
            raise PermanentError(f"refund {data['external_id']}: amount {amount}")
        if self._awaits_invoice(payment):
            raise DependencyNotReady(
                f"refund {data['external_id']}: the invoice of "
                f"{payment.integration_sale_order_id.name} is not posted yet"
            )
        invoice = payment.reconciled_invoice_ids[:1]
        credit_note = self._find_payment_credit_note(backend, invoice, amount)
        if (
            not credit_note
            and invoice
            and self._get_credit_note_policy(backend) == "create"
        ):
            credit_note = self._create_payment_credit_note(
                backend, invoice, amount, self._refund_reference(data), data
            )
        refund = self.env["integration.payment.importer"]._create_payment(
            self._prepare_payment_refund_values(backend, payment, amount, data)
        )
        refund.integration_to_match = not credit_note
        refund.action_post()
        if credit_note:
            self.env["integration.payment.importer"]._reconcile_with_invoice(
                refund, credit_note
            )
        Binding._bind(
            backend,
            refund,
            data["external_id"],
            external_name=data["external_id"],
            external_status="refunded",
        )
        self._publish(
            "refund.created",
            backend,
            refund,
            external_id=data["external_id"],
            payment_id=payment.id,
            credit_note_id=credit_note.id or False,
            invoice_id=invoice.id or False,
        )
        return refund

    def _awaits_invoice(self, payment):
        """True when ``payment`` pays a confirmed imported order whose invoice
        is still to come (invoiced on delivery): its refund waits to be booked
        against that invoice rather than left to match by hand."""
        order = payment.integration_sale_order_id
        return bool(
            order
            and order.state == "sale"
            and not payment.reconciled_invoice_ids
            and not order.invoice_ids.filtered(
                lambda move: move.move_type == "out_invoice" and move.state == "posted"
            )
        )

    def _find_payment_credit_note(self, backend, invoice, amount):
        """An open posted credit note of ``invoice`` for ``amount``, or empty."""
        if not invoice:
            return self.env["account.move"]
        notes = self.env["account.move"].search(
            [
                ("move_type", "=", "out_refund"),
                ("state", "=", "posted"),
                ("reversed_entry_id", "=", invoice.id),
                ("payment_state", "in", ("not_paid", "partial")),
            ]
        )
        return notes.filtered(
            lambda note: (
                note.currency_id.compare_amounts(note.amount_residual, amount) == 0
            )
        )[:1]

    def _create_payment_credit_note(self, backend, invoice, amount, ref, data):
        """A posted credit note of ``invoice`` for ``amount``: the invoice
        reversed for a full refund, else one line without taxes on the
        invoice's first income account (a tax split needs a person)."""
        if invoice.currency_id.compare_amounts(amount, invoice.amount_total) == 0:
            note = invoice._reverse_moves(
                [{"ref": ref, "invoice_origin": invoice.name}]
            )
        else:
            product_line = invoice.invoice_line_ids.filtered(
                lambda line: line.display_type == "product"
            )[:1]
            note = (
                self.env["account.move"]
                .with_context(default_move_type="out_refund")
                .create(
                    {
                        "move_type": "out_refund",
                        "partner_id": invoice.partner_id.id,
                        "currency_id": invoice.currency_id.id,
                        "reversed_entry_id": invoice.id,
                        "invoice_origin": invoice.name,
                        "ref": ref,
                        "invoice_line_ids": [
                            Command.create(
                                {
                                    "name": ref,
                                    "quantity": 1,
                                    "price_unit": amount,
                                    "account_id": product_line.account_id.id,
                                    "tax_ids": [Command.clear()],
                                }
                            )
                        ],
                    }
                )
            )
        note.action_post()
        return note

    def _prepare_payment_refund_values(self, backend, payment, amount, data):
        return {
            "payment_type": "outbound",
            "partner_type": "customer",
            "partner_id": payment.partner_id.id,
            "amount": amount,
            "currency_id": payment.currency_id.id,
            "journal_id": payment.journal_id.id,
            "outstanding_account_id": payment.outstanding_account_id.id,
            "destination_account_id": payment.destination_account_id.id,
            "memo": self._refund_reference(data),
            "integration_sale_order_id": payment.integration_sale_order_id.id,
        }

    @api.model
    def _cancel_payment_refund(self, backend, external_id, reason):
        """A provider's refund that failed after it was booked: its payment is
        unreconciled and cancelled. :returns: the payment, or an empty one"""
        refund = self.env["integration.binding"]._find_record(
            backend, PAYMENT_MODEL, external_id
        )
        if refund and refund.state != "canceled":
            refund.move_id.line_ids.remove_move_reconcile()
            refund.action_draft()
            refund.action_cancel()
            refund.message_post(body=reason)
        return refund
