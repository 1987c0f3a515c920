from odoo import Command, api, models

from .. import commerce
from ..exceptions import PermanentError


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
