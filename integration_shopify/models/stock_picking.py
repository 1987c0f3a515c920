from odoo import fields, models


class StockPicking(models.Model):
    _inherit = "stock.picking"

    shopify_tracking_number = fields.Char(
        string="Tracking Number (Shopify)",
        copy=False,
        help="Sent with the Shopify fulfillment when no carrier tracking reference is set.",
    )
    shopify_tracking_company = fields.Char(
        string="Tracking Company (Shopify)", copy=False
    )
    shopify_fulfillment_id = fields.Char(
        string="Shopify Fulfillment ID", copy=False, readonly=True
    )

    def _shopify_get_tracking(self):
        """``(number, company)`` for the fulfillment; carrier modules' fields first."""
        self.ensure_one()
        number = (
            getattr(self, "carrier_tracking_ref", False) or self.shopify_tracking_number
        )
        carrier = getattr(self, "carrier_id", False)
        company = self.shopify_tracking_company or (carrier and carrier.name)
        return number or None, company or None

    def _shopify_order_binding(self):
        """The binding of the Shopify order this delivery ships, if any."""
        self.ensure_one()
        if not self.sale_id:
            return self.env["integration.binding"]
        return self.env["integration.binding"].search(
            [
                ("res_model", "=", "sale.order"),
                ("res_id", "=", self.sale_id.id),
                ("backend_id.backend_type", "=", "shopify"),
            ],
            limit=1,
        )

    def _shopify_enqueue_fulfillment(self, backend):
        """The fulfillment of this delivery of a ``backend`` order (sent after
        commit), or None when it ships nothing of the order's lines."""
        self.ensure_one()
        binding = self._shopify_order_binding()
        if self.return_id or binding.backend_id != backend:
            return None
        lines = {}
        for move in self.move_ids.filtered(
            lambda m: m.state == "done" and m.sale_line_id
        ):
            line_id = move.sale_line_id.integration_line_ref
            if line_id and not line_id.startswith("shipping:"):
                lines[line_id] = lines.get(line_id, 0) + move.quantity
        if not lines:
            return None
        number, company = self._shopify_get_tracking()
        return backend._outbox_enqueue(
            "fulfillment/create",
            {
                "order_id": binding.external_id,
                "picking_id": self.id,
                "tracking_number": number,
                "tracking_company": company,
                "lines": [
                    {"line_item_id": line_id, "quantity": int(qty)}
                    for line_id, qty in sorted(lines.items())
                ],
            },
            idempotency_key=f"fulfillment:{self.id}",
            record=self,
            external_ref=binding.external_id,
        )
