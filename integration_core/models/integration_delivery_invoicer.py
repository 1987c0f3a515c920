from odoo import Command, api, models
from odoo.tools import float_compare

from .integration_importer import UNTRACKED


class IntegrationDeliveryInvoicer(models.AbstractModel):
    """Invoice on delivery: the ``shipment.delivered`` subscriber that invoices
    the delivered quantities of an order once the carrier confirms the delivery,
    for orders of channels whose backend says *Invoice on delivery* (Sales tab).
    Like the importers, it writes without field tracking: the invoice's
    chatter gets one note saying which delivery it invoices.

    Once per delivery order: the invoice is kept on the picking, which is
    locked first, so a duplicate, replayed or concurrent delivery finds it and
    creates nothing.
    """

    _name = "integration.delivery.invoicer"
    _description = "Integration Invoice on Delivery"

    @api.model
    def _on_shipment_delivered(self, delivery):
        """Create and post the invoice of the delivered picking's order.

        :returns: the ``account.move``, or None (not a channel order with that
            policy, or nothing left to invoice)
        """
        picking = (
            self.env["stock.picking"]
            .sudo()
            .browse(delivery.event_id.sudo().payload.get("id"))
            .exists()
        )
        order = picking.sale_id
        if not order:
            return None
        backend = self._get_channel_backend(order)
        if not backend or backend.invoice_policy != "delivery":
            return None
        self.env.cr.execute(
            "SELECT id FROM stock_picking WHERE id = %s FOR UPDATE", (picking.id,)
        )
        picking.invalidate_recordset(["integration_invoice_id"])
        if picking.integration_invoice_id:
            return picking.integration_invoice_id
        order = order.with_company(order.company_id).with_context(**UNTRACKED)
        invoice = self.with_env(order.env)._create_delivery_invoice(order, picking)
        if invoice:
            picking.integration_invoice_id = invoice
        return invoice

    @api.model
    def _get_channel_backend(self, order):
        """The backend the order was imported through (its binding's), or None."""
        binding = (
            self.env["integration.binding"]
            .sudo()
            .search(
                [("res_model", "=", "sale.order"), ("res_id", "=", order.id)],
                limit=1,
            )
        )
        return binding.backend_id or None

    @api.model
    def _get_quantities_to_invoice(self, order):
        """``[(sale line, quantity)]``: goods delivered and not invoiced yet, and
        the other lines (shipping, services) by their own invoicing policy."""
        quantities = []
        for line in order.order_line:
            if line.display_type or line.is_downpayment:
                continue
            if line.qty_delivered_method == "stock_move":
                quantity = line.qty_delivered - line.qty_invoiced
            else:
                quantity = line.qty_to_invoice
            rounding = line.product_uom.rounding
            if float_compare(quantity, 0.0, precision_rounding=rounding) > 0:
                quantities.append((line, quantity))
        return quantities

    @api.model
    def _create_delivery_invoice(self, order, picking):
        """The posted customer invoice of the delivered quantities, or None."""
        quantities = self._get_quantities_to_invoice(order)
        if not quantities:
            return None
        values = order._prepare_invoice()
        values["invoice_line_ids"] = [
            Command.create(line._prepare_invoice_line(quantity=qty, sequence=seq))
            for seq, (line, qty) in enumerate(quantities, start=1)
        ]
        invoice = (
            self.env["account.move"]
            .sudo()
            .with_company(order.company_id)
            .with_context(default_move_type="out_invoice")
            .create(values)
        )
        invoice.action_post()
        # a payment received before the invoice existed pays it now
        self.env["integration.payment.importer"]._match_order_payments(order, invoice)
        invoice.message_post(
            body=self.env._(
                "Invoiced on delivery of %(picking)s, confirmed by the carrier.",
                picking=picking.name,
            )
        )
        return invoice
